"""Typed request bodies -> engine commands: decimal strings to integer ticks and lots with the
market's spec (off-grid values are 400s, never rounded), the parameter rules the types cannot
express, and a builder the sequencer calls with the command's seq and timestamp. Each builder
takes the `auth` of its signed request (gateway.signed.verify_body), which the command carries.

Single endpoints and the batch endpoint share these, so an action in a batch is translated
exactly like the same request on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tidepool.domain.errors import book_not_found
from tidepool.domain.markets import (
    MarketSpec,
    OffGrid,
    OutOfRange,
    format_decimal,
    parse_decimal,
    to_steps,
)
from tidepool.engine.commands import (
    Auth,
    BatchAction,
    CancelOrder,
    CancelStopOrder,
    Command,
    CreateMarketOrder,
    CreateOrder,
    CreateStopOrder,
    EditOrder,
    SetPositionTpsl,
    StopLeg,
)
from tidepool.gateway.context import Exchange, Rejected, WireError
from tidepool.wire.envelope import bad_request, invalid_parameters
from tidepool.wire.requests import (
    CancelOrderRequest,
    CancelStopOrderRequest,
    CreateMarketOrderRequest,
    CreateOrderRequest,
    CreateStopOrderRequest,
    EditOrderRequest,
    SetPositionTpslRequest,
    StopLegRequest,
    is_uuid,
)

Builder = Callable[[int, int], Command]
ActionBuilder = Callable[[int, int], BatchAction]  # what a batch may hold


def market(ex: Exchange, symbol: str) -> MarketSpec:
    spec = ex.markets.get(symbol)
    if spec is None:
        raise Rejected(book_not_found(symbol))
    return spec


def price_ticks(spec: MarketSpec, text: str, name: str = "Price") -> int:
    return _steps(text, spec.tick_size, name, "tick size", "invalid_price")


def amount_lots(spec: MarketSpec, text: str) -> int:
    return _steps(text, spec.lot_size, "Amount", "lot size", "invalid_amount")


def _steps(text: str, step: Decimal, name: str, grid: str, error_id: str) -> int:
    """`text` in steps of the market's grid; a 400 naming the field when it is not on it."""
    try:
        return to_steps(text, step)
    except OutOfRange as exc:
        raise WireError(bad_request(f"{name} {exc}", error_id)) from None
    except OffGrid:
        raise WireError(
            bad_request(
                f"{name} {text} is not a multiple of {grid} {format_decimal(step)}", error_id
            )
        ) from None


def check_client_order_id(cloid: str | None) -> None:
    if cloid is not None and not is_uuid(cloid):
        raise WireError(invalid_parameters("client_order_id must be a UUID string"))


def exactly_one_id(order_id: int | None, client_order_id: str | None) -> None:
    if (order_id is None) == (client_order_id is None):
        raise WireError(invalid_parameters("provide exactly one of order_id or client_order_id"))
    check_client_order_id(client_order_id)


def percent(name: str, text: str) -> Decimal:
    """A non-negative decimal string (slippage in percent)."""
    try:
        value = parse_decimal(text)
    except OffGrid as exc:
        raise WireError(invalid_parameters(f"{name} must be a decimal string: {exc}")) from None
    if value < 0:
        raise WireError(invalid_parameters(f"{name} must not be negative"))
    return value


TRIGGER_TYPES = frozenset({"mark_price", "last_trade_price"})


def stop_leg(spec: MarketSpec, leg: StopLegRequest | None) -> StopLeg | None:
    """A stop-leg object in ticks and lots. `mid_price` triggers are not modelled (400)."""
    if leg is None:
        return None
    check_client_order_id(leg.client_order_id)
    trigger = leg.trigger_price_type or "mark_price"
    if trigger not in TRIGGER_TYPES:
        raise WireError(
            invalid_parameters(
                f"trigger_price_type {trigger!r} is not supported (mark_price, last_trade_price)"
            )
        )
    size = None
    if leg.amount is not None and not _is_zero(leg.amount):
        size = amount_lots(spec, leg.amount)
    return StopLeg(
        stop_ticks=price_ticks(spec, leg.stop_price, "Stop price"),
        limit_ticks=None if leg.limit_price is None else price_ticks(spec, leg.limit_price),
        size_lots=size,
        client_order_id=leg.client_order_id,
        trigger="last_trade_price" if trigger == "last_trade_price" else "mark_price",
    )


