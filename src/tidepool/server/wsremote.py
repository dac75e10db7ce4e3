"""The engine process's side of the WebSocket connections a gateway worker holds
(`tidepool serve --workers N`).

The worker keeps the socket (server/wsrelay.py) and accepts the upgrade once this process has
(a `PF-API-KEY` header must name an active key, as in one process); this process runs the one
session logic, gateway/websocket.py's `Connection`, for each of them, over a
`RemoteSession`: what the logic and the channels offer goes to the worker as a `WsPush`
(server/link.py), and the worker writes it to the socket through the socket's own bounded
queue, which is where a slow consumer is found and closed. So subscriptions, acks, trading
operations, pings and channels behave exactly as in one process, and the engine process's
channels fan out to every worker's connections at once.
"""

from __future__ import annotations

import asyncio
import logging

from tidepool.gateway import websocket
from tidepool.gateway.app import GatewayApp
from tidepool.gateway.websocket import Connection
from tidepool.gateway.ws_session import Close
from tidepool.server.link import (
    ACCEPTED,
    FrameProtocol,
    WsClose,
    WsEnded,
    WsText,
    WsUpgrade,
    WsUpgraded,
)

log = logging.getLogger("tidepool.workers")


class RemoteSession:
    """A `Session` whose socket is in a worker process, reached over `link` as `conn`."""

    def __init__(self, link: FrameProtocol, conn: int) -> None:
        self._link = link
        self._conn = conn
        self._closing: asyncio.Future[Close] = asyncio.get_running_loop().create_future()

    @property
    def closing(self) -> asyncio.Future[Close]:
        return self._closing

    def offer(self, frame: bytes) -> None:
        if not self._closing.done():
            self._link.push(self._conn, frame)

    def close(self, code: int, reason: str) -> None:
        if not self._closing.done():
            self._closing.set_result((code, reason))
            self._link.send(WsClose(self._conn, code, reason))

    def ended(self) -> None:
        if not self._closing.done():
            self._closing.set_result(None)


class RemoteConnections:
    """The connections of one worker, by the id it gave them, each running the session logic
    of `app` (GatewayApp.ws_connection)."""

    def __init__(self, link: FrameProtocol, app: GatewayApp) -> None:
        self._link = link
        self._app = app
        self._open: dict[int, Connection] = {}

    def received(self, frame: WsUpgrade | WsText | WsEnded) -> None:
        conn = frame.conn
        if isinstance(frame, WsText):
            connection = self._open.get(conn)
            if connection is not None:  # None: closed here, and the worker did not know yet
                connection.handle(frame.data, frame.verified)
        elif isinstance(frame, WsUpgrade):
            refusal = websocket.upgrade_refusal(self._app.exchange, frame.api_key)
            if refusal is not None:
                self._link.send(WsUpgraded(conn, refusal.status, refusal.body))
                return
            session = RemoteSession(self._link, conn)
            self._open[conn] = self._app.ws_connection(session, frame.api_key)
            session.closing.add_done_callback(lambda _: self._open.pop(conn, None))
            self._link.send(WsUpgraded(conn, ACCEPTED, b""))
        else:
            connection = self._open.get(conn)
            if connection is not None:
                connection.session.ended()

    def close_all(self, code: int, reason: str) -> None:
        """Close every connection of the worker from this side (it fell behind)."""
        for connection in tuple(self._open.values()):
            connection.session.close(code, reason)

    def worker_gone(self) -> None:
        """The worker died: its sockets are gone, and with them its connections."""
        if self._open:
            log.warning("worker link lost with %d WebSocket connections", len(self._open))
        for connection in tuple(self._open.values()):
            connection.session.ended()
