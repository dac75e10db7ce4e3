"""One HTTP request as the route handlers see it, and the parse of its JSON body (bounded in
depth). The same in both process layouts: a gateway worker forwards exactly these fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from tidepool.gateway.accesslog import Trace
from tidepool.gateway.envelope import bad_request
from tidepool.gateway.errors import WireError

API = "/api/v1"

# (public key, signature, message): one ed25519 check that passed.
Triple = tuple[bytes, bytes, bytes]
# The triples a gateway worker process already passed for a request (gateway.preverify).
Verified = frozenset[Triple]


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes
    verified: Verified | None = None  # None: this process verifies for itself
    trace: Trace | None = None  # what the request's log line says (None: no line, e.g. WS)


MAX_JSON_DEPTH = 32  # a batch body is 5 levels deep; Pacifica's bodies never come close


def decode_json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be one JSON object, at most MAX_JSON_DEPTH deep.

    The depth bound keeps every later recursive walk (the signed message's re-serialisation,
    msgspec conversion) far from Python's recursion limit. Counting brackets is one C call per
    kind, and only a body with more brackets than the bound is measured properly."""
    try:
        value = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError as exc:
        raise WireError(bad_request(f"Invalid JSON body: {exc}")) from None
    except RecursionError:  # msgspec's own limit, far deeper than ours
        raise WireError(TOO_DEEP) from None
    if not isinstance(value, dict):
        raise WireError(bad_request("Invalid JSON body: expected a JSON object"))
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise WireError(TOO_DEEP)
    return value


TOO_DEEP = bad_request(f"Invalid JSON body: nested deeper than {MAX_JSON_DEPTH} levels")


def _depth(value: Any) -> int:
    """Nesting depth of decoded JSON, without recursion (the value may be thousands deep)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest
