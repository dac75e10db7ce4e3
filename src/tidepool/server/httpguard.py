"""uvicorn's httptools protocol with the limits a server on a shared port needs.

uvicorn closes a keep-alive connection after `timeout_keep_alive` of silence, but nothing else:
a connection that never sends a byte, or sends its headers one byte at a time, is kept for ever,
and enough of them exhaust the process's file descriptors so no new client gets in. This
protocol adds, per connection:

- a read deadline: the request headers must be complete within HEADER_TIMEOUT_S of the
  connection (or of the first byte of the next request on a kept-alive connection), and the
  body within BODY_TIMEOUT_S of the headers; otherwise the connection is closed, at most
  2 x SWEEP_EVERY_S late (see `GuardedHttpProtocol`). Idle keep-alive connections still close
  after uvicorn's `timeout_keep_alive` (5 s);
- a connection cap: past `max_connections` open connections a new one is answered 503 with the
  error envelope and closed at once, instead of the process running out of descriptors.

The time a request spends in Tidepool itself (the speedbump, a journal fsync) is not limited.

WebSocket: an upgrade goes to `TidepoolWebSocketProtocol` (server/wsprotocol.py), in the single
process and in each gateway worker process alike, after disarming the read deadline (the
connection is no longer HTTP's). It counts against the same connection cap.
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tidepool.gateway.envelope import error
from tidepool.server.wsprotocol import TidepoolWebSocketProtocol

HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 30.0
SWEEP_EVERY_S = 1.0  # a deadline is enforced within this much after it passes
KEEP_ALIVE_S = 5
# A client frame larger than this closes the connection (1009); Pacifica's largest request, a
# batch of 10 signed orders, is a few KiB.
WS_MAX_FRAME_BYTES = 1 << 20
# Descriptors kept back from the connection cap: the journal, snapshot children, worker links,
# the listening socket, logging.
RESERVED_FDS = 64

_BUSY = error(503, "Service unavailable: too many open connections")
_BUSY_BYTES = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"content-length: "
    + str(len(_BUSY.body)).encode()
    + b"\r\nconnection: close\r\n\r\n"
    + _BUSY.body
)


def connection_limit() -> int:
    """Raise the descriptor limit to its hard maximum and return the connection cap it allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return max(16, soft - RESERVED_FDS)


class GuardedHttpProtocol(HttpToolsProtocol):
    """See the module docstring. uvicorn makes one per connection, from the Config.

    Read deadlines cost nothing per request: one sweep a second per process looks at what each
    connection is reading (`_reading`, from the request state uvicorn keeps anyway) and notes
    when it first saw that read; a read still under way `timeout` after that is closed. The
    read's start is known within a sweep, so a deadline is enforced between `timeout` and
    `timeout` + 2 sweeps after it began. Stamping the time in the parser's callbacks instead
    (message begin, headers complete, message complete: three Python overrides with their
    `super()` calls and clock reads) cost 5.5k instructions, ~1 µs, of a ~95 µs signed request
    (bench/server_instructions.py); a timer per request, two `call_later` + `cancel` pairs,
    ~4 µs."""

    max_connections: ClassVar[int] = 1 << 30  # set by http_config from connection_limit()
    _sweeping: ClassVar[set[asyncio.AbstractEventLoop]] = set()  # loops with a sweep scheduled

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The read the last sweep saw under way: (what identifies it, its timeout, its deadline).
        self._seen: tuple[object, float, float] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.write(_BUSY_BYTES)
            transport.close()
            return
        if self.loop not in self._sweeping:
            self._sweeping.add(self.loop)
            self.loop.call_later(SWEEP_EVERY_S, self._sweep)

    def _reading(self) -> tuple[object, float] | None:
        """The read under way, as (an object that changes with every read, its timeout), or
        None while nothing is being read: the server has the request (its time is not
        limited), or the connection idles between requests (uvicorn's keep-alive timer runs
        then, and is cancelled by the first byte of the next request)."""
        cycle = self.cycle  # the last request whose headers were complete; None before any
        if cycle is None or cycle.response_complete:
            if self.timeout_keep_alive_task is not None:
                return None
            # Headers: of the first request (cycle None), or of the one after `cycle`.
            return cycle, HEADER_TIMEOUT_S
        if cycle.more_body:  # headers complete, the body is not
            return cycle, BODY_TIMEOUT_S
        return None

    def _sweep(self) -> None:
        """Close every connection of this process past its read deadline, then again in a
        second; stops when the process has no connections left (the next one restarts it).
        A WebSocket connection is no longer this protocol (uvicorn hands it over to another)."""
        now = self.loop.time()
        for conn in list(self.connections):
            if not isinstance(conn, GuardedHttpProtocol) or conn.transport.is_closing():
                continue
            reading = conn._reading()
            seen = conn._seen
            if reading is None:
                conn._seen = None
            elif seen is None or seen[0] is not reading[0] or seen[1] != reading[1]:
                conn._seen = (*reading, now + reading[1])  # a new read: its deadline from now
            elif now > seen[2]:
                conn.transport.close()
        if self.connections:
            self.loop.call_later(SWEEP_EVERY_S, self._sweep)
        else:
            self._sweeping.discard(self.loop)


def http_config(app: Any) -> uvicorn.Config:
    """uvicorn as every Tidepool HTTP process runs it (the single process and each worker)."""
    GuardedHttpProtocol.max_connections = connection_limit()
    return uvicorn.Config(
        app,
        loop="uvloop",
        http=GuardedHttpProtocol,
        ws=TidepoolWebSocketProtocol,
        ws_max_size=WS_MAX_FRAME_BYTES,
        ws_per_message_deflate=False,
        # No keep-alive pings from the server (Pacifica sends none): a client's pong would count
        # as activity and defeat the idle close, which is what finds a dead peer here.
        ws_ping_interval=None,
        lifespan="on",
        log_level="warning",
        log_config=None,  # uvicorn's lines go through the server's own layout (server.logsetup)
        access_log=False,  # the access line is Tidepool's (gateway.accesslog)
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=5,
        # X-Forwarded-* rewriting is for servers behind a proxy; Tidepool never reads the
        # client address, and the middleware costs an await level on every request.
        proxy_headers=False,
    )
