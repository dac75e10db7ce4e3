"""Engine records -> Pacifica's live JSON shapes (spec §2.10, §2.12, §4). Integers become decimal
strings here, once, with the record's market spec."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from tidepool.domain.markets import MarketSpec, format_decimal
from tidepool.engine.views import (
    AccountSummary,
    FillRecord,
    HistoryEntry,
    MarginSettingRecord,
    OrderRecord,
    PositionRecord,
)


class OpenOrder(msgspec.Struct):
    """One item of GET /orders (§2.10), keys in the live order. A struct, not a dict: an account
    may hold thousands of open orders, and msgspec encodes a list of these in one call."""

    order_id: int
    client_order_id: str | None
    symbol: str
    side: str
    price: str
    initial_amount: str
    filled_amount: str
    cancelled_amount: str
    stop_price: str | None
    order_type: str
    stop_parent_order_id: int | None
    trigger_price_type: str | None
    reduce_only: bool
    created_at: int
    updated_at: int


class _Texts(dict[int, str]):
    """Integer ticks or lots -> their text, each value formatted on first use only."""

    def __init__(self, format_value: Callable[[int], str]) -> None:
        super().__init__()
        self._format = format_value

    def __missing__(self, value: int) -> str:
        text = self[value] = self._format(value)
        return text


def open_orders(markets: dict[str, MarketSpec], records: list[OrderRecord]) -> list[OpenOrder]:
    """Each number is formatted once per read: an account's orders share few prices and sizes
    (an unfilled order shows "0" twice), and formatting a Decimal costs more than the rest."""
    texts: dict[str, tuple[_Texts, _Texts]] = {}
    out: list[OpenOrder] = []
    for o in records:
        pair = texts.get(o.symbol)
        if pair is None:
            spec = markets[o.symbol]
            pair = texts[o.symbol] = (_Texts(spec.format_price), _Texts(spec.format_amount))
        prices, amounts = pair
        out.append(
            OpenOrder(
                o.order_id,
                o.client_order_id,
                o.symbol,
                o.side,
                prices[o.price_ticks],
                amounts[o.initial_lots],
                amounts[o.filled_lots],
                amounts[o.cancelled_lots],
                None if o.stop_ticks is None else prices[o.stop_ticks],
                o.order_type,
                o.parent_id,
                o.trigger,
                o.reduce_only,
                o.created_at,
                o.updated_at,
            )
        )
    return out


# Engine reasons Pacifica's wire has no value for are shown as "cancel" (docs/wire-decisions.md).
_WIRE_REASONS = {
    "ioc_remainder": "cancel",
    "reduce_only": "cancel",
    "edit": "cancel",
    "parent_cancelled": "cancel",
    "position_closed": "cancel",
    "replaced": "cancel",
    "no_position": "cancel",
    "trigger_rejected": "rejected",
}


def wire_reason(reason: str | None) -> str | None:
    return None if reason is None else _WIRE_REASONS.get(reason, reason)


def order_history_item(spec: MarketSpec, o: OrderRecord) -> dict[str, Any]:
    """GET /orders/history (§2.11). `price` and `initial_amount` repeat `initial_price` and
    `amount` under the names of the other order reads, which ccxt's parser looks for."""
    price = spec.format_price(o.price_ticks)
    amount = spec.format_amount(o.initial_lots)
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side,
        "initial_price": price,
        "average_filled_price": money(o.avg_fill_price),
        "amount": amount,
        "filled_amount": spec.format_amount(o.filled_lots),
        "order_status": o.status,
        "order_type": o.order_type,
        "stop_price": stop_price(spec, o.stop_ticks),
        "stop_parent_order_id": o.parent_id,
        "reduce_only": o.reduce_only,
        "reason": wire_reason(o.reason),
        "created_at": o.created_at,
        "updated_at": o.updated_at,
        "price": price,
        "initial_amount": amount,
        "cancelled_amount": spec.format_amount(o.cancelled_lots),
    }


def stop_price(spec: MarketSpec, stop_ticks: int | None) -> str | None:
    return None if stop_ticks is None else spec.format_price(stop_ticks)