def _is_zero(text: str) -> bool:
    try:
        return parse_decimal(text) == 0
    except OffGrid:
        return False


def create_order(ex: Exchange, body: CreateOrderRequest, auth: Auth) -> ActionBuilder:
    check_client_order_id(body.client_order_id)
    spec = market(ex, body.symbol)
    tp, sl = stop_leg(spec, body.take_profit), stop_leg(spec, body.stop_loss)
    ticks = price_ticks(spec, body.price)
    lots = amount_lots(spec, body.amount)
    return lambda seq, ts: CreateOrder(
        seq=seq,
        ts_ms=ts,
        auth=auth,
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        price_ticks=ticks,
        size_lots=lots,
        tif=body.tif,
        reduce_only=body.reduce_only,
        client_order_id=body.client_order_id,
        take_profit=tp,
        stop_loss=sl,
    )


def create_market_order(ex: Exchange, body: CreateMarketOrderRequest, auth: Auth) -> ActionBuilder:
    check_client_order_id(body.client_order_id)
    spec = market(ex, body.symbol)
    tp, sl = stop_leg(spec, body.take_profit), stop_leg(spec, body.stop_loss)
    lots = amount_lots(spec, body.amount)
    slippage = percent("slippage_percent", body.slippage_percent)
    return lambda seq, ts: CreateMarketOrder(
        seq=seq,
        ts_ms=ts,
        auth=auth,
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        size_lots=lots,
        slippage_percent=slippage,
        reduce_only=body.reduce_only,
        client_order_id=body.client_order_id,
        take_profit=tp,
        stop_loss=sl,
    )


def cancel_order(ex: Exchange, body: CancelOrderRequest, auth: Auth) -> ActionBuilder:
    exactly_one_id(body.order_id, body.client_order_id)
    market(ex, body.symbol)
    return lambda seq, ts: CancelOrder(
        seq=seq,
        ts_ms=ts,
        auth=auth,
        account=body.account,
        symbol=body.symbol,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )


def edit_order(ex: Exchange, body: EditOrderRequest, auth: Auth) -> ActionBuilder:
    exactly_one_id(body.order_id, body.client_order_id)
    spec = market(ex, body.symbol)
    ticks = price_ticks(spec, body.price)
    lots = None if body.amount is None else amount_lots(spec, body.amount)
    return lambda seq, ts: EditOrder(
        seq=seq,
        ts_ms=ts,
        auth=auth,
        account=body.account,
        symbol=body.symbol,
        price_ticks=ticks,
        size_lots=lots,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )


def create_stop_order(ex: Exchange, body: CreateStopOrderRequest, auth: Auth) -> Builder:
    spec = market(ex, body.symbol)
    leg = stop_leg(spec, body.stop_order)
    assert leg is not None
    return lambda seq, ts: CreateStopOrder(
        seq=seq,
        ts_ms=ts,
        auth=auth,
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        reduce_only=body.reduce_only,
        stop=leg,
    )


def set_position_tpsl(ex: Exchange, body: SetPositionTpslRequest, auth: Auth) -> ActionBuilder:
    spec = market(ex, body.symbol)
    tp, sl = stop_leg(spec, body.take_profit), stop_leg(spec, body.stop_loss)
    if tp is None and sl is None:
        raise WireError(invalid_parameters("take_profit or stop_loss is required"))
    return lambda seq, ts: SetPositionTpsl(
        seq=seq,
        ts_ms=ts,
        auth=auth,
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        take_profit=tp,
        stop_loss=sl,
    )


def cancel_stop_order(ex: Exchange, body: CancelStopOrderRequest, auth: Auth) -> ActionBuilder:
    exactly_one_id(body.order_id, body.client_order_id)
    market(ex, body.symbol)
    return lambda seq, ts: CancelStopOrder(
        seq=seq,
        ts_ms=ts,
        auth=auth,
        account=body.account,
        symbol=body.symbol,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )
