"""One log line per HTTP request, written where the request is answered to its client.

The line says: method, path, status, milliseconds, account, order id and request id, and
(`--explain-auth`) why a signature was refused. It is written by the process that holds the
client's connection, after the answer is sent (gateway.app `AsgiApp`): the single process, or
with `--workers N` the gateway worker that received the request; the engine process, which
computed the answer, fills in the `Trace` and sends it back with it (server.link), and writes no
line of its own, so each request has exactly one.

Request ids: a client's `x-request-id` header is kept (visible ASCII, at most 128 bytes; else
replaced), or one is made: a random prefix per process and a counter, unique across the
processes of a server without a lock or a uuid per request. The answer echoes it in
`x-request-id`.

The record goes to the `tidepool.access` logger at INFO; its text is the human line, and its
`fields` attribute the same values for the JSON layout (server.logsetup). Measured per line,
stdlib logging costs about the same as structlog for JSON (8-12 µs against 12-19 µs) and half
for text, so the stdlib it is: no dependency, one logging tree for uvicorn's lines and ours.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tidepool.access")

_VALID_ID = re.compile(rb"[\x21-\x7e]{1,128}")
_PREFIX = os.urandom(4).hex().encode()
_counter = itertools.count(1)
REQUEST_ID_HEADER = b"x-request-id"


@dataclass(slots=True)
class Trace:
    """What a request's log line says beyond method, path and status: filled in by the handlers
    that learn it (gateway.signed, gateway.app)."""

    request_id: bytes
    account: str | None = None
    order_id: int | None = None
    auth: dict[str, str] | None = None  # --explain-auth: why the signature was refused


def request_id(given: bytes | None) -> bytes:
    """The client's x-request-id (`given`: the header's value, None without one) when it is
    usable, else a new one."""
    if given is not None and _VALID_ID.fullmatch(given):
        return given
    return b"%b-%x" % (_PREFIX, next(_counter))


def enabled() -> bool:
    return log.isEnabledFor(logging.INFO)


def write(method: str, path: str, status: int, seconds: float, trace: Trace) -> None:
    ms = round(seconds * 1000, 3)
    rid = trace.request_id.decode("ascii", "replace")
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "ms": ms,
        "account": trace.account,
        "order_id": trace.order_id,
        "request_id": rid,
    }
    text = f"{method} {path} {status} {ms:.2f}ms"
    if trace.account is not None:
        text += f" account={trace.account}"
    if trace.order_id is not None:
        text += f" order_id={trace.order_id}"
    text += f" request_id={rid}"
    if trace.auth is not None:
        fields["auth"] = trace.auth
        text += "".join(f" auth.{key}={value!r}" for key, value in trace.auth.items())
    log.info(text, extra={"fields": fields})
