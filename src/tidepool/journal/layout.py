"""Files of a state dir, their names, and the durable way to create and remove them.

    manifest.json                     format version (see manifest.py)
    writer.lock                       flock held by the one process that writes
    <first seq, 20 digits>.journal    journal segments, named by the seq of their first record
    <last seq, 20 digits>.snapshot    snapshots, named by the last seq they contain
    *.tmp                             a snapshot being written; never read, removed at start-up

Invariants:
- Zero-padded names sort in seq order, so listing order is replay order.
- A file appears under its final name only after its data is fsynced (write to .tmp, fsync,
  rename, fsync the directory), so a reader never sees half a snapshot.
"""

from __future__ import annotations

import os
from pathlib import Path

from tidepool.journal.crashpoints import CrashPoints
from tidepool.journal.errors import StateDirError

MANIFEST = "manifest.json"
LOCK = "writer.lock"
SEGMENT_SUFFIX = ".journal"
SNAPSHOT_SUFFIX = ".snapshot"
TMP_SUFFIX = ".tmp"


def segment_path(state_dir: Path, first_seq: int) -> Path:
    return state_dir / f"{first_seq:020d}{SEGMENT_SUFFIX}"


def snapshot_path(state_dir: Path, seq: int) -> Path:
    return state_dir / f"{seq:020d}{SNAPSHOT_SUFFIX}"


def _numbered(state_dir: Path, suffix: str) -> list[tuple[int, Path]]:
    found = []
    for path in state_dir.glob(f"*{suffix}"):
        stem = path.name[: -len(suffix)]
        if len(stem) != 20 or not stem.isdigit():
            raise StateDirError(f"{path}: unexpected file name in the state dir")
        found.append((int(stem), path))
    return sorted(found)


def list_segments(state_dir: Path) -> list[tuple[int, Path]]:
    """(first seq, path) of every journal segment, oldest first."""
    return _numbered(state_dir, SEGMENT_SUFFIX)


def list_snapshots(state_dir: Path) -> list[tuple[int, Path]]:
    """(last seq, path) of every snapshot, oldest first."""
    return _numbered(state_dir, SNAPSHOT_SUFFIX)


def list_temp_files(state_dir: Path) -> list[Path]:
    return sorted(state_dir.glob(f"*{TMP_SUFFIX}"))


def fsync_dir(state_dir: Path) -> None:
    """Make renames, creations and unlinks in the directory durable."""
    fd = os.open(state_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes, crash: CrashPoints | None = None) -> None:
    """Temp file, fsync, rename over `path`, fsync the directory."""
    tmp = path.with_name(path.name + TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            if crash is not None:
                half = len(data) // 2
                write_all(fd, data[:half])
                crash.reached("mid_snapshot_write")
                write_all(fd, data[half:])
            else:
                write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. disk full: do not pile up temp files until restart
        raise
    if crash is not None:
        crash.reached("after_snapshot_rename")
    fsync_dir(path.parent)


def write_all(fd: int, data: bytes | memoryview) -> None:
    written = os.write(fd, data)
    if written == len(data):  # the usual case: one call, no memoryview
        return
    view = memoryview(data)[written:]
    while view:
        written = os.write(fd, view)
        view = view[written:]
