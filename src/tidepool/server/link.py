"""The link between a gateway worker process and the engine process: one Unix stream socket
(a socketpair made by the engine process), carrying length-prefixed msgpack frames.

worker -> engine: `LinkRequest` (an HTTP request plus the signature verdicts of
gateway.preverify, and its `PF-API-KEY` header); engine -> worker: `LinkResponse` (status, body
and extra headers, ready to send).
Frames are queued and written once per event-loop turn, so a burst of requests or answers costs
one system call, not one each: under load that batching is most of the link's saving.
"""

from __future__ import annotations

import asyncio
import struct
from typing import cast

import msgspec

from tidepool.gateway.request import Verified

READY = "READY"  # the method of the one frame a worker sends once it accepts connections

_LENGTH = struct.Struct("<I")


class LinkRequest(msgspec.Struct, array_like=True, frozen=True):
    id: int
    method: str
    path: str
    query: bytes
    body: bytes
    verified: Verified
    api_key: str | None = None


class LinkResponse(msgspec.Struct, array_like=True, frozen=True):
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


_encode = msgspec.msgpack.Encoder().encode


class FrameProtocol(asyncio.Protocol):
    """Frames in (`frame_received`, given the raw msgpack bytes) and out (`send`)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._outgoing: list[bytes] = []

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
        payload = _encode(message)
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(_LENGTH.pack(len(payload)))
        self._outgoing.append(payload)

    def _flush(self) -> None:
        data = b"".join(self._outgoing)
        self._outgoing.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
