"""Stop-order routes (spec §2.3, §2.4, §2.7): orders/stop/create, orders/stop/cancel,
positions/tpsl. None of them is delayed by the speedbump (spec A5: TP/SL and cancels never are;
a stop order only enters the book when it triggers)."""

from __future__ import annotations

from tidepool.gateway import translate
from tidepool.gateway.context import Exchange, Request
from tidepool.gateway.signed import signed_request
from tidepool.wire.envelope import Response, ok, ok_or_rejected, rejected
from tidepool.wire.requests import (
    CancelStopOrderRequest,
    CreateStopOrderRequest,
    SetPositionTpslRequest,
)


async def create_stop_order(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, CreateStopOrderRequest)
    outcome = await ex.sequencer.submit(translate.create_stop_order(ex, body, auth))
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok({"order_id": outcome.order_id})


async def cancel_stop_order(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, CancelStopOrderRequest)
    outcome = await ex.sequencer.submit(translate.cancel_stop_order(ex, body, auth))
    return ok_or_rejected(outcome.reject)


async def set_position_tpsl(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, SetPositionTpslRequest)
    outcome = await ex.sequencer.submit(translate.set_position_tpsl(ex, body, auth))
    return ok_or_rejected(outcome.reject)
