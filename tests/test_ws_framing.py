"""A push is written to every subscriber as one pre-framed byte string (server/wsprotocol.py
frames it once); those bytes must be exactly the frame websockets itself would write, at each
length encoding of RFC 6455 (7-bit, 16-bit and 64-bit lengths)."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from tidepool.server.wsprotocol import _text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_a_push_is_framed_exactly_as_websockets_frames_text(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    assert _text_frame(data) == Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
