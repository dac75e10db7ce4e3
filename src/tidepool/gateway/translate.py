"""Typed request bodies -> engine commands: decimal strings to integer ticks and lots with the
market's spec (off-grid values are 400s, never rounded), the parameter rules the types cannot
express, and a builder the sequencer calls with the command's seq and timestamp.

Single endpoints and the batch endpoint share these, so an action in a batch is translated
exactly like the same request on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from tidepool.domain.errors import book_not_found
from tidepool.domain.markets import MarketSpec, OffGrid, format_decimal, parse_decimal, to_steps
from tidepool.engine.commands import (
    BatchAction,
    CancelOrder,
    Command,
    CreateMarketOrder,
    CreateOrder,
    EditOrder,
)
from tidepool.gateway.context import Exchange, Rejected, WireError
from tidepool.wire.envelope import bad_request, invalid_parameters
from tidepool.wire.requests import (
    CancelOrderRequest,
    CreateMarketOrderRequest,
    CreateOrderRequest,
    EditOrderRequest,
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
    try:
        return to_steps(text, spec.tick_size)
    except OffGrid:
        raise WireError(
            bad_request(
                f"{name} {text} is not a multiple of tick size {format_decimal(spec.tick_size)}",
                "invalid_price",
            )
        ) from None


def amount_lots(spec: MarketSpec, text: str) -> int:
    try:
        return to_steps(text, spec.lot_size)
    except OffGrid:
        raise WireError(
            bad_request(
                f"Amount {text} is not a multiple of lot size {format_decimal(spec.lot_size)}",
                "invalid_amount",
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
    except OffGrid:
        raise WireError(invalid_parameters(f"{name} must be a decimal string")) from None
    if value < 0:
        raise WireError(invalid_parameters(f"{name} must not be negative"))
    return value


def create_order(ex: Exchange, body: CreateOrderRequest) -> ActionBuilder:
    check_client_order_id(body.client_order_id)
    if body.take_profit is not None or body.stop_loss is not None:
        raise WireError(
            invalid_parameters("take_profit/stop_loss on limit orders are not supported yet")
        )
    spec = market(ex, body.symbol)
    ticks = price_ticks(spec, body.price)
    lots = amount_lots(spec, body.amount)
    return lambda seq, ts: CreateOrder(
        seq=seq,
        ts_ms=ts,
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        price_ticks=ticks,
        size_lots=lots,
        tif=body.tif,
        reduce_only=body.reduce_only,
        client_order_id=body.client_order_id,
    )


def create_market_order(ex: Exchange, body: CreateMarketOrderRequest) -> ActionBuilder:
    check_client_order_id(body.client_order_id)
    if body.take_profit is not None or body.stop_loss is not None:
        raise WireError(
            invalid_parameters("take_profit/stop_loss on market orders are not supported yet")
        )
    spec = market(ex, body.symbol)
    lots = amount_lots(spec, body.amount)
    slippage = percent("slippage_percent", body.slippage_percent)
    return lambda seq, ts: CreateMarketOrder(
        seq=seq,
        ts_ms=ts,
        account=body.account,
        symbol=body.symbol,
        side=body.side,
        size_lots=lots,
        slippage_percent=slippage,
        reduce_only=body.reduce_only,
        client_order_id=body.client_order_id,
    )


def cancel_order(ex: Exchange, body: CancelOrderRequest) -> ActionBuilder:
    exactly_one_id(body.order_id, body.client_order_id)
    market(ex, body.symbol)
    return lambda seq, ts: CancelOrder(
        seq=seq,
        ts_ms=ts,
        account=body.account,
        symbol=body.symbol,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )


def edit_order(ex: Exchange, body: EditOrderRequest) -> ActionBuilder:
    exactly_one_id(body.order_id, body.client_order_id)
    spec = market(ex, body.symbol)
    ticks = price_ticks(spec, body.price)
    lots = None if body.amount is None else amount_lots(spec, body.amount)
    return lambda seq, ts: EditOrder(
        seq=seq,
        ts_ms=ts,
        account=body.account,
        symbol=body.symbol,
        price_ticks=ticks,
        size_lots=lots,
        order_id=body.order_id,
        client_order_id=body.client_order_id,
    )
