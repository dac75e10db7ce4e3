"""`ws://HOST:PORT/ws`: one WebSocket connection, from accept to close (spec §5, A8–A10).

A connection reads frames in one task and never waits on what they ask for:
- `{"method": "ping"}` → `{"channel": "pong"}`; protocol pings are answered by the server's
  protocol itself;
- `{"method": "subscribe" | "unsubscribe", "params": {"source", ...}}` → the ack of A8 (the
  unsubscribe ack also nests the params under `data.data`, where ccxt.pro reads them), or
  `{"channel": "error", "data": {"message", "params"}}`; subscribing twice keeps one stream;
- `{"id", "params": {"<op>": {...}}}` → a trading operation, run in its own task
  (gateway/ws_trading.py), so a create waiting in the speedbump holds up nothing else, exactly
  like concurrent REST requests;
- anything else (not JSON, Hummingbot's `{"op": "ping"}`, unknown methods) is ignored.

An upgrade with a `PF-API-KEY` header that names no active key is refused with 403; with a valid
key, every trading reply is charged to the key's account and carries `rl` when a quota is set
(gateway.api_keys).

The server closes a connection with code 1000 when the client has sent nothing (no frame, no
protocol ping) for IDLE_CLOSE_S, and after MAX_LIFETIME_S in any case, as Pacifica does; with 1008
`slow consumer` when it does not read what it is sent (gateway/ws_session.py). The server sends
no keep-alive pings of its own: a dead peer is found by the idle close.

Two halves, so that both process layouts run the same code: the socket's (`accept`, `run_socket`:
a `SocketSession` and the frames read from the client) and the session logic's (`Connection`:
what a frame asks for, the channels it joined), which only sees a `Session`. One process runs
both (`serve`); with `--workers N` the worker holding the socket runs the first and relays each
frame to the engine process, which runs the second over a `RemoteSession`
(server/wsrelay.py, server/wsremote.py).

The environment variables TIDEPOOL_WS_IDLE_S and TIDEPOOL_WS_SEND_QUEUE override the idle time
and the send queue's length (frames), for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

from tidepool.gateway import api_keys, ws_trading
from tidepool.gateway.envelope import Response, rejected
from tidepool.gateway.errors import WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.request import Verified, decode_json_object
from tidepool.gateway.ws_channels import InvalidParams, channel_key, open_channel
from tidepool.gateway.ws_fanout import ChannelKey, Hub, encoder
from tidepool.gateway.ws_session import LINK_EXTENSION, Link, Session, SocketSession

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

PATH = "/ws"
IDLE_CLOSE_S = float(os.environ.get("TIDEPOOL_WS_IDLE_S", "60"))
MAX_LIFETIME_S = 24 * 3600.0
SEND_QUEUE_FRAMES = int(os.environ.get("TIDEPOOL_WS_SEND_QUEUE", "4096"))

_PONG = encoder.encode({"channel": "pong"})


def hub(ex: Exchange) -> Hub:
    return Hub(ex, open_channel)


async def refuse(receive: Receive, send: Send, response: Response) -> None:
    """Answer an upgrade with a plain HTTP response (the error envelope) instead of accepting."""
    await receive()  # websocket.connect
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(response.body)).encode()),
    ]
    start = {"type": "websocket.http.response.start", "status": response.status}
    await send({**start, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": response.body})


async def serve(
    ex: Exchange, hub: Hub, scope: dict[str, Any], receive: Receive, send: Send
) -> None:
    """A connection whose socket and session logic are both in this process."""
    api_key = api_keys.header_key(scope["headers"])
    refusal = upgrade_refusal(ex, api_key)
    if refusal is not None:
        await refuse(receive, send, refusal)
        return
    session = await accept(scope, receive, send)
    await run_socket(session, receive, send, Connection(ex, hub, session, api_key).handle)


def upgrade_refusal(ex: Exchange, api_key: str | None) -> Response | None:
    """Why an upgrade with this `PF-API-KEY` header (None: without one) is refused, if it is."""
    if api_key is not None and ex.engine.api_key_owner(api_key) is None:
        return rejected(api_keys.INVALID_KEY)
    return None


async def accept(scope: dict[str, Any], receive: Receive, send: Send) -> SocketSession:
    """Accept the upgrade; the session of its socket."""
    link: Link = scope["extensions"][LINK_EXTENSION]
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    return SocketSession(link, SEND_QUEUE_FRAMES, IDLE_CLOSE_S, MAX_LIFETIME_S)


async def run_socket(
    session: SocketSession, receive: Receive, send: Send, on_frame: Callable[[bytes], None]
) -> None:
    """Give every frame the client sends to `on_frame` until the session closes, then send
    the server's close frame if the server closed it."""
    reader = asyncio.get_running_loop().create_task(_read(receive, session, on_frame))
    try:
        close = await session.closing
    finally:
        reader.cancel()
        session.ended()
    if close is not None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "websocket.close", "code": close[0], "reason": close[1]})


