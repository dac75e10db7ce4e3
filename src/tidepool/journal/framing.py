"""Journal record framing: one Command per record, length-prefixed and checksummed.

Layout of a record (little endian):
    u32 length   bytes of payload, 1..MAX_RECORD_BYTES
    u32 crc      zlib.crc32 over the 4 length bytes, then the payload
    payload      msgspec msgpack of the Command union (tagged struct)

Invariants:
- The checksum covers the length field too, so a flipped bit in a length is caught as a bad
  record rather than read as a shorter record.
- A scan stops at the first record that does not parse (short header, implausible length,
  payload past the end of the data, bad checksum, undecodable payload). It never skips a bad
  record; it only reports where the damage is and whether a valid record exists after it,
  which is what tells a torn last write from corruption in the middle.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from tidepool.engine.commands import Command

HEADER = struct.Struct("<II")
MAX_RECORD_BYTES = 1 << 20  # commands are well under 1 KiB; anything larger is garbage

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[Command] = msgspec.msgpack.Decoder(Command)
# crc32 of the 4 length bytes, per length: the checksum of a record is then one crc32 call
# continuing from it over the payload (a few hundred distinct lengths at most).
_LENGTH_CRCS: dict[int, int] = {}


def encode_record(cmd: Command) -> bytes:
    payload = _encoder.encode(cmd)
    length = len(payload)
    crc = zlib.crc32(payload, zlib.crc32(length.to_bytes(4, "little")))
    return HEADER.pack(length, crc) + payload


@dataclass(frozen=True)
class Damage:
    """Where a scan stopped, why, and the offset of a valid record after it (None if none)."""

    offset: int
    reason: str
    valid_record_after: int | None


def _parse_at(data: memoryview, offset: int) -> tuple[Command, int] | str:
    """The record at `offset` and the offset after it, or why there is no valid record there."""
    size = len(data)
    if size - offset < HEADER.size:
        return f"short record header ({size - offset} of {HEADER.size} bytes)"
    length, crc = HEADER.unpack_from(data, offset)
    if length == 0 or length > MAX_RECORD_BYTES:
        return f"implausible record length {length}"
    end = offset + HEADER.size + length
    if end > size:
        return f"record of {length} bytes runs {end - size} bytes past the end of the file"
    payload = data[offset + HEADER.size : end]
    if zlib.crc32(payload, zlib.crc32(data[offset : offset + 4])) != crc:
        return "checksum mismatch"
    try:
        return _decoder.decode(payload), end
    except msgspec.DecodeError as exc:
        return f"checksum matches but payload does not decode: {exc}"


def _find_valid_record(data: memoryview, start: int) -> int | None:
    """Offset of the first parsable record at or after `start`, byte by byte (damage path only)."""
    for offset in range(start, len(data) - HEADER.size + 1):
        if not isinstance(_parse_at(data, offset), str):
            return offset
    return None


class RecordScanner:
    """Iterate (offset, command) over a segment's bytes; afterwards `end` and `damage` are set.

    `end` is the offset just past the last valid record: the length to truncate to if the
    damage turns out to be a torn tail.
    """

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.end = 0
        self.damage: Damage | None = None

    def __iter__(self) -> Iterator[tuple[int, Command]]:
        # Recovery reads every record through here, so the loop is the checks of _parse_at
        # inlined with local names (no call, tuple or isinstance per record): ~2.0 instead of
        # ~2.6 us per record. Anything unusual goes to _parse_at, which says what is wrong.
        data = self._data
        size = len(data)
        unpack = HEADER.unpack_from
        crc32 = zlib.crc32
        decode = _decoder.decode
        length_crcs = _LENGTH_CRCS
        offset = 0
        while offset < size:
            if size - offset >= HEADER.size:
                length, crc = unpack(data, offset)
                end = offset + HEADER.size + length
                if 0 < length <= MAX_RECORD_BYTES and end <= size:
                    length_crc = length_crcs.get(length)
                    if length_crc is None:
                        length_crc = length_crcs[length] = crc32(length.to_bytes(4, "little"))
                    payload = data[offset + HEADER.size : end]
                    if crc32(payload, length_crc) == crc:
                        try:
                            cmd = decode(payload)
                        except msgspec.DecodeError:
                            pass
                        else:
                            yield offset, cmd
                            offset = self.end = end
                            continue
            parsed = _parse_at(data, offset)
            assert isinstance(parsed, str), "the fast path rejected a valid record"
            self.damage = Damage(offset, parsed, _find_valid_record(data, offset + 1))
            return
