"""One WebSocket connection's outgoing side: replies and pushes, in order, never waiting.

Everything a session sends goes through `offer(frame)` with already-encoded JSON. When nothing
is queued and the transport takes more (`Link.writable`), the frame is written at once, with no
task switch; otherwise it joins a bounded queue that the session's writer task drains as the
transport drains. A session whose queue is full is closed with code 1008 `slow consumer`
(spec A10): the fan-out that offered the frame never waits, so one slow client never delays the
engine, other clients or REST answers. Memory per session is bounded by the transport's
high-water mark plus `max_pending` frames.

`closing` resolves once: with (code, reason) when the server closes the connection, with None
when the client went away. The connection handler (gateway/websocket.py) waits on it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

# The ASGI scope extension under which the server's WebSocket protocol offers its Link
# (server/wsprotocol.py).
LINK_EXTENSION = "tidepool.link"


class Link(Protocol):
    """What the server's WebSocket protocol offers a session beyond ASGI."""

    last_heard: float  # loop time of the last bytes received from the client
    writable: asyncio.Event  # cleared while the transport's buffer is above its high-water mark

    def send_frame(self, data: bytes) -> None:
        """Write one text frame of encoded JSON now (dropped once the connection is closing)."""


Close = tuple[int, str] | None


class Session:
    def __init__(self, link: Link, max_pending: int) -> None:
        self._link = link
        self._max = max_pending
        self._pending: deque[bytes] = deque()
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.closing: asyncio.Future[Close] = loop.create_future()
        self._writer = loop.create_task(self._write())

    @property
    def open(self) -> bool:
        return not self.closing.done()

    def offer(self, frame: bytes) -> None:
        if self.closing.done():
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
        """Close from the server's side (idle, slow consumer, lifetime); the first reason wins."""
        self._end((code, reason))

    def ended(self) -> None:
        """The client closed the connection or went away."""
        self._end(None)

    def _end(self, close: Close) -> None:
        if not self.closing.done():
            self.closing.set_result(close)
            self._pending.clear()
            self._writer.cancel()

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._link.writable.wait()
                if self.closing.done():
                    return
                self._link.send_frame(self._pending.popleft())
