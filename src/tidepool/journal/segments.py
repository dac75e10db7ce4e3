"""The journal's write side: append records to the current segment, fsync, roll to a new one.

Invariants:
- Records are appended with os.write on an O_APPEND descriptor: when append() returns, the
  record is in the OS and survives the death of this process (durability `process`).
- A failed or short write is cut back off the file, so the segment never keeps a partial record
  in the middle; if even that fails the writer refuses all further appends.
- sync() may run in a worker thread while the event loop appends; a lock makes sync() and roll()
  exclusive, and roll() fsyncs the old segment before closing it, so a sync that started before a
  roll still covers every record appended before it started.
- roll(defer_sync=True) (the roll at a background snapshot, on the event loop) does no fsync at
  all: the old segment is kept open as "retired" and the new segment's directory entry is marked
  unsynced. Every later sync() fsyncs the retired segments and the directory before the current
  segment, so the previous invariant still holds; the snapshot child fsyncs the retired segments
  too, and release_retired() closes them once a snapshot made them redundant for durability.
- A new segment is named by the seq its first record will have, and its creation is fsynced in
  the directory before any record goes into it (roll(defer_sync=True): before the next sync()
  returns, which is before any record in it is acknowledged under durability `fsync`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from tidepool.journal.errors import JournalWriteError
from tidepool.journal.layout import fsync_dir, segment_path, write_all

DEFAULT_MAX_SEGMENT_BYTES = 64 << 20
_PROBE_NAME = ".write-probe"
_PROBE_BYTES = 64 << 10  # a few hundred records' worth of room

log = logging.getLogger("tidepool.journal")


class JournalWriter:
    def __init__(
        self,
        state_dir: Path,
        last_seq: int,
        append_to: Path | None,
        max_segment_bytes: int = DEFAULT_MAX_SEGMENT_BYTES,
    ) -> None:
        self._dir = state_dir
        self._max_bytes = max_segment_bytes
        self._lock = threading.Lock()
        self._broken: str | None = None
        self._retired: list[int] = []  # rolled-off segments not yet fsynced (defer_sync)
        self._dir_unsynced = False
        self.last_seq = last_seq
        if append_to is not None:
            self._fd = os.open(append_to, os.O_WRONLY | os.O_APPEND)
            self._size = os.fstat(self._fd).st_size
        else:
            self._fd = self._create(last_seq + 1)
            self._size = 0

    def _create(self, first_seq: int, sync_dir: bool = True) -> int:
        fd = os.open(
            segment_path(self._dir, first_seq), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL
        )
        if sync_dir:
            fsync_dir(self._dir)
        else:
            self._dir_unsynced = True
        return fd

    @property
    def retired_fds(self) -> tuple[int, ...]:
        """Descriptors of rolled-off segments whose fsync is still owed (roll(defer_sync=True))."""
        return tuple(self._retired)

    def append(self, seq: int, record: bytes) -> None:
        if self._broken is not None:
            raise JournalWriteError(f"{self._dir}: journal is unusable: {self._broken}")
        try:
            write_all(self._fd, record)
        except OSError as exc:
            self._cut_back()
            raise JournalWriteError(f"{self._dir}: journal append failed: {exc}") from exc
        self._size += len(record)
        self.last_seq = seq
        if self._size >= self._max_bytes:
            try:
                self.roll()
            except OSError:
                # The record is written: failing the append now would let its seq be reused.
                log.exception("%s: could not start a new journal segment; will retry", self._dir)

    def resume_check(self) -> str | None:
        """After a failed append: None if the next one can safely go ahead, else why not.

        Safe means the failed record left nothing behind (_cut_back truncated it, and the file
        still ends where the last good record ends) and the disk takes a write again, which a
        throw-away probe file of _PROBE_BYTES shows without touching the journal.
        """
        if self._broken is not None:
            return self._broken
        try:
            size = os.fstat(self._fd).st_size
            if size != self._size:
                return f"journal segment is {size} bytes, its last good record ends at {self._size}"
            probe = self._dir / _PROBE_NAME
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                write_all(fd, bytes(_PROBE_BYTES))
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError as exc:
            return f"journal still not writable: {exc}"
        return None

    def _cut_back(self) -> None:
        """Remove a partial record so the next append does not land after garbage."""
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            self._broken = f"could not remove a partial record: {exc}"

    def sync(self) -> None:
        """fsync everything appended so far (callable from a worker thread)."""
        with self._lock:
            self._sync_deferred()
            os.fsync(self._fd)

    def _sync_deferred(self) -> None:
        """Pay what roll(defer_sync=True) owes: older segments first, then the directory."""
        while self._retired:
            fd = self._retired[0]
            os.fsync(fd)
            os.close(fd)
            self._retired.pop(0)
        if self._dir_unsynced:
            fsync_dir(self._dir)
            self._dir_unsynced = False

    def roll(self, *, defer_sync: bool = False) -> None:
        """Start a new segment at last_seq + 1 (no-op if the current one is empty).

        defer_sync: no fsync now (neither of the old segment nor of the directory); see the
        module docstring for who pays it later.
        """
        with self._lock:
            if self._size == 0:
                return
            if not defer_sync:
                os.fsync(self._fd)
            # if this fails, the old one stays current
            new_fd = self._create(self.last_seq + 1, sync_dir=not defer_sync)
            if defer_sync:
                self._retired.append(self._fd)
            else:
                os.close(self._fd)
            self._fd = new_fd
            self._size = 0

    def release_retired(self, fds: tuple[int, ...]) -> None:
        """Close retired segments that someone else (the snapshot child) has fsynced."""
        with self._lock:
            for fd in fds:
                if fd in self._retired:
                    self._retired.remove(fd)
                    os.close(fd)

    def close(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            try:
                self._sync_deferred()
                os.fsync(self._fd)
            finally:
                for fd in self._retired:
                    os.close(fd)
                self._retired.clear()
                os.close(self._fd)
                self._fd = -1
