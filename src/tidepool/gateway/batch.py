"""POST /orders/batch (spec §2.9): up to 10 signed actions applied as one command.

- The body is `{"actions": [{"type": T, "data": <complete signed body>}, ...]}`; each `data` is
  decoded and verified on its own, with the operation type of its action type.
- Wire problems fail the whole batch with their 400 (first failing action wins, nothing
  applied): malformed body or action, unknown action type, more than 10 actions, any bad
  signature, agent not authorised, off-grid price or amount, bad client order id.
- Business failures are per action, HTTP 200: `{"results": [{"success", "order_id", "error"}]}`
  in action order. An unknown symbol is such a failure (code 3 of a single request).
- Atomic as a block: every valid action goes to the engine in ONE Batch command, so nothing
  interleaves with it and replay is exact. Delayed by the speedbump when it holds a market
  order or a GTC/IOC limit order.
- Under `--strict-auth` each action carries its own signature record (`auth`), the batch none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tidepool.domain.errors import Reject
from tidepool.engine.commands import Auth, Batch
from tidepool.engine.events import ActionResult
from tidepool.gateway import translate
from tidepool.gateway.context import (
    API,
    Exchange,
    Rejected,
    Request,
    WireError,
    decode_json_object,
)
from tidepool.gateway.signed import SIGNED_ROUTES, SignedSpec, typed, verify_body
from tidepool.runtime.speedbump import DELAYED_TIFS
from tidepool.wire.envelope import Response, invalid_parameters, ok
from tidepool.wire.requests import (
    CreateMarketOrderRequest,
    CreateOrderRequest,
    Signed,
)

MAX_ACTIONS = 10


class BatchActionRequest(msgspec.Struct, frozen=True):
    type: str
    data: dict[str, Any]


class BatchRequest(msgspec.Struct, frozen=True):
    actions: list[BatchActionRequest]


Translator = Callable[[Exchange, Any, Auth], translate.ActionBuilder]

# action type -> (typed body and signed operation type, translation): each action is signed
# exactly like the request of its own endpoint.
ACTIONS: dict[str, tuple[SignedSpec, Translator]] = {
    "Create": (SIGNED_ROUTES[f"{API}/orders/create"], translate.create_order),
    "CreateMarket": (SIGNED_ROUTES[f"{API}/orders/create_market"], translate.create_market_order),
    "Cancel": (SIGNED_ROUTES[f"{API}/orders/cancel"], translate.cancel_order),
    "Edit": (SIGNED_ROUTES[f"{API}/orders/edit"], translate.edit_order),
    "SetPositionTpsl": (SIGNED_ROUTES[f"{API}/positions/tpsl"], translate.set_position_tpsl),
    "CancelStopOrder": (SIGNED_ROUTES[f"{API}/orders/stop/cancel"], translate.cancel_stop_order),
}


def _delayed(body: Signed) -> bool:
    if isinstance(body, CreateMarketOrderRequest):
        return True
    return isinstance(body, CreateOrderRequest) and body.tif in DELAYED_TIFS


async def batch(ex: Exchange, req: Request) -> Response:
    request = typed(decode_json_object(req.body), BatchRequest)
    if len(request.actions) > MAX_ACTIONS:
        raise WireError(invalid_parameters(f"a batch holds at most {MAX_ACTIONS} actions"))
    slots: list[translate.ActionBuilder | Reject] = []
    delayed = False
    for i, action in enumerate(request.actions):
        entry = ACTIONS.get(action.type)
        if entry is None:
            raise WireError(
                invalid_parameters(f"actions[{i}]: unknown action type {action.type!r}")
            )
        spec, translator = entry
        body, auth = verify_body(ex, req, action.data, spec)
        delayed = delayed or _delayed(body)
        try:
            slots.append(translator(ex, body, auth))
        except Rejected as exc:
            slots.append(exc.reject)
    if delayed:
        await ex.speedbump.wait()
    builders = [slot for slot in slots if not isinstance(slot, Reject)]
    results: list[ActionResult] = []
    if builders:
        outcome = await ex.sequencer.submit(
            lambda seq, ts: Batch(seq=seq, ts_ms=ts, actions=[b(seq, ts) for b in builders])
        )
        assert outcome.results is not None
        results = outcome.results
    answers = iter(results)
    return ok(
        {
            "results": [
                _result(ActionResult(reject=slot) if isinstance(slot, Reject) else next(answers))
                for slot in slots
            ]
        }
    )


def _result(result: ActionResult) -> dict[str, Any]:
    if result.reject is not None:
        return {"success": False, "order_id": None, "error": result.reject.message}
    return {"success": True, "order_id": result.order_id, "error": None}
