"""A gateway worker's WebSocket connections (`tidepool serve --workers N`).

The worker owns the sockets, the engine process owns the state and the session logic
(server/wsremote.py). For each upgrade to `/ws` the worker:

- gives it an id, unique in the worker for its lifetime, and asks the engine process whether to
  accept it (`WsUpgrade`, with its `PF-API-KEY` header: an unknown key is refused with 403, as
  in one process); accepts it with the single process's protocol and limits
  (server/httpguard.py, server/wsprotocol.py), or answers the refusal;
- keeps its `SocketSession` (gateway/ws_session.py): the bounded send queue and the slow-consumer
  close (1008), the idle close and the 24 h lifetime, all of which are about the socket;
- relays every frame the client sends to the engine process (`WsText`), with the verdicts of
  its signatures if it is a trading operation (gateway.preverify: the ed25519 work stays in the
  workers, as for REST), and its end (`WsEnded`);
- writes what the engine process sends (`WsPush`: the same bytes to each connection named) and
  closes a connection when the engine process says so (`WsClose`: 1011 when this worker's
  link fell behind).

When the engine process goes away every connection is closed with 1011 and the worker exits.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tidepool.gateway import api_keys, websocket
from tidepool.gateway.envelope import Response
from tidepool.gateway.preverify import ws_verdicts
from tidepool.gateway.ws_session import SocketSession
from tidepool.server.link import (
    ACCEPTED,
    ENGINE_GONE,
    FrameProtocol,
    WsClose,
    WsEnded,
    WsPush,
    WsText,
    WsUpgrade,
    WsUpgraded,
)

ENGINE_GONE_CLOSE = (1011, "engine process went away")


class WsRelay:
    def __init__(self) -> None:
        self._sockets: dict[int, SocketSession] = {}
        self._upgrading: dict[int, asyncio.Future[Response]] = {}
        self._last_id = 0

    async def serve(
        self,
        link: FrameProtocol,
        scope: dict[str, Any],
        receive: websocket.Receive,
        send: websocket.Send,
    ) -> None:
        """One connection: the upgrade, accepted or refused as the engine process answers, then
        the connection until its close."""
        self._last_id += 1
        conn = self._last_id
        answer = self._upgrading[conn] = asyncio.get_running_loop().create_future()
        link.send(WsUpgrade(conn, api_keys.header_key(scope["headers"])))
        # WsEnded however this ends, even cancelled while waiting for the answer: the engine
        # process may have accepted already (and ignores the end of a refused upgrade).
        try:
            try:
                upgraded = await answer
            finally:
                self._upgrading.pop(conn, None)
            if upgraded.status != ACCEPTED:
                await websocket.refuse(receive, send, upgraded)
                return
            session = await websocket.accept(scope, receive, send)
            self._sockets[conn] = session
            await websocket.run_socket(
                session,
                receive,
                send,
                lambda data: link.send(WsText(conn, data, ws_verdicts(data))),
            )
        finally:
            self._sockets.pop(conn, None)
            link.send(WsEnded(conn))

    def received(self, frame: WsUpgraded | WsPush | WsClose) -> None:
        if isinstance(frame, WsUpgraded):
            answer = self._upgrading.get(frame.conn)
            if answer is not None and not answer.done():
                answer.set_result(Response(frame.status, frame.body))
        elif isinstance(frame, WsPush):
            sockets = self._sockets
            payload = frame.payload
            for conn in frame.conns:
                session = sockets.get(conn)
                if session is not None:  # None: it closed while the push was on its way
                    session.offer(payload)
        else:
            session = self._sockets.get(frame.conn)
            if session is not None:
                session.close(frame.code, frame.reason)

    def engine_gone(self) -> None:
        for answer in self._upgrading.values():
            if not answer.done():
                answer.set_result(ENGINE_GONE)
        for session in tuple(self._sockets.values()):
            session.close(*ENGINE_GONE_CLOSE)
