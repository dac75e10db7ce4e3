"""State stores: where the sequencer puts commands, snapshots, and rebuilds the engine from.

FileStore is the state dir (journal segments + snapshots); MemoryStore keeps the same promises
in memory for durability `none`, so a failed command can still be rolled back.

Invariants:
- One writer per state dir: FileStore holds an exclusive flock on writer.lock while open.
- A new state dir gets a genesis snapshot at seq 0, so the markets and engine config it was
  created with travel with it and replay never depends on command-line flags.
- Snapshot at seq S: the journal is rolled first (the old segment fsynced, a new one starting at
  S+1), then the snapshot is written atomically, then compaction keeps the two newest snapshots
  and deletes only the segments wholly covered by the older of the two. So the previous
  snapshot and the journal after it survive until a newer snapshot is safely in place, and a
  corrupt newest snapshot can always fall back to it.
- rebuild() returns an engine at exactly last_seq, built from disk (or memory) only: it never
  sees a command that was applied but not stored.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
from pathlib import Path
from typing import Generic, Protocol

from tidepool.engine.commands import Command
from tidepool.journal.crashpoints import CrashPoints
from tidepool.journal.errors import StateDirError, StateDirLocked
from tidepool.journal.framing import encode_record
from tidepool.journal.layout import LOCK, fsync_dir, list_segments, list_snapshots
from tidepool.journal.machine import Fresh, M, Restore
from tidepool.journal.manifest import initialise, is_initialised, read_manifest
from tidepool.journal.recovery import RecoveryReport, recover
from tidepool.journal.segments import DEFAULT_MAX_SEGMENT_BYTES, JournalWriter
from tidepool.journal.snapshots import write_snapshot

log = logging.getLogger("tidepool.journal")

SNAPSHOTS_KEPT = 2


class CommandStore(Protocol[M]):
    @property
    def last_seq(self) -> int: ...

    @property
    def snapshot_seq(self) -> int: ...

    def append(self, cmd: Command) -> None: ...

    def sync(self) -> None: ...

    def write_snapshot(self, engine: M, seq: int) -> None: ...

    def rebuild(self) -> M: ...

    def close(self) -> None: ...


class FileStore(Generic[M]):
    def __init__(
        self,
        state_dir: Path,
        writer: JournalWriter,
        restore: Restore[M],
        fresh: Fresh[M],
        lock_fd: int,
        crash: CrashPoints | None,
    ) -> None:
        """Use FileStore.open."""
        self.state_dir = state_dir
        self._writer = writer
        self._restore = restore
        self._fresh = fresh
        self._lock_fd = lock_fd
        self._crash = crash
        snapshots = list_snapshots(state_dir)
        self._snapshot_seq = snapshots[-1][0] if snapshots else 0

    @classmethod
    def open(
        cls,
        state_dir: Path,
        restore: Restore[M],
        fresh: Fresh[M],
        *,
        crash: CrashPoints | None = None,
        max_segment_bytes: int = DEFAULT_MAX_SEGMENT_BYTES,
    ) -> tuple[FileStore[M], M, RecoveryReport]:
        """Create or recover `state_dir`; returns the store, the recovered engine, the report."""
        if not is_initialised(state_dir):
            genesis = fresh()
            initialise(state_dir, genesis.state_hash())
            write_snapshot(state_dir, 0, genesis.state_hash(), genesis.snapshot(), None)
            log.info("%s: new state dir", state_dir)
        lock_fd = _lock(state_dir)
        try:
            engine, report = recover(state_dir, restore, fresh, repair=True)
            if fresh().state_hash() != read_manifest(state_dir).genesis_hash:
                report.notes.append("markets/engine config differ from the state dir's; using its")
                log.warning(
                    "%s: markets or engine config differ from those the state dir was created "
                    "with; the state dir's own (from its snapshots) are used",
                    state_dir,
                )
            writer = JournalWriter(state_dir, report.last_seq, report.append_to, max_segment_bytes)
        except BaseException:
            os.close(lock_fd)
            raise
        log.info(
            "%s: recovered seq %d (snapshot %s + %d replayed), state hash %s",
            state_dir,
            report.last_seq,
            report.snapshot_seq,
            report.records_replayed,
            report.state_hash,
        )
        return cls(state_dir, writer, restore, fresh, lock_fd, crash), engine, report

    @property
    def last_seq(self) -> int:
        return self._writer.last_seq

    @property
    def snapshot_seq(self) -> int:
        return self._snapshot_seq

    def append(self, cmd: Command) -> None:
        self._writer.append(cmd.seq, encode_record(cmd))

    def sync(self) -> None:
        self._writer.sync()

    def write_snapshot(self, engine: M, seq: int) -> None:
        if seq != self._writer.last_seq:
            raise ValueError(f"snapshot at seq {seq}, but the journal ends at {self.last_seq}")
        if seq == self._snapshot_seq:
            return
        data = engine.snapshot()
        state_hash = engine.state_hash()
        self._writer.roll()
        write_snapshot(self.state_dir, seq, state_hash, data, self._crash)
        self._snapshot_seq = seq
        self._compact()

    def _compact(self) -> None:
        snapshots = list_snapshots(self.state_dir)
        if len(snapshots) <= SNAPSHOTS_KEPT:
            return
        oldest_kept = snapshots[-SNAPSHOTS_KEPT][0]
        doomed = [path for _, path in snapshots[:-SNAPSHOTS_KEPT]]
        segments = list_segments(self.state_dir)
        for (_, path), (next_first, _) in itertools.pairwise(segments):
            if next_first <= oldest_kept + 1:
                doomed.append(path)  # its last seq is <= oldest_kept
        for path in doomed:
            path.unlink()
        fsync_dir(self.state_dir)

    def rebuild(self) -> M:
        engine, report = recover(self.state_dir, self._restore, self._fresh, repair=False)
        if report.last_seq != self.last_seq:
            raise StateDirError(
                f"{self.state_dir}: rebuild reached seq {report.last_seq}, expected {self.last_seq}"
            )
        return engine

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1


def _lock(state_dir: Path) -> int:
    path = state_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StateDirLocked(f"{state_dir}: in use by another tidepool process ({path})") from None
    return fd


class MemoryStore(Generic[M]):
    """Durability `none`: no files; an in-memory snapshot plus the commands applied since."""

    def __init__(self, engine: M, restore: Restore[M], last_seq: int = 0) -> None:
        self._restore = restore
        self._base = engine.snapshot()
        self._base_seq = last_seq
        self._log: list[Command] = []
        self._last_seq = last_seq

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def snapshot_seq(self) -> int:
        return self._base_seq

    def append(self, cmd: Command) -> None:
        self._log.append(cmd)
        self._last_seq = cmd.seq

    def sync(self) -> None:
        pass

    def write_snapshot(self, engine: M, seq: int) -> None:
        self._base = engine.snapshot()
        self._base_seq = seq
        self._log.clear()

    def rebuild(self) -> M:
        engine = self._restore(self._base)
        for cmd in self._log:
            engine.apply(cmd)
        return engine

    def close(self) -> None:
        self._log.clear()
