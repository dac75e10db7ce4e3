"""Test kit for engine scenarios: a driver that stamps seq/ts, and ladder/fill renderers so a
scenario reads as "book before, command, book and events after"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from tidepool.domain.markets import MarketSpec
from tidepool.engine.commands import (
    BindAgent,
    CancelAllOrders,
    CancelOrder,
    CancelStopOrder,
    Command,
    CreateMarketOrder,
    CreateOrder,
    CreateStopOrder,
    EditOrder,
    Faucet,
    RevokeAgent,
    RevokeAllAgents,
    SetMarkPrice,
    SetPositionTpsl,
    StopLeg,
    UpdateLeverage,
    UpdateMarginMode,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.events import Event, OrderCancelled, OrderFilled, Outcome


def market(symbol: str = "X", **kw: Any) -> MarketSpec:
    """Whole-number grid: 1 tick = $1, 1 lot = 1 unit, min notional $10, 10x leverage."""
    base: dict[str, Any] = {
        "symbol": symbol,
        "tick_size": Decimal("1"),
        "lot_size": Decimal("1"),
        "min_order_size": Decimal("10"),
        "max_order_size": Decimal("100000"),
        "max_leverage": 10,
        "initial_mark_price": Decimal("100"),
    }
    base.update(kw)
    return MarketSpec(**base)


class Driver:
    def __init__(
        self,
        markets: tuple[MarketSpec, ...] = (market("X"), market("Y")),
        config: EngineConfig | None = None,
    ) -> None:
        # Scenarios use whole-number prices far from the mark to isolate one rule each: no
        # price band unless a test configures one (test_validation covers error 30).
        self.engine = Engine(markets, config or EngineConfig(price_band=None))
        self.seq = 0

    def apply(self, cmd_type: type[Command], **fields: Any) -> Outcome:
        self.seq += 1
        cmd = cmd_type(seq=self.seq, ts_ms=1_000 * self.seq, **fields)
        outcome = self.engine.apply(cmd)
        self.engine.check_invariants()
        return outcome

    def fund(self, account: str, amount: str | int = 100_000) -> Outcome:
        return self.apply(Faucet, account=account, amount=Decimal(amount))

    def limit(
        self,
        account: str,
        side: str,
        price: int,
        size: int,
        tif: str = "GTC",
        *,
        symbol: str = "X",
        reduce_only: bool = False,
        cloid: str | None = None,
        tp: StopLeg | None = None,
        sl: StopLeg | None = None,
    ) -> Outcome:
        return self.apply(
            CreateOrder,
            account=account,
            symbol=symbol,
            side=side,
            price_ticks=price,
            size_lots=size,
            tif=tif,
            reduce_only=reduce_only,
            client_order_id=cloid,
            take_profit=tp,
            stop_loss=sl,
        )

    def market(
        self,
        account: str,
        side: str,
        size: int,
        slippage: str = "5",
        *,
        symbol: str = "X",
        reduce_only: bool = False,
        cloid: str | None = None,
    ) -> Outcome:
        return self.apply(
            CreateMarketOrder,
            account=account,
            symbol=symbol,
            side=side,
            size_lots=size,
            slippage_percent=Decimal(slippage),
            reduce_only=reduce_only,
            client_order_id=cloid,
        )

    def stop(
        self,
        account: str,
        side: str,
        stop: int,
        limit: int | None = None,
        size: int | None = None,
        *,
        reduce_only: bool = False,
        trigger: str = "mark_price",
        cloid: str | None = None,
        symbol: str = "X",
    ) -> Outcome:
        return self.apply(
            CreateStopOrder,
            account=account,
            symbol=symbol,
            side=side,
            reduce_only=reduce_only,
            stop=leg(stop, limit, size, trigger=trigger, cloid=cloid),
        )

    def tpsl(
        self,
        account: str,
        side: str,
        tp: StopLeg | None = None,
        sl: StopLeg | None = None,
        symbol: str = "X",
    ) -> Outcome:
        return self.apply(
            SetPositionTpsl,
            account=account,
            symbol=symbol,
            side=side,
            take_profit=tp,
            stop_loss=sl,
        )

    def cancel_stop(
        self,
        account: str,
        *,
        order_id: int | None = None,
        cloid: str | None = None,
        symbol: str = "X",
    ) -> Outcome:
        return self.apply(
            CancelStopOrder,
            account=account,
            symbol=symbol,
            order_id=order_id,
            client_order_id=cloid,
        )

    def apply_market_with_legs(
        self, account: str, side: str, size: int, *, tp: StopLeg | None, sl: StopLeg | None
    ) -> Outcome:
        return self.apply(
            CreateMarketOrder,
            account=account,
            symbol="X",
            side=side,
            size_lots=size,
            slippage_percent=Decimal(5),
            reduce_only=False,
            take_profit=tp,
            stop_loss=sl,
        )

    def cancel(
        self,
        account: str,
        *,
        order_id: int | None = None,
        cloid: str | None = None,
        symbol: str = "X",
    ) -> Outcome:
        return self.apply(
            CancelOrder, account=account, symbol=symbol, order_id=order_id, client_order_id=cloid
        )

    def edit(
        self,
        account: str,
        price: int,
        size: int | None = None,
        *,
        order_id: int | None = None,
        cloid: str | None = None,
        symbol: str = "X",
    ) -> Outcome:
        return self.apply(
            EditOrder,
            account=account,
            symbol=symbol,
            price_ticks=price,
            size_lots=size,
            order_id=order_id,
            client_order_id=cloid,
        )

    def cancel_all(
        self, account: str, symbol: str | None = None, exclude_reduce_only: bool = False
    ) -> Outcome:
        return self.apply(
            CancelAllOrders, account=account, symbol=symbol, exclude_reduce_only=exclude_reduce_only
        )

    def leverage(self, account: str, leverage: int, symbol: str = "X") -> Outcome:
        return self.apply(UpdateLeverage, account=account, symbol=symbol, leverage=leverage)

    def margin_mode(self, account: str, isolated: bool, symbol: str = "X") -> Outcome:
        return self.apply(UpdateMarginMode, account=account, symbol=symbol, is_isolated=isolated)

    def mark(self, symbol: str, price: str | int) -> Outcome:
        return self.apply(SetMarkPrice, symbol=symbol, price=Decimal(price))

    def bind(self, account: str, agent: str) -> Outcome:
        return self.apply(BindAgent, account=account, agent=agent)

    def revoke(self, account: str, agent: str) -> Outcome:
        return self.apply(RevokeAgent, account=account, agent=agent)

    def revoke_all(self, account: str) -> Outcome:
        return self.apply(RevokeAllAgents, account=account)

    def ladder(self, symbol: str = "X") -> list[str]:
        """The book as a ladder, asks on top (highest first), then bids (highest first):
        "ask 102 x 3 (1)" = price 102, 3 lots, 1 order."""
        bids, asks = self.engine.depth(symbol, 100)
        rows = [f"ask {p} x {s} ({n})" for p, s, n in reversed(asks)]
        rows.append("---")
        rows += [f"bid {p} x {s} ({n})" for p, s, n in bids]
        return rows

    def pending(self, account: str) -> list[tuple[int, str, str, int | None]]:
        """(id, order type, side, stop price) of the account's untriggered stop orders."""
        return [
            (o.order_id, o.order_type, o.side, o.stop_ticks)
            for o in self.engine.open_orders(account)
            if o.pending
        ]

    def status(self, order_id: int) -> tuple[str, str | None, int, int, int]:
        """(status, reason, filled, cancelled, remaining) of an order."""
        o = self.engine.order(order_id)
        assert o is not None
        return o.status, o.reason, o.filled_lots, o.cancelled_lots, o.remaining_lots


def leg(
    stop: int,
    limit: int | None = None,
    size: int | None = None,
    *,
    trigger: str = "mark_price",
    cloid: str | None = None,
) -> StopLeg:
    return StopLeg(
        stop_ticks=stop,
        limit_ticks=limit,
        size_lots=size,
        client_order_id=cloid,
        trigger=trigger,  # type: ignore[arg-type]
    )


def fills(outcome: Outcome) -> list[str]:
    """Fills as "maker#id -> taker#id: lots @ price"."""
    return [
        f"#{e.maker_order_id} -> #{e.taker_order_id}: {e.size_lots} @ {e.price_ticks}"
        for e in outcome.events
        if isinstance(e, OrderFilled)
    ]


def cancels(outcome: Outcome) -> list[str]:
    return [
        f"#{e.order_id} {e.reason} {e.cancelled_lots}"
        for e in outcome.events
        if isinstance(e, OrderCancelled)
    ]


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def encode(outcome: Outcome) -> bytes:
    return msgspec.msgpack.encode(outcome)
