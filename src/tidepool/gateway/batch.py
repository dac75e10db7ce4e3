"""POST /orders/batch (spec §2.9): up to 10 signed actions applied as one command.

- The body is `{"actions": [{"type": T, "data": <complete signed body>}, ...]}`; each `data` is
  decoded, verified and translated like the request of its own endpoint: the action type names
  a row of the operation table (gateway.operations `batch_action`).
- Wire problems fail the whole batch with their 400 (first failing action wins, nothing
  applied): malformed body or action, unknown action type, more than 10 actions, any bad
  signature, off-grid price or amount, bad client order id.
- Business failures are per action, HTTP 200: `{"results": [{"success", "order_id", "error"}]}`
  in action order. An unknown symbol is such a failure (code 3 of a single request), and so is
  an action signed by an agent that is not bound when the batch is applied.
- Atomic as a block: every valid action goes to the engine in ONE Batch command, so nothing
  interleaves with it and replay is exact. The pipeline delays it when it holds a market order
  or a GTC/IOC limit order (runtime/speedbump.py).
- Under `--strict-auth` each action carries its own signature record (`auth`), the batch none.
"""

from __future__ import annotations

from typing import Any, cast

import msgspec

from tidepool.domain.errors import Reject
from tidepool.engine.commands import MAX_BATCH_ACTIONS, Batch, BatchAction
from tidepool.engine.events import ActionResult
from tidepool.gateway.envelope import Response, invalid_parameters, ok
from tidepool.gateway.errors import Rejected, WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.operations import BY_BATCH_ACTION
from tidepool.gateway.request import Request, decode_json_object
from tidepool.gateway.signed import command, typed


class BatchActionRequest(msgspec.Struct, frozen=True):
    type: str
    data: dict[str, Any]


class BatchRequest(msgspec.Struct, frozen=True):
    actions: list[BatchActionRequest]


async def batch(ex: Exchange, req: Request) -> Response:
    results = await execute(ex, req, decode_json_object(req.body))
    return ok({"results": [_result(result) for _, result in results]})


async def execute(
    ex: Exchange, req: Request, raw: dict[str, Any]
) -> list[tuple[dict[str, Any], ActionResult]]:
    """Run one batch body (REST's, or WebSocket's `batch_orders`): each action's signed body
    with its result, in action order. Raises WireError as the module docstring says."""
    request = typed(raw, BatchRequest)
    if len(request.actions) > MAX_BATCH_ACTIONS:
        raise WireError(invalid_parameters(f"a batch holds at most {MAX_BATCH_ACTIONS} actions"))
    slots: list[BatchAction | Reject] = []
    for i, action in enumerate(request.actions):
        op = BY_BATCH_ACTION.get(action.type)
        if op is None:
            raise WireError(
                invalid_parameters(f"actions[{i}]: unknown action type {action.type!r}")
            )
        try:
            # An operation with a batch action name translates to a BatchAction.
            slots.append(cast(BatchAction, command(ex, req, action.data, op)))
        except Rejected as exc:
            slots.append(exc.reject)
    actions = [slot for slot in slots if not isinstance(slot, Reject)]
    results: list[ActionResult] = []
    if actions:
        outcome = await ex.pipeline.submit(Batch(actions=actions))
        assert outcome.results is not None
        results = outcome.results
    answers = iter(results)
    return [
        (action.data, ActionResult(reject=slot) if isinstance(slot, Reject) else next(answers))
        for action, slot in zip(request.actions, slots, strict=True)
    ]


def _result(result: ActionResult) -> dict[str, Any]:
    if result.reject is not None:
        return {"success": False, "order_id": None, "error": result.reject.message}
    return {"success": True, "order_id": result.order_id, "error": None}
