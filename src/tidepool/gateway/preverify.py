"""Signature work done ahead of the engine process, in a gateway worker process.

ed25519 is the largest cost of a signed request and needs no exchange state, so with
`tidepool serve --workers N` the worker that received the request runs, for every signed body
the request holds (one, or each action of a batch), the same typed decode and `verify_request`
the engine process would, and sends along the (public key, signature, message) triples that
passed the ed25519 check. The engine process then runs the unchanged handler, whose
`verify_request` looks those triples up instead of repeating the curve arithmetic
(gateway.signed). Everything else, and every error answer, still comes from the engine process,
so a request gets the same answer whichever process layout serves it.

Nothing here decides an answer: a malformed body or a bad signature simply yields fewer
triples, and the engine process finds and reports the problem itself. For the same reason the
worker ignores time and the strict profile: it checks with `now_ms` 0 (nothing has expired)
and the default policy (which also tries ccxt's short signatures), so a verdict never depends on
the worker's clock or settings; expiry, the strict caps and duplicates are checked by the engine
process, as for a single-process server.
"""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey
from solders.signature import Signature

from tidepool.engine.commands import MAX_BATCH_ACTIONS
from tidepool.gateway import ws_trading
from tidepool.gateway.app import normalize
from tidepool.gateway.batch import BatchRequest
from tidepool.gateway.errors import WireError
from tidepool.gateway.operations import BY_BATCH_ACTION, BY_PATH
from tidepool.gateway.request import API, Triple, Verified, decode_json_object
from tidepool.gateway.signed import authenticate, typed
from tidepool.gateway.verify import SignatureCheck, VerifyPolicy, ed25519_check

BATCH_PATH = f"{API}/orders/batch"

_NO_CLOCK = 0
_ANY_PROFILE = VerifyPolicy()


def verdicts(method: str, path: str, body: bytes) -> Verified:
    """What a worker sends along with a request (empty for anything but a POST)."""
    if method != "POST":
        return frozenset()
    return frozenset(preverify(normalize(path), body))


def ws_verdicts(data: bytes) -> Verified:
    """What a worker sends along with a WebSocket frame: for a trading operation
    (`{"id", "params": {"<op>": {...}}}`, gateway/ws_trading.py), the triples of its body or of
    each action of its batch; empty for anything else."""
    found: list[Triple] = []
    try:
        frame = decode_json_object(data)
        params = frame.get("params")
        if frame.get("method") is not None or not isinstance(params, dict) or len(params) != 1:
            return frozenset()
        ((op_type, body),) = params.items()
        if not isinstance(body, dict):
            return frozenset()
        if op_type == ws_trading.BATCH:
            _batch(body, _collector(found))
        elif op_type in ws_trading.WS_OPERATIONS:
            op = ws_trading.WS_OPERATIONS[op_type]
            authenticate(body, op, _NO_CLOCK, _ANY_PROFILE, _collector(found))
    except WireError:
        pass  # the engine process meets the same problem and answers it
    return frozenset(found)


def preverify(path: str, body: bytes) -> list[Triple]:
    """The verified (public key, signature, message) triples of a POST to `path`."""
    found: list[Triple] = []
    check = _collector(found)
    op = BY_PATH.get(path)
    try:
        if op is not None:
            authenticate(decode_json_object(body), op, _NO_CLOCK, _ANY_PROFILE, check)
        elif path == BATCH_PATH:
            _batch(decode_json_object(body), check)
    except WireError:
        pass  # the engine process meets the same problem and answers it
    return found


def _collector(found: list[Triple]) -> SignatureCheck:
    """An ed25519 check that records each triple that passed in `found`."""

    def check(signature: Signature, public_key: Pubkey, message: bytes) -> bool:
        if ed25519_check(signature, public_key, message):
            found.append((bytes(public_key), bytes(signature), message))
            return True
        return False

    return check


def _batch(raw: dict[str, Any], check: SignatureCheck) -> None:
    request = typed(raw, BatchRequest)
    for action in request.actions[:MAX_BATCH_ACTIONS]:
        op = BY_BATCH_ACTION.get(action.type)
        if op is None:
            break
        authenticate(action.data, op, _NO_CLOCK, _ANY_PROFILE, check)
