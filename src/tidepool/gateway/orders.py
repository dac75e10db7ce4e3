"""Order routes: create, cancel, cancel all (signed POSTs) and the open-order / history reads.

Each handler: typed decode + signature (gateway.signed), translation to integer ticks/lots with
the market spec, one command through the sequencer, the Outcome into Pacifica's envelope.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tidepool.domain.errors import book_not_found
from tidepool.domain.markets import MarketSpec, OffGrid, format_decimal, parse_decimal, to_steps
from tidepool.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    CreateMarketOrder,
    CreateOrder,
    EditOrder,
)
from tidepool.gateway import views
from tidepool.gateway.context import Exchange, Request, WireError
from tidepool.gateway.query import query_int, query_str
from tidepool.gateway.signed import signed_request
from tidepool.runtime.speedbump import DELAYED_TIFS
from tidepool.wire.envelope import (
    Response,
    bad_request,
    error,
    invalid_parameters,
    ok,
    rejected,
)
from tidepool.wire.requests import (
    CancelAllOrdersRequest,
    CancelOrderRequest,
    CreateMarketOrderRequest,
    CreateOrderRequest,
    EditOrderRequest,
    is_uuid,
)


def market(ex: Exchange, symbol: str) -> MarketSpec:
    spec = ex.markets.get(symbol)
    if spec is None:
        raise WireError(rejected(book_not_found(symbol)))
    return spec


def price_ticks(spec: MarketSpec, text: str) -> int:
    try:
        return to_steps(text, spec.tick_size)
    except OffGrid:
        raise WireError(
            bad_request(
                f"Price {text} is not a multiple of tick size {format_decimal(spec.tick_size)}",
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


async def create_order(ex: Exchange, req: Request) -> Response:
    body = signed_request(ex, req, CreateOrderRequest, "create_order")
    check_client_order_id(body.client_order_id)
    if body.take_profit is not None or body.stop_loss is not None:
        raise WireError(
            invalid_parameters("take_profit/stop_loss on limit orders are not supported yet")
        )
    spec = market(ex, body.symbol)
    ticks = price_ticks(spec, body.price)
    lots = amount_lots(spec, body.amount)
    if body.tif in DELAYED_TIFS:
        await ex.speedbump.wait()
    outcome = await ex.sequencer.submit(
        lambda seq, ts: CreateOrder(
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
    )
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok({"order_id": outcome.order_id})


def percent(name: str, text: str) -> Decimal:
    """A non-negative decimal string (slippage in percent)."""
    try:
        value = parse_decimal(text)
    except OffGrid:
        raise WireError(invalid_parameters(f"{name} must be a decimal string")) from None
    if value < 0:
        raise WireError(invalid_parameters(f"{name} must not be negative"))
    return value


async def create_market_order(ex: Exchange, req: Request) -> Response:
    body = signed_request(ex, req, CreateMarketOrderRequest, "create_market_order")
    check_client_order_id(body.client_order_id)
    if body.take_profit is not None or body.stop_loss is not None:
        raise WireError(
            invalid_parameters("take_profit/stop_loss on market orders are not supported yet")
        )
    spec = market(ex, body.symbol)
    lots = amount_lots(spec, body.amount)
    slippage = percent("slippage_percent", body.slippage_percent)
    await ex.speedbump.wait()
    outcome = await ex.sequencer.submit(
        lambda seq, ts: CreateMarketOrder(
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
    )
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok({"order_id": outcome.order_id})


async def cancel_order(ex: Exchange, req: Request) -> Response:
    body = signed_request(ex, req, CancelOrderRequest, "cancel_order")
    exactly_one_id(body.order_id, body.client_order_id)
    market(ex, body.symbol)
    outcome = await ex.sequencer.submit(
        lambda seq, ts: CancelOrder(
            seq=seq,
            ts_ms=ts,
            account=body.account,
            symbol=body.symbol,
            order_id=body.order_id,
            client_order_id=body.client_order_id,
        )
    )
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok(None)


def exactly_one_id(order_id: int | None, client_order_id: str | None) -> None:
    if (order_id is None) == (client_order_id is None):
        raise WireError(invalid_parameters("provide exactly one of order_id or client_order_id"))
    check_client_order_id(client_order_id)


async def edit_order(ex: Exchange, req: Request) -> Response:
    """Cancel-and-replace; the replacement is ALO, so the speedbump never applies."""
    body = signed_request(ex, req, EditOrderRequest, "edit_order")
    exactly_one_id(body.order_id, body.client_order_id)
    spec = market(ex, body.symbol)
    ticks = price_ticks(spec, body.price)
    lots = None if body.amount is None else amount_lots(spec, body.amount)
    outcome = await ex.sequencer.submit(
        lambda seq, ts: EditOrder(
            seq=seq,
            ts_ms=ts,
            account=body.account,
            symbol=body.symbol,
            price_ticks=ticks,
            size_lots=lots,
            order_id=body.order_id,
            client_order_id=body.client_order_id,
        )
    )
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok({"order_id": outcome.order_id})


async def cancel_all_orders(ex: Exchange, req: Request) -> Response:
    body = signed_request(ex, req, CancelAllOrdersRequest, "cancel_all_orders")
    symbol: str | None = None
    if not body.all_symbols:
        if body.symbol is None:
            raise WireError(invalid_parameters("symbol is required when all_symbols is false"))
        symbol = market(ex, body.symbol).symbol
    outcome = await ex.sequencer.submit(
        lambda seq, ts: CancelAllOrders(
            seq=seq,
            ts_ms=ts,
            account=body.account,
            symbol=symbol,
            exclude_reduce_only=body.exclude_reduce_only,
        )
    )
    if outcome.reject is not None:
        return rejected(outcome.reject)
    count = outcome.cancelled_count or 0
    # The cancel-all page's body has a top-level `cancelled_count`; clients read `data` (spec A1).
    return ok({"cancelled_count": count}, inline={"cancelled_count": count})


async def open_orders(ex: Exchange, req: Request) -> Response:
    account = query_str(req, "account")
    engine = ex.engine
    data: list[dict[str, Any]] = [
        views.open_order(ex.markets[o.symbol], o) for o in engine.open_orders(account)
    ]
    return ok(data, last_order_id=engine.last_order_id)


async def order_history_by_id(ex: Exchange, req: Request) -> Response:
    order_id = query_int(req, "order_id")
    entries = ex.engine.order_history(order_id)
    if not entries:
        return error(404, f"Order history not found for order ID: {order_id}")
    return ok([views.history_entry(ex.markets[h.symbol], h) for h in entries])