async def _read(
    receive: Receive, session: SocketSession, on_frame: Callable[[bytes], None]
) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            session.ended()
            return
        text = message.get("text")
        on_frame(text.encode() if text is not None else message.get("bytes") or b"")


class Connection:
    """The session logic of one connection. It leaves its channels once its session closes;
    operations still running then finish (their commands are the client's, as over REST), and
    their replies go nowhere."""

    def __init__(self, ex: Exchange, hub: Hub, session: Session, api_key: str | None) -> None:
        self.ex = ex
        self.api_key = api_key
        self.hub = hub
        self.session = session
        self.channels: set[ChannelKey] = set()
        self.operations: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        session.closing.add_done_callback(self._stop)
        ex.stats.ws_connections += 1  # counted where the sessions run: one scrape sees all

    def _stop(self, _: object) -> None:
        self.ex.stats.ws_connections -= 1
        self.ex.stats.ws_subscriptions -= len(self.channels)
        for key in self.channels:
            self.hub.leave(key, self.session)
        self.channels.clear()

    def handle(self, data: bytes, verified: Verified | None = None) -> None:
        """One frame from the client. `verified`: the signature verdicts of the gateway worker
        process holding the socket (gateway.preverify.ws_verdicts); None: verify here."""
        if self.session.closing.done():
            return  # a frame that was on its way when the connection closed
        try:
            frame = decode_json_object(data)
        except WireError:
            return  # not a JSON object: ignored, like every frame not understood (spec A10)
        method = frame.get("method")
        if method == "ping":
            self.session.offer(_PONG)
        elif method == "subscribe" or method == "unsubscribe":
            self.subscription(method, frame.get("params"))
        elif method is None and "params" in frame:
            task = self._loop.create_task(self.trade(frame, verified))
            self.operations.add(task)
            task.add_done_callback(self.operations.discard)

    def subscription(self, method: str, params: Any) -> None:
        try:
            key = channel_key(self.ex, params)
        except InvalidParams as exc:
            error = {"channel": "error", "data": {"message": str(exc), "params": params}}
            self.session.offer(encoder.encode(error))
            return
        if method == "subscribe":
            # The ack first, then what the channel sends at once (the book's snapshot).
            self.session.offer(encoder.encode({"channel": "subscribe", "data": params}))
            if key not in self.channels:
                self.channels.add(key)
                self.ex.stats.ws_subscriptions += 1
            self.hub.join(key, self.session)
        else:
            if key in self.channels:
                self.channels.discard(key)
                self.ex.stats.ws_subscriptions -= 1
                self.hub.leave(key, self.session)
            ack = {"channel": "unsubscribe", "data": {**params, "data": params}}
            self.session.offer(encoder.encode(ack))

    async def trade(self, frame: dict[str, Any], verified: Verified | None) -> None:
        self.session.offer(await ws_trading.answer(self.ex, frame, self.api_key, verified))