def account_fill(spec: MarketSpec, f: FillRecord) -> dict[str, Any]:
    """GET /trades/history (§4.9)."""
    return {
        "history_id": f.history_id,
        "order_id": f.order_id,
        "client_order_id": f.client_order_id,
        "symbol": f.symbol,
        "amount": spec.format_amount(f.size_lots),
        "price": spec.format_price(f.price_ticks),
        "entry_price": money(f.entry_price(spec)),
        "fee": money(f.fee),
        "pnl": money(f.pnl),
        "event_type": "fulfill_maker" if f.maker else "fulfill_taker",
        "side": f.side,
        "created_at": f.created_at,
        "cause": "normal",
    }


def public_trade(spec: MarketSpec, f: FillRecord) -> dict[str, Any]:
    """GET /trades (§4.4): the taker's side of a fill."""
    return {
        "event_type": "fulfill_taker",
        "price": spec.format_price(f.price_ticks),
        "amount": spec.format_amount(f.size_lots),
        "side": f.side,
        "cause": "normal",
        "created_at": f.created_at,
    }


def margin_setting(m: MarginSettingRecord) -> dict[str, Any]:
    return {
        "symbol": m.symbol,
        "isolated": m.isolated,
        "leverage": m.leverage,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    }


def history_entry(spec: MarketSpec, h: HistoryEntry) -> dict[str, Any]:
    return {
        "history_id": h.history_id,
        "order_id": h.order_id,
        "client_order_id": h.client_order_id,
        "symbol": h.symbol,
        "side": h.side,
        "price": spec.format_price(h.price_ticks),
        "initial_amount": spec.format_amount(h.initial_lots),
        "filled_amount": spec.format_amount(h.filled_lots),
        "cancelled_amount": spec.format_amount(h.cancelled_lots),
        "event_type": h.event_type,
        "order_type": h.order_type,
        "order_status": h.order_status,
        "stop_price": stop_price(spec, h.stop_ticks),
        "stop_parent_order_id": h.parent_id,
        "reduce_only": h.reduce_only,
        "created_at": h.created_at,
    }


def position(spec: MarketSpec, p: PositionRecord) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "side": p.side,
        "amount": spec.format_amount(p.size_lots),
        "entry_price": money(p.entry_price),
        # Live Pacifica shows a position's margin only when it is isolated; cross is "0".
        "margin": money(p.margin) if p.isolated else "0",
        "funding": "0",
        "isolated": p.isolated,
        "liquidation_price": None,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }


def account(
    s: AccountSummary, maker_fee: Decimal, taker_fee: Decimal, now_ms: int
) -> dict[str, Any]:
    return {
        "balance": money(s.balance),
        "fee_level": 0,
        "maker_fee": format_decimal(maker_fee),
        "taker_fee": format_decimal(taker_fee),
        "account_equity": money(s.equity),
        "available_to_spend": money(s.available_to_spend),
        "available_to_withdraw": money(s.available_to_spend),
        "pending_balance": "0",
        "pending_interest": "0",  # interest on spot loans: spot is not modelled (spec A7)
        "spot_collateral": "0",
        # The equity backing cross-margin positions and orders: balance + unrealised PnL +
        # spot collateral. Isolated positions draw on the same pool here (there is no separate
        # isolated pool, docs/wire-decisions.md), so it is the whole account equity.
        "cross_account_equity": money(s.equity),
        "spot_market_value": "0",
        "total_margin_used": money(s.margin_used + s.order_margin),
        # Positions run at the market's max leverage, whose maintenance margin is half the
        # initial margin; reported for clients, though liquidations are not modelled.
        "cross_mmr": money(s.margin_used / 2),
        "positions_count": s.positions_count,
        "orders_count": s.orders_count,
        "stop_orders_count": s.stop_orders_count,
        "updated_at": now_ms,
        "spot_balances": [],
    }


def money(value: Decimal) -> str:
    return format_decimal(value)


def depth_levels(
    spec: MarketSpec,
    levels: list[tuple[int, int, int]],
    agg_level: int,
    is_bid: bool,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Group raw levels into buckets of `agg_level` ticks (bids round down, asks round up)."""
    buckets: dict[int, list[int]] = {}
    for price_ticks, size_lots, count in levels:
        key = (price_ticks // agg_level if is_bid else -(-price_ticks // agg_level)) * agg_level
        bucket = buckets.setdefault(key, [0, 0])
        bucket[0] += size_lots
        bucket[1] += count
    out = [
        {"p": spec.format_price(p), "a": spec.format_amount(a), "n": n}
        for p, (a, n) in buckets.items()
    ]
    return out[:limit]
