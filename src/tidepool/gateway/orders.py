"""Order routes: create, market, edit, cancel, cancel all (signed POSTs) and the open-order /
history reads.

Each handler: typed decode + signature (gateway.signed), translation to a command
(gateway.translate), one command through the sequencer, the Outcome into Pacifica's envelope.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tidepool.engine.commands import CancelAllOrders
from tidepool.engine.events import Outcome
from tidepool.gateway import translate, views
from tidepool.gateway.context import Exchange, Request, WireError
from tidepool.gateway.query import query_int, query_str
from tidepool.gateway.signed import signed_request
from tidepool.runtime.speedbump import DELAYED_TIFS
from tidepool.wire.envelope import Response, error, invalid_parameters, ok, ok_or_rejected, rejected
from tidepool.wire.requests import (
    CancelAllOrdersRequest,
    CancelOrderRequest,
    CreateMarketOrderRequest,
    CreateOrderRequest,
    EditOrderRequest,
)


async def create_order(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, CreateOrderRequest)
    build = translate.create_order(ex, body, auth)
    if body.tif in DELAYED_TIFS:
        await ex.speedbump.wait()
    return _answer(await ex.sequencer.submit(build))


async def create_market_order(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, CreateMarketOrderRequest)
    build = translate.create_market_order(ex, body, auth)
    await ex.speedbump.wait()
    return _answer(await ex.sequencer.submit(build))


async def edit_order(ex: Exchange, req: Request) -> Response:
    """Cancel-and-replace; the replacement is ALO, so the speedbump never applies."""
    body, auth = signed_request(ex, req, EditOrderRequest)
    return _answer(await ex.sequencer.submit(translate.edit_order(ex, body, auth)))


async def cancel_order(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, CancelOrderRequest)
    outcome = await ex.sequencer.submit(translate.cancel_order(ex, body, auth))
    return ok_or_rejected(outcome.reject)


def _answer(outcome: Outcome) -> Response:
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok({"order_id": outcome.order_id})


# Orders one cancel_all command removes at most (~1 µs each in the engine): a cancel_all of 100k
# orders becomes 100 journaled chunks with other requests served in between, instead of one
# command that holds the event loop for ~100 ms (issue 5, docs/wire-decisions.md).
CANCEL_ALL_CHUNK = 1000


async def cancel_all_orders(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, CancelAllOrdersRequest)
    symbol: str | None = None
    if not body.all_symbols:
        if body.symbol is None:
            raise WireError(invalid_parameters("symbol is required when all_symbols is false"))
        symbol = translate.market(ex, body.symbol).symbol
    # The scope is fixed when the request is taken: orders that arrive while the chunks run
    # (higher ids) are not cancelled, as if they had come after one atomic cancel_all.
    up_to = ex.engine.last_order_id
    count = 0
    while True:
        outcome = await ex.sequencer.submit(
            lambda seq, ts: CancelAllOrders(
                seq=seq,
                ts_ms=ts,
                auth=auth,  # on every chunk: any one of them, journaled, rebuilds the guard
                account=body.account,
                symbol=symbol,
                exclude_reduce_only=body.exclude_reduce_only,
                up_to_order_id=up_to,
                limit=CANCEL_ALL_CHUNK,
            )
        )
        if outcome.reject is not None:
            return rejected(outcome.reject)
        count += outcome.cancelled_count or 0
        if not outcome.more:
            break
        await asyncio.sleep(0)  # let requests that arrived meanwhile in between two chunks
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
