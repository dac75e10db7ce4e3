"""API config keys at the gateway (spec §3.7, A11): new keys, the `PF-API-KEY` header, and the
admission of a request that carries one.

- A new key looks like Pacifica's, `{8-char prefix}_{base58}`: the prefix is the first eight
  characters of the account's address, the rest base58 of 16 random bytes (`secrets`). It is
  drawn here, once, and carried in the journaled command, so replay restores the same key.
- `PF-API-KEY` is read on every REST request and on the WebSocket upgrade. A key that is not an
  active key of some account (unknown or revoked) is refused with 403, on REST in the envelope,
  on the upgrade as its HTTP answer, on an open WebSocket (revoked meanwhile) as code 403.
- A request with a valid key is charged to the key's account (gateway.ratelimit). Over the
  quota it is refused with 429 and changes nothing; with a quota configured every answer
  reports the account's usage: REST in headers, WebSocket replies in `rl`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import NamedTuple

import base58

from tidepool.domain.errors import Reject
from tidepool.engine.apikeys import API_KEY_LIMIT
from tidepool.gateway.envelope import Response, ok
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.ratelimit import WINDOW_MS, Usage, cost_of
from tidepool.pacifica.requests import EmptyPayloadRequest

HEADER = b"pf-api-key"  # ASGI gives header names lower-cased
INVALID_KEY = Reject(403, "Invalid API key: unknown or revoked", 403, "invalid_api_key")
RATE_LIMITED = Reject(429, "Rate limit exceeded", 429, "rate_limit_exceeded")


def new_api_key(account: str) -> str:
    return f"{account[:8]}_{base58.b58encode(secrets.token_bytes(16)).decode()}"


def header_key(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The `PF-API-KEY` header's key; None when absent or empty."""
    for name, value in headers:
        if name == HEADER:
            return key_of(value)
    return None


def key_of(value: bytes) -> str | None:
    """The key a `PF-API-KEY` header's value names; None when empty (an empty value names no
    key, as a client that has none yet may send it)."""
    return value.decode("latin-1").strip() or None


def list_api_keys(ex: Exchange, body: EmptyPayloadRequest) -> Response:
    """`{"active_api_keys": [...], "api_key_limit": 5}`, oldest key first (spec §3.7)."""
    return ok({"active_api_keys": ex.engine.api_keys(body.account), "api_key_limit": API_KEY_LIMIT})


class Admission(NamedTuple):
    """`refusal`: why the request is not served (403 bad key, 429 over quota), else None;
    `usage`: what the answer reports (None without a quota, or with a bad key)."""

    refusal: Reject | None
    usage: Usage | None


def admit(ex: Exchange, api_key: str, op_type: str | None) -> Admission:
    """Check the key and charge its account for one request of `op_type` (None: not a signed
    operation, e.g. a GET)."""
    account = ex.engine.api_key_owner(api_key)
    if account is None:
        return Admission(INVALID_KEY, None)
    admitted, usage = ex.meter.charge(account, cost_of(op_type), ex.clock.now_ms())
    return Admission(None if admitted else RATE_LIMITED, usage)


def rest_headers(usage: Usage) -> tuple[tuple[bytes, bytes], ...]:
    """`x-ratelimit-*` (A11), and the same numbers in Pacifica's own two headers (§3.7)."""
    r, q, t = (str(n).encode() for n in usage)
    window = str(WINDOW_MS // 1000).encode()
    return (
        (b"x-ratelimit-remaining", r),
        (b"x-ratelimit-limit", q),
        (b"x-ratelimit-reset", t),
        (b"ratelimit", b'"credits";r=' + r + b";t=" + t),
        (b"ratelimit-policy", b'"credits";q=' + q + b";w=" + window),
    )


def ws_rl(usage: Usage) -> dict[str, int]:
    """A WebSocket reply's `rl` (spec §5.4)."""
    return {"r": usage.remaining, "q": usage.quota, "t": usage.reset_s}
