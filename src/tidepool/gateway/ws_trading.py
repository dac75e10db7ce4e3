"""WebSocket trading operations (spec §5.4, A9): `{"id", "params": {"<op>": {flat signed body}}}`.

Each operation is the REST one: the same row of the operation table (gateway.operations, the
rows with a `ws_answer`), verified and translated by `signed.command`, executed by
`ex.pipeline.submit` (speedbump included); `batch_orders` is REST's batch (gateway.batch). Only
the answer's form differs:

- success: `{"code": 200, "data": <the row's ws_answer>, "id", "t", "type"}`;
- error: `{"id", "type", "code", "err", "t"}`, `err` being REST's error text, and `code` the
  WebSocket one: 400 invalid request (bad JSON, missing or mistyped fields, off-grid values),
  401 signature problems, 402 an account or agent that is not a public key (invalid signer),
  403 agent not authorized, 420 business rejections (REST's 422, and a
  cancel of an order that is not open: "Order not found"), 500 anything unexpected (also a
  journal that cannot be written: err "Service unavailable: ...").

`id` and `type` are echoed as received (null when absent), `t` is the server's time in ms.

On a connection opened with an API key (gateway.api_keys), each request is first charged to the
key's account: a key revoked since the upgrade answers 403, a request over the quota 429, and
with a quota set every reply ends with `rl` (spec §5.4).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from tidepool.domain.errors import AGENT_NOT_AUTHORIZED, Reject
from tidepool.engine.events import ActionResult
from tidepool.gateway import api_keys, batch, signed
from tidepool.gateway.envelope import bad_request
from tidepool.gateway.errors import (
    AgentNotAuthorized,
    InvalidSigner,
    Rejected,
    SignatureRefused,
    WireError,
)
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.operations import OPERATIONS, Operation
from tidepool.gateway.request import Request, Verified
from tidepool.gateway.ws_fanout import encoder
from tidepool.journal.errors import JournalWriteError

log = logging.getLogger("tidepool.ws")

BATCH = "batch_orders"
WS_OPERATIONS: dict[str, Operation] = {op.op_type: op for op in OPERATIONS if op.ws_answer}


async def answer(
    ex: Exchange,
    frame: dict[str, Any],
    api_key: str | None = None,
    verified: Verified | None = None,
) -> bytes:
    """The encoded reply frame to one trading request, on a connection opened with `api_key`.
    `verified`: the signature verdicts of the gateway worker process holding the socket
    (gateway.preverify.ws_verdicts); None: verify here."""
    if api_key is None:
        return await _answer(ex, frame, verified)
    params = frame.get("params")
    op_type = next(iter(params)) if isinstance(params, dict) and len(params) == 1 else None
    refusal, usage = api_keys.admit(ex, api_key, op_type)
    if refusal is None:
        reply = await _answer(ex, frame, verified)
    else:
        reply = _error(ex, frame.get("id"), op_type, refusal.http_status, refusal.message)
    if usage is None:
        return reply
    # Every reply is an encoded JSON object: `rl` goes in as its last key, where Pacifica's
    # replies show it, without decoding the frame again.
    return reply[:-1] + b',"rl":' + encoder.encode(api_keys.ws_rl(usage)) + b"}"


async def _answer(ex: Exchange, frame: dict[str, Any], verified: Verified | None) -> bytes:
    request = Request("WS", "/ws", {}, b"", verified)  # what signed.command reads of it
    request_id = frame.get("id")
    params = frame.get("params")
    if not isinstance(params, dict) or len(params) != 1:
        return _error(ex, request_id, None, 400, "Invalid request: params must name one operation")
    ((op_type, body),) = params.items()
    try:
        if not isinstance(body, dict):
            raise WireError(bad_request(f"Invalid request: {op_type} must be a JSON object"))
        if op_type == BATCH:
            results = await batch.execute(ex, request, body)
            data = {"results": [_batch_result(*result) for result in results]}
        else:
            op = WS_OPERATIONS.get(op_type)
            if op is None:
                unknown = f"Invalid request: unknown operation {op_type}"
                return _error(ex, request_id, op_type, 400, unknown)
            assert op.ws_answer is not None
            cmd = signed.command(ex, request, body, op)
            outcome = await ex.pipeline.submit(cmd)
            if outcome.reject is not None:
                return _rejected(ex, request_id, op_type, outcome.reject)
            data = op.ws_answer(cmd, outcome)
    except InvalidSigner as exc:
        return _error(ex, request_id, op_type, 402, _text(exc))
    except SignatureRefused as exc:
        return _error(ex, request_id, op_type, 401, _text(exc))
    except AgentNotAuthorized as exc:
        return _error(ex, request_id, op_type, 403, _text(exc))
    except Rejected as exc:
        return _rejected(ex, request_id, op_type, exc.reject)
    except WireError as exc:
        return _error(ex, request_id, op_type, 400, _text(exc))
    except JournalWriteError as exc:
        return _error(ex, request_id, op_type, 500, f"Service unavailable: {exc}")
    except Exception:
        log.exception("ws: unexpected failure on %s", op_type)
        return _error(ex, request_id, op_type, 500, "Internal server error")
    reply = {"code": 200, "data": data, "id": request_id, "t": ex.clock.now_ms(), "type": op_type}
    return encoder.encode(reply)


def _batch_result(action: dict[str, Any], result: ActionResult) -> dict[str, Any]:
    """REST's result keys, plus what the action named and ccxt reads (`i`, `I`, spec A9)."""
    client_order_id = action.get("client_order_id")
    return {
        "success": result.reject is None,
        "order_id": result.order_id,
        "client_order_id": client_order_id,
        "symbol": action.get("symbol"),
        "error": None if result.reject is None else result.reject.message,
        "i": result.order_id,
        "I": client_order_id,
    }


def _rejected(ex: Exchange, request_id: Any, op_type: str, reject: Reject) -> bytes:
    code = 403 if reject.error_id == AGENT_NOT_AUTHORIZED.error_id else 420
    return _error(ex, request_id, op_type, code, reject.message)


def _text(exc: WireError) -> str:
    """The `error` text of the REST envelope the exception carries."""
    return str(msgspec.json.decode(exc.response.body)["error"])


def _error(ex: Exchange, request_id: Any, op_type: str | None, code: int, err: str) -> bytes:
    reply = {"id": request_id, "type": op_type, "code": code, "err": err, "t": ex.clock.now_ms()}
    return encoder.encode(reply)
