"""Helpers for the WebSocket client tests: a cuttable TCP relay and waiting on the mirror."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tidepool.client import WebSocketClient

T = TypeVar("T")


async def eventually(
    ws: WebSocketClient, read: Callable[[], Awaitable[T]], ok: Callable[[T], bool], timeout: float
) -> T:
    """`await read()` until `ok` holds of it, reading again after each change the client sees
    (a push, a reconnect); fails with the last value read after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not ok(value := await read()):
        left = deadline - loop.time()
        if left <= 0:
            raise AssertionError(f"still not as expected after {timeout} s: {value!r}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ws.mirror_changed(), left)
    return value


def now(get: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """`eventually`'s read of a plain value, read anew each time."""

    async def read() -> T:
        return get()

    return read


class Relay:
    """A TCP relay in front of the server. `cut()` drops every connection through it, as a
    network failure would, and refuses new ones until `restore()`; `stall()` keeps the current
    connections open but forwards nothing more on them, as a peer that hangs would."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._open = True
        self._links: list[asyncio.StreamWriter] = []
        self._stalled: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Relay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def cut(self) -> None:
        self._open = False
        for writer in self._links:
            writer.transport.abort()
        self._links.clear()

    def stall(self) -> None:
        self._stalled.update(self._links)

    def restore(self) -> None:
        self._open = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open:
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._links += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if writer in self._stalled:
                    continue
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
