"""The link between a gateway worker process and the engine process: one Unix stream socket
(a socketpair made by the engine process), carrying length-prefixed msgpack frames.

worker -> engine: `LinkRequest` (an HTTP request plus the signature verdicts of
gateway.preverify, and its `PF-API-KEY` header); engine -> worker: `LinkResponse` (status, body
and extra headers, ready to send).
Frames are queued and written once per event-loop turn, so a burst of requests or answers costs
one system call, not one each: under load that batching is most of the link's saving.

WebSocket connections (held by the worker, served by the session logic in the engine process;
server/wsrelay.py, server/wsremote.py), each named by an id the worker gives it:
worker -> engine: `WsUpgrade` (an upgrade to accept or refuse, with its `PF-API-KEY` header),
`WsText` (a frame from the client), `WsEnded` (the socket closed);
engine -> worker: `WsUpgraded` (101: accept; else the refusal to answer), `WsPush` (encoded JSON
for one or more connections), `WsClose` (close one with a code and reason). A fan-out offers the
same bytes to each subscriber in turn; `push` appends a connection to the frame queued just
before it when that frame carries the same bytes, so one push costs one frame per worker,
however many of its connections subscribed.

Every frame is a msgpack array whose first item is its kind (the `tag` below).
"""

from __future__ import annotations

import asyncio
import struct
from typing import cast

import msgspec

from tidepool.gateway.envelope import error
from tidepool.gateway.request import Verified

READY = "READY"  # the method of the one frame a worker sends once it accepts connections
ACCEPTED = 101  # the status of a WsUpgraded that accepts the upgrade (101 Switching Protocols)
# What a worker answers, HTTP or upgrade, while it has no engine process to ask.
ENGINE_GONE = error(503, "Tidepool engine process is not available")

_LENGTH = struct.Struct("<I")


class LinkRequest(msgspec.Struct, array_like=True, frozen=True, tag=0):
    id: int
    method: str
    path: str
    query: bytes
    body: bytes
    verified: Verified
    api_key: str | None = None


class LinkResponse(msgspec.Struct, array_like=True, frozen=True, tag=1):
    id: int
    status: int
    body: bytes
    content_type: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    # The request's log line is written by the worker (gateway.accesslog): what the engine
    # process learnt of it comes back with the answer.
    account: str | None = None
    order_id: int | None = None
    auth: dict[str, str] | None = None


class WsUpgrade(msgspec.Struct, array_like=True, frozen=True, tag=2):
    conn: int
    api_key: str | None


class WsUpgraded(msgspec.Struct, array_like=True, frozen=True, tag=7):
    conn: int
    status: int  # ACCEPTED, or the status of the refusal in `body`
    body: bytes


class WsText(msgspec.Struct, array_like=True, frozen=True, tag=3):
    conn: int
    data: bytes
    verified: Verified  # of a trading operation: gateway.preverify.ws_verdicts


class WsEnded(msgspec.Struct, array_like=True, frozen=True, tag=4):
    conn: int


class WsPush(msgspec.Struct, array_like=True, frozen=True, tag=5):
    conns: list[int]  # grows while the frame is queued (FrameProtocol.push)
    payload: bytes


class WsClose(msgspec.Struct, array_like=True, frozen=True, tag=6):
    conn: int
    code: int
    reason: str


ToEngine = LinkRequest | WsUpgrade | WsText | WsEnded
ToWorker = LinkResponse | WsUpgraded | WsPush | WsClose

_encoder = msgspec.msgpack.Encoder()
_HEADER = bytes(_LENGTH.size)


class FrameProtocol(asyncio.Protocol):
    """Frames in (`frame_received`, given the raw msgpack bytes) and out (`send`)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._outgoing: list[msgspec.Struct] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        end = len(buffer)
        while end - start >= 4:
            (size,) = _LENGTH.unpack_from(buffer, start)
            if end - start - 4 < size:
                break
            frame = bytes(buffer[start + 4 : start + 4 + size])
            start += 4 + size
            self.frame_received(frame)
        del buffer[:start]

    def frame_received(self, frame: bytes) -> None:
        raise NotImplementedError

    def send(self, message: msgspec.Struct) -> None:
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(message)

    def push(self, conn: int, payload: bytes) -> None:
        """Send `payload` to WebSocket connection `conn`: in the frame queued last if that one
        carries the very same bytes object (a fan-out in progress), else in a new frame. Only
        the last frame may take it: the connection's earlier frames stay before it."""
        outgoing = self._outgoing
        if outgoing:
            last = outgoing[-1]
            if type(last) is WsPush and last.payload is payload:
                last.conns.append(conn)
                return
        self.send(WsPush([conn], payload))

    def _flush(self) -> None:
        # Encoded now rather than in send(): a queued WsPush may still have grown.
        data = bytearray()
        for message in self._outgoing:
            start = len(data)
            data += _HEADER
            _encoder.encode_into(message, data, -1)
            _LENGTH.pack_into(data, start, len(data) - start - _LENGTH.size)
        self._outgoing.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
