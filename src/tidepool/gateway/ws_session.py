"""One WebSocket connection's outgoing side: replies and pushes, in order, never waiting.

`Session` is that side as the session logic (gateway/websocket.py) and the channels
(gateway/ws_fanout.py) see it: `offer(frame)` with already-encoded JSON, `close(code, reason)`
from the server's side, `ended()` when the client went away, and `closing`, which resolves once:
with (code, reason) when the server closes the connection, with None when the client went away.

`SocketSession` is the session of a socket held by this process (the single-process layout,
and each gateway worker process of `--workers N`). When nothing is queued and the transport
takes more (`Link.writable`), a frame is written at once, with no task switch; otherwise it
joins a bounded queue that the session's writer task drains as the transport drains. A session
whose queue is full is closed with code 1008 `slow consumer` (spec A10): whoever offered the
frame never waits, so one slow client never delays the engine, other clients or REST answers.
Memory per session is bounded by the transport's high-water mark plus `max_pending` frames.
It also closes its connection with 1000 when the client has sent nothing for `idle_s`, and after
`lifetime_s` in any case (spec A10): both are about the socket, so they live where it is.

In the engine process of `--workers N` the session logic's sessions are `RemoteSession`s
(server/wsremote.py), which pass each frame to the worker holding the socket.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

# The ASGI scope extension under which the server's WebSocket protocol offers its Link
# (server/wsprotocol.py).
LINK_EXTENSION = "tidepool.link"

Close = tuple[int, str] | None


class Link(Protocol):
    """What the server's WebSocket protocol offers a session beyond ASGI."""

    last_heard: float  # loop time of the last bytes received from the client
    writable: asyncio.Event  # cleared while the transport's buffer is above its high-water mark

    def send_frame(self, data: bytes) -> None:
        """Write one text frame of encoded JSON now (dropped once the connection is closing)."""


class Session(Protocol):
    """The outgoing side of one connection, wherever its socket is."""

    @property
    def closing(self) -> asyncio.Future[Close]: ...

    def offer(self, frame: bytes) -> None:
        """Send one encoded frame after those offered before; never waits, never raises."""

    def close(self, code: int, reason: str) -> None:
        """Close from the server's side (idle, slow consumer, lifetime); the first reason wins."""

    def ended(self) -> None:
        """The client closed the connection or went away."""


class SocketSession:
    def __init__(self, link: Link, max_pending: int, idle_s: float, lifetime_s: float) -> None:
        self._link = link
        self._max = max_pending
        self._idle_s = idle_s
        self._pending: deque[bytes] = deque()
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._closing: asyncio.Future[Close] = loop.create_future()
        self._writer = loop.create_task(self._write())
        self._idle = loop.call_later(idle_s, self._check_idle)
        self._lifetime = loop.call_later(
            lifetime_s, self.close, 1000, "connection lifetime reached"
        )

    @property
    def closing(self) -> asyncio.Future[Close]:
        return self._closing

    def offer(self, frame: bytes) -> None:
        if self._closing.done():
            return
        if not self._pending and self._link.writable.is_set():
            self._link.send_frame(frame)
            return
        if len(self._pending) >= self._max:
            self.close(1008, "slow consumer")
            return
        self._pending.append(frame)
        self._wake.set()

    def close(self, code: int, reason: str) -> None:
        self._end((code, reason))

    def ended(self) -> None:
        self._end(None)

    def _end(self, close: Close) -> None:
        if not self._closing.done():
            self._closing.set_result(close)
            self._pending.clear()
            self._writer.cancel()
            self._idle.cancel()
            self._lifetime.cancel()

    def _check_idle(self) -> None:
        quiet = self._loop.time() - self._link.last_heard
        if quiet >= self._idle_s:
            self.close(1000, f"nothing received for {self._idle_s:g} s")
        else:
            self._idle = self._loop.call_later(self._idle_s - quiet, self._check_idle)

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._link.writable.wait()
                if self._closing.done():
                    return
                self._link.send_frame(self._pending.popleft())
