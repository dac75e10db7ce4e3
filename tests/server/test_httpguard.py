"""The HTTP read deadlines (server/httpguard.py) on a real uvicorn server in this process, with
deadlines of a fraction of a second: a read that stalls is cut, the server's own time and an
idle kept-alive connection are not."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn

from tidepool.server import httpguard

DEADLINE_S = 0.3
# Far beyond a deadline plus two sweeps, so a loaded machine never makes a test fail.
PATIENCE_S = 20.0
SLOW_ANSWER_S = 1.2  # longer than a deadline plus two sweeps

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def _app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:  # the whole body, as Tidepool's app reads it
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["path"] == "/slow":
        await asyncio.sleep(SLOW_ANSWER_S)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(autouse=True)
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpguard, "HEADER_TIMEOUT_S", DEADLINE_S)
    monkeypatch.setattr(httpguard, "BODY_TIMEOUT_S", DEADLINE_S)
    monkeypatch.setattr(httpguard, "SWEEP_EVERY_S", 0.1)


def _against_server(scenario: Callable[[int], Awaitable[None]]) -> None:
    """Run `scenario(port)` against a server with the short deadlines, in one event loop."""

    async def main() -> None:
        config = httpguard.http_config(_app)
        config.lifespan = "off"
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                await asyncio.sleep(0.01)
            await scenario(sock.getsockname()[1])
        finally:
            server.should_exit = True
            await serving
            sock.close()

    asyncio.run(main())


def _post(path: str, body: bytes) -> tuple[bytes, bytes]:
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    return head, body


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server closes the connection (without answering), False if it answers."""
    data = await asyncio.wait_for(reader.read(65536), PATIENCE_S)
    return data == b""


async def _answer(reader: asyncio.StreamReader) -> bytes:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PATIENCE_S)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return await asyncio.wait_for(reader.readexactly(length), PATIENCE_S)


def test_a_connection_that_never_completes_its_headers_is_closed() -> None:
    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /x HTTP/1.1\r\nHost: t\r\n")
        assert await _closed_by_server(reader)
        writer.close()

    _against_server(scenario)


def test_a_connection_that_never_sends_a_byte_is_closed() -> None:
    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await _closed_by_server(reader)
        writer.close()

    _against_server(scenario)


def test_a_body_that_never_completes_is_cut() -> None:
    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head, body = _post("/x", b'{"a":1}')
        writer.write(head + body[:3])
        assert await _closed_by_server(reader)
        writer.close()

    _against_server(scenario)


def test_the_next_request_on_a_kept_alive_connection_gets_its_own_header_deadline() -> None:
    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head, body = _post("/x", b'{"a":1}')
        writer.write(head + body)
        assert await _answer(reader) == body
        writer.write(head[:10])
        assert await _closed_by_server(reader)
        writer.close()

    _against_server(scenario)


def test_a_slow_answer_and_an_idle_kept_alive_connection_are_not_cut() -> None:
    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        head, body = _post("/slow", b'{"a":1}')
        writer.write(head + body)
        assert await _answer(reader) == body  # the server's own time is not limited
        # Idle between requests for longer than a read deadline: uvicorn's keep-alive (5 s) rules.
        await asyncio.sleep(SLOW_ANSWER_S)
        head, body = _post("/x", b'{"b":2}')
        writer.write(head + body)
        assert await _answer(reader) == body
        writer.close()

    _against_server(scenario)
