"""Engine records -> Pacifica's live JSON shapes (spec §2.10, §2.12, §4). Integers become decimal
strings here, once, with the record's market spec."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tidepool.domain.markets import MarketSpec, format_decimal
from tidepool.engine.views import AccountSummary, HistoryEntry, OrderRecord, PositionRecord


def open_order(spec: MarketSpec, o: OrderRecord) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side,
        "price": spec.format_price(o.price_ticks),
        "initial_amount": spec.format_amount(o.initial_lots),
        "filled_amount": spec.format_amount(o.filled_lots),
        "cancelled_amount": spec.format_amount(o.cancelled_lots),
        "stop_price": None,
        "order_type": o.order_type,
        "stop_parent_order_id": None,
        "trigger_price_type": None,
        "reduce_only": o.reduce_only,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
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
        "stop_price": None,
        "stop_parent_order_id": None,
        "reduce_only": h.reduce_only,
        "created_at": h.created_at,
    }


def position(spec: MarketSpec, p: PositionRecord) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "side": p.side,
        "amount": spec.format_amount(p.size_lots),
        "entry_price": money(p.entry_price),
        "margin": money(p.margin),
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
        "total_margin_used": money(s.margin_used + s.order_margin),
        # Positions run at the market's max leverage, whose maintenance margin is half the
        # initial margin; reported for clients, though liquidations are not modelled.
        "cross_mmr": money(s.margin_used / 2),
        "positions_count": s.positions_count,
        "orders_count": s.orders_count,
        "stop_orders_count": 0,
        "updated_at": now_ms,
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
