"""A gateway worker process (`tidepool serve --workers N` starts N of them).

It owns the expensive, stateless part of a request: HTTP parsing (uvicorn + httptools on the
listening socket it shares with the other workers) and the ed25519 checks
(gateway.preverify). Each request then goes over the link to the engine process, which answers
it with the same handlers as a single-process server; the answer's bytes come back unchanged.

WebSocket upgrades to `/ws` are accepted here too, and each frame of them relayed to the engine
process, which runs the session logic (server/wsrelay.py).

The worker holds no exchange state, so it can die and be restarted at any time (its WebSocket
connections close with it; clients reconnect and resubscribe); when the engine process goes
away (the link closes) the worker answers what is in flight with 503, closes its WebSocket
connections with 1011 and exits.

Started by server.workers as `python -m tidepool.server.worker --listen-fd A --link-fd B`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
from collections.abc import Sequence
from typing import Any

import msgspec
import uvicorn

from tidepool.gateway import websocket
from tidepool.gateway.accesslog import Trace
from tidepool.gateway.app import AsgiApp
from tidepool.gateway.envelope import JSON, Response
from tidepool.gateway.preverify import verdicts
from tidepool.server.httpguard import http_config
from tidepool.server.link import (
    ENGINE_GONE,
    READY,
    FrameProtocol,
    LinkRequest,
    LinkResponse,
    ToWorker,
)
from tidepool.server.logsetup import configure_logging
from tidepool.server.wsrelay import WsRelay

log = logging.getLogger("tidepool.worker")

_decode = msgspec.msgpack.Decoder(ToWorker).decode
_ENGINE_GONE_ANSWER = LinkResponse(0, ENGINE_GONE.status, ENGINE_GONE.body, JSON)


class _EngineLink(FrameProtocol):
    def __init__(self, on_lost: asyncio.Event, relay: WsRelay) -> None:
        super().__init__()
        self.pending: dict[int, asyncio.Future[LinkResponse]] = {}
        self._on_lost = on_lost
        self._relay = relay

    def frame_received(self, frame: bytes) -> None:
        message = _decode(frame)
        if not isinstance(message, LinkResponse):
            self._relay.received(message)
            return
        future = self.pending.pop(message.id, None)
        if future is not None and not future.done():
            future.set_result(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for future in self.pending.values():
            if not future.done():
                future.set_result(_ENGINE_GONE_ANSWER)
        self.pending.clear()
        self._relay.engine_gone()
        self._on_lost.set()


class ForwardingApp(AsgiApp):
    def __init__(self, link_sock: socket.socket) -> None:
        super().__init__(on_startup=self._connect)
        self._link_sock = link_sock
        self._link: _EngineLink | None = None
        self._next_id = 0
        self.engine_lost = asyncio.Event()
        self._relay = WsRelay()

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, link = await loop.create_unix_connection(
            lambda: _EngineLink(self.engine_lost, self._relay), sock=self._link_sock
        )
        self._link = link
        link.send(LinkRequest(0, READY, "", b"", b"", frozenset()))

    async def answer(
        self,
        method: str,
        path: str,
        query_string: bytes,
        body: bytes,
        trace: Trace,
        *,
        api_key: str | None,
    ) -> Response:
        link = self._link
        if link is None or link.transport is None:
            return ENGINE_GONE
        verified = verdicts(method, path, body)
        self._next_id += 1
        future: asyncio.Future[LinkResponse] = asyncio.get_running_loop().create_future()
        link.pending[self._next_id] = future
        link.send(LinkRequest(self._next_id, method, path, query_string, body, verified, api_key))
        answer = await future
        trace.account, trace.order_id, trace.auth = answer.account, answer.order_id, answer.auth
        return Response(answer.status, answer.body, answer.headers, answer.content_type)

    async def serve_websocket(
        self, scope: dict[str, Any], receive: websocket.Receive, send: websocket.Send
    ) -> None:
        link = self._link
        if link is None or link.transport is None:
            await websocket.refuse(receive, send, ENGINE_GONE)
            return
        await self._relay.serve(link, scope, receive, send)


class _WorkerServer(uvicorn.Server):
    """Stops when the engine process goes away, so no worker outlives its engine."""

    def __init__(self, config: uvicorn.Config, app: ForwardingApp) -> None:
        super().__init__(config)
        self._app = app

    async def on_tick(self, counter: int) -> bool:
        if self._app.engine_lost.is_set():
            log.warning("engine process went away; worker exiting")
            return True
        return await super().on_tick(counter)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tidepool-worker")
    p.add_argument("--listen-fd", type=int, required=True)
    p.add_argument("--link-fd", type=int, required=True)
    p.add_argument("--log-level", default="info")
    p.add_argument("--log-json", action="store_true")
    args = p.parse_args(argv)
    configure_logging(args.log_level, json=args.log_json)
    listener = socket.socket(fileno=args.listen_fd)
    link_sock = socket.socket(fileno=args.link_fd)
    app = ForwardingApp(link_sock)
    server = _WorkerServer(http_config(app), app)
    server.run(sockets=[listener])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
