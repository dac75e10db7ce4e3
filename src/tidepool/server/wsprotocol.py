"""uvicorn's sans-I/O `websockets` protocol, with what Tidepool's WebSocket sessions need from it
(gateway/websocket.py reads it as a `Link` from the scope's `tidepool.link` extension):

- `send_frame(data)`: send already-encoded JSON as a text frame. ASGI's `websocket.send` takes a
  `str` and the protocol encodes it again for every connection; a push is encoded once per
  topic and the same bytes go to every subscriber (issue 14), so they are written as they are,
  framed once too: a server's frame is unmasked, so with no extension (deflate is off) its wire
  bytes are the same on every connection, and a push offered to a thousand subscribers in a row
  is framed by the first call (`_text_frame`) and written as it is by the others. Framing per
  connection through websockets' `send_text` cost ~2.5 of 16 µs of server CPU per delivered
  message at 1,000 subscribers (bench/ws_bench.py, perf). It never waits: the session checks
  `writable` (the transport's own backpressure) first.
- `last_heard`: the loop time of the last bytes the client sent (any frame, protocol pings
  included), for the 60 s idle close (spec A10): ASGI does not show pings to the application.

Chosen over uvicorn's legacy `websockets` protocol by measurement (bench/ws_send_cost.py: about
5.0 against 7.5 µs of server CPU per delivered message, 10 and 100 clients); wsproto is not
installed. Per-message deflate is off: pushes are small and compression costs CPU per
subscriber.
"""

from __future__ import annotations

import functools
import socket
import struct
from asyncio import BaseTransport
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

from tidepool.gateway.ws_session import LINK_EXTENSION

SEND_BUFFER_BYTES = 64 * 1024


@functools.lru_cache(maxsize=1)
def _text_frame(data: bytes) -> bytes:
    """One final, unmasked text frame holding `data` (RFC 6455 §5.2): what websockets'
    `send_text` writes for a server connection without extensions."""
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + data


class TidepoolWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_heard = self.loop.time()

    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # A fixed kernel send buffer (Linux grows it up to 4 MiB otherwise): a client that
            # stops reading is found as a slow consumer after ~100 KiB, not megabytes, and a
            # thousand stuck subscribers cannot pin gigabytes of kernel memory.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)

    def data_received(self, data: bytes) -> None:
        self.last_heard = self.loop.time()
        super().data_received(data)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][LINK_EXTENSION] = self

    def send_frame(self, data: bytes) -> None:
        if self.disconnected or self.conn.state is not State.OPEN or self.transport.is_closing():
            return
        if self.conn.extensions:  # none is ever negotiated while deflate is off
            self.conn.send_text(data)
            self.transport.write(b"".join(self.conn.data_to_send()))
        else:
            self.transport.write(_text_frame(data))
