"""The journal's write side: append records to the current segment, fsync, roll to a new one.

Invariants:
- Records are appended with os.write on an O_APPEND descriptor: when append() returns, the
  record is in the OS and survives the death of this process (durability `process`).
- A failed or short write is cut back off the file, so the segment never keeps a partial record
  in the middle; if even that fails the writer refuses all further appends.
- sync() may run in a worker thread while the event loop appends; a lock makes sync() and roll()
  exclusive, and roll() fsyncs the old segment before closing it, so a sync that started before a
  roll still covers every record appended before it started.
- A new segment is named by the seq its first record will have, and its creation is fsynced in
  the directory before any record goes into it.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from tidepool.journal.errors import JournalWriteError
from tidepool.journal.layout import fsync_dir, segment_path, write_all

DEFAULT_MAX_SEGMENT_BYTES = 64 << 20

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
        self.last_seq = last_seq
        if append_to is not None:
            self._fd = os.open(append_to, os.O_WRONLY | os.O_APPEND)
            self._size = os.fstat(self._fd).st_size
        else:
            self._fd = self._create(last_seq + 1)
            self._size = 0

    def _create(self, first_seq: int) -> int:
        fd = os.open(
            segment_path(self._dir, first_seq), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL
        )
        fsync_dir(self._dir)
        return fd

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

    def _cut_back(self) -> None:
        """Remove a partial record so the next append does not land after garbage."""
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            self._broken = f"could not remove a partial record: {exc}"

    def sync(self) -> None:
        """fsync everything appended so far (callable from a worker thread)."""
        with self._lock:
            os.fsync(self._fd)

    def roll(self) -> None:
        """Start a new segment at last_seq + 1 (no-op if the current one is empty)."""
        with self._lock:
            if self._size == 0:
                return
            os.fsync(self._fd)
            new_fd = self._create(self.last_seq + 1)  # if this fails, the old one stays current
            os.close(self._fd)
            self._fd = new_fd
            self._size = 0

    def close(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1
