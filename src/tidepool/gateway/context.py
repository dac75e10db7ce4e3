"""What every route handler needs: the sequencer (and through it the engine), markets, clock,
the signature policy. One instance per server; handlers never hold engine references because
the sequencer may replace its engine after an unexpected failure (rebuild from the journal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from tidepool.domain.errors import Reject
from tidepool.domain.markets import MarketSpec
from tidepool.engine.engine import Engine
from tidepool.gateway.envelope import Response, bad_request, rejected
from tidepool.gateway.verify import ReplayGuard, VerifyPolicy
from tidepool.runtime.clock import Clock
from tidepool.runtime.forkread import ForkedReads
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Sequencer


class WireError(Exception):
    """A request the gateway refuses before it reaches the engine; carries its error envelope."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body.decode())
        self.response = response


class Rejected(WireError):
    """A business rejection found before the engine (an unknown symbol): its 422 envelope, and
    the Reject itself, which a batch reports as that action's result."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(rejected(reject))
        self.reject = reject


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


@dataclass
class Exchange:
    # What every route hands its plain commands to (speedbump, chunking, the sequencer).
    pipeline: Pipeline
    clock: Clock
    markets: dict[str, MarketSpec]
    policy: VerifyPolicy = field(default_factory=VerifyPolicy)
    replay_guard: ReplayGuard | None = None
    forked: ForkedReads = field(default_factory=ForkedReads)

    @property
    def sequencer(self) -> Sequencer:
        return self.pipeline.sequencer

    @property
    def engine(self) -> Engine:
        return self.pipeline.sequencer.engine


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
    except RecursionError:
        value = _TOO_DEEP
    if not isinstance(value, dict):
        if value is _TOO_DEEP:
            raise WireError(_too_deep_answer())
        raise WireError(bad_request("Invalid JSON body: expected a JSON object"))
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise WireError(_too_deep_answer())
    return value


_TOO_DEEP = object()


def _too_deep_answer() -> Response:
    return bad_request(f"Invalid JSON body: nested deeper than {MAX_JSON_DEPTH} levels")


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
