"""Snapshots: the whole engine state at one seq, in one checksummed file.

Layout: 8-byte magic, u32 body length, u32 zlib.crc32 of the body, then the body: msgpack of
SnapshotBody (format version, last seq, the engine's state hash, engine.snapshot() bytes).

Invariants:
- Written with layout.write_atomically: a snapshot under its final name is complete and fsynced.
- A snapshot is valid only if magic, length, checksum, version and the seq in its file name all
  agree; the caller then also checks that the restored engine reproduces the recorded hash.
  Anything else makes it unusable, and start-up falls back to the previous snapshot.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import msgspec

from tidepool.journal.crashpoints import CrashPoints
from tidepool.journal.layout import snapshot_path, write_atomically
from tidepool.journal.manifest import FORMAT_VERSION

MAGIC = b"TPSNAP\r\n"  # the CR LF catches text-mode mangling
_HEADER = struct.Struct("<8sII")


class SnapshotBody(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    last_seq: int
    state_hash: str
    engine: bytes


def encode_snapshot(last_seq: int, state_hash: str, engine: bytes) -> bytes:
    body = msgspec.msgpack.encode(
        SnapshotBody(
            version=FORMAT_VERSION, last_seq=last_seq, state_hash=state_hash, engine=engine
        )
    )
    return _HEADER.pack(MAGIC, len(body), zlib.crc32(body)) + body


def write_snapshot(
    state_dir: Path, last_seq: int, state_hash: str, engine: bytes, crash: CrashPoints | None
) -> Path:
    path = snapshot_path(state_dir, last_seq)
    write_atomically(path, encode_snapshot(last_seq, state_hash, engine), crash)
    return path


def read_snapshot(path: Path, expected_seq: int) -> SnapshotBody | str:
    """The snapshot's body, or why it is unusable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"unreadable: {exc}"
    if len(data) < _HEADER.size:
        return f"too short ({len(data)} bytes)"
    magic, length, crc = _HEADER.unpack_from(data)
    body = memoryview(data)[_HEADER.size :]
    if magic != MAGIC:
        return "not a snapshot (bad magic)"
    if length != len(body):
        return f"body is {len(body)} bytes, header says {length}"
    if zlib.crc32(body) != crc:
        return "checksum mismatch"
    try:
        snap = msgspec.msgpack.decode(body, type=SnapshotBody)
    except msgspec.DecodeError as exc:
        return f"checksum matches but body does not decode: {exc}"
    if snap.version != FORMAT_VERSION:
        return f"format version {snap.version}, expected {FORMAT_VERSION}"
    if snap.last_seq != expected_seq:
        return f"contains seq {snap.last_seq} but is named for seq {expected_seq}"
    return snap
