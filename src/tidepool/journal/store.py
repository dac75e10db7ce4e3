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
  corrupt newest snapshot can always fall back to it. With `retain_ms` (the strict profile),
  a covered segment last written less than `retain_ms` ago is kept too, with every segment
  after it: its commands' signatures rebuild the replay guard after a restart (journal/tail.py).
- rebuild() returns an engine at exactly last_seq, built from disk (or memory) only: it never
  sees a command that was applied but not stored.
- Background snapshots (start_snapshot): the roll happens in the server without any fsync
  (segments.roll(defer_sync=True)); then a forked child, working on a copy-on-write image of the
  engine, fsyncs the rolled-off segment, encodes, writes the snapshot atomically and compacts,
  in that order, and exits. The server only pays the fork. The child does nothing else: it
  detaches like every helper child (forkchild.py: closes every inherited descriptor but the
  ones it fsyncs, ignores SIGINT/SIGTERM, dies with the server, never logs) and leaves by
  os._exit. Only one child at a time. A failed child is reported by its exit status (its
  traceback goes to stderr) and the server retries at the next period; the journal still holds
  every command, so nothing depends on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, NoReturn, Protocol

from tidepool.engine.commands import Command
from tidepool.journal.crashpoints import CrashPoints
from tidepool.journal.errors import StateDirError, StateDirLocked
from tidepool.journal.forkchild import detach
from tidepool.journal.framing import encode_record
from tidepool.journal.layout import LOCK, fsync_dir, list_segments, list_snapshots
from tidepool.journal.machine import Fresh, M, Machine, Restore
from tidepool.journal.manifest import initialise, is_initialised, read_manifest
from tidepool.journal.recovery import RecoveryReport, recover
from tidepool.journal.segments import DEFAULT_MAX_SEGMENT_BYTES, JournalWriter
from tidepool.journal.snapshots import write_snapshot

log = logging.getLogger("tidepool.journal")

SNAPSHOTS_KEPT = 2

# Exit statuses of a snapshot child.
CHILD_OK = 0
CHILD_FAILED = 1  # no new snapshot (the journal has everything; retry later)
CHILD_COMPACTION_FAILED = 2  # the snapshot is durable, old files were not all removed


@dataclass(frozen=True)
class SnapshotJob:
    """A snapshot being written by a forked child."""

    pid: int
    seq: int
    retired: tuple[int, ...]  # rolled-off segment fds the child fsyncs before the snapshot
    started: float  # time.monotonic()


class CommandStore(Protocol[M]):
    @property
    def last_seq(self) -> int: ...

    @property
    def snapshot_seq(self) -> int: ...

    def append(self, cmd: Command, record: bytes | None = None) -> None: ...

    def resume_check(self) -> str | None: ...

    def sync(self) -> None: ...

    def write_snapshot(self, engine: M, seq: int) -> None: ...

    def start_snapshot(self, engine: M, seq: int) -> SnapshotJob | None: ...

    def finish_snapshot(self, job: SnapshotJob, exit_code: int) -> bool: ...

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
        retain_ms: int = 0,
    ) -> None:
        """Use FileStore.open."""
        self.state_dir = state_dir
        self._retain_ms = retain_ms
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
        retain_ms: int = 0,
    ) -> tuple[FileStore[M], M, RecoveryReport]:
        """Create or recover `state_dir`; returns the store, the recovered engine, the report.

        retain_ms: compaction keeps the segments written in the last `retain_ms` (see `compact`).
        """
        if not is_initialised(state_dir):
            genesis = fresh()
            initialise(state_dir, genesis.state_hash())
            write_snapshot(state_dir, 0, genesis.state_hash(), genesis.snapshot(), None)
            log.info("%s: new state dir", state_dir)
        lock_fd = lock_state_dir(state_dir)
        try:
            engine, report = recover(state_dir, restore, fresh, repair=True, state_hash=False)
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
            "%s: recovered seq %d (snapshot %s + %d replayed)",
            state_dir,
            report.last_seq,
            report.snapshot_seq,
            report.records_replayed,
        )
        store = cls(state_dir, writer, restore, fresh, lock_fd, crash, retain_ms)
        return store, engine, report

    @property
    def last_seq(self) -> int:
        return self._writer.last_seq

    @property
    def snapshot_seq(self) -> int:
        return self._snapshot_seq

    def append(self, cmd: Command, record: bytes | None = None) -> None:
        """Append `cmd`; `record` is its encode_record() when the caller already made it."""
        self._writer.append(cmd.seq, encode_record(cmd) if record is None else record)

    def resume_check(self) -> str | None:
        """Why appends cannot safely resume after a failed one (None: they can)."""
        return self._writer.resume_check()

    def sync(self) -> None:
        self._writer.sync()

    def write_snapshot(self, engine: M, seq: int) -> None:
        """Snapshot at `seq` in this process (blocking): roll, write atomically, compact."""
        if seq != self._writer.last_seq:
            raise ValueError(f"snapshot at seq {seq}, but the journal ends at {self.last_seq}")
        if seq == self._snapshot_seq:
            return
        data = engine.snapshot()
        state_hash = engine.state_hash()
        self._writer.roll()
        write_snapshot(self.state_dir, seq, state_hash, data, self._crash)
        self._snapshot_seq = seq
        compact(self.state_dir, self._retain_ms)

    def start_snapshot(self, engine: M, seq: int) -> SnapshotJob | None:
        """Fork a child that writes the snapshot at `seq` (see the module docstring); None if
        there is nothing to write. Collect it with finish_snapshot once it has exited."""
        if seq != self._writer.last_seq:
            raise ValueError(f"snapshot at seq {seq}, but the journal ends at {self.last_seq}")
        if seq == self._snapshot_seq:
            return None
        self._writer.roll(defer_sync=True)
        retired = self._writer.retired_fds
        child_crash = self._crash.for_snapshot_child() if self._crash is not None else None
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
            _snapshot_child(
                self.state_dir, seq, engine, retired, child_crash, parent, self._retain_ms
            )
        return SnapshotJob(pid, seq, retired, time.monotonic())

    def finish_snapshot(self, job: SnapshotJob, exit_code: int) -> bool:
        """Account for a finished child; True if its snapshot is durable."""
        if exit_code not in (CHILD_OK, CHILD_COMPACTION_FAILED):
            log.error(
                "%s: background snapshot at seq %d failed (child exit status %d, its error is "
                "on stderr); the journal still has every command, retrying at the next period",
                self.state_dir,
                job.seq,
                exit_code,
            )
            return False
        if exit_code == CHILD_COMPACTION_FAILED:
            log.warning("%s: snapshot %d written, compaction failed", self.state_dir, job.seq)
        self._writer.release_retired(job.retired)
        self._snapshot_seq = max(self._snapshot_seq, job.seq)
        log.info(
            "%s: background snapshot at seq %d done in %.0f ms",
            self.state_dir,
            job.seq,
            (time.monotonic() - job.started) * 1e3,
        )
        return True

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


def compact(state_dir: Path, retain_ms: int = 0) -> None:
    """Keep the SNAPSHOTS_KEPT newest snapshots and the segments not wholly covered by the older,
    and, from the first covered segment last written less than `retain_ms` ago, every segment.

    A segment's modification time is that of its last record's write, which comes after the
    sequencer stamped that record from the same wall clock; the margin the caller adds covers
    the file system's coarser timestamps. Keeping a suffix keeps the journal contiguous."""
    snapshots = list_snapshots(state_dir)
    if len(snapshots) <= SNAPSHOTS_KEPT:
        return
    oldest_kept = snapshots[-SNAPSHOTS_KEPT][0]
    doomed = [path for _, path in snapshots[:-SNAPSHOTS_KEPT]]
    segments = list_segments(state_dir)
    covered = [
        path  # its last seq is <= oldest_kept
        for (_, path), (next_first, _) in itertools.pairwise(segments)
        if next_first <= oldest_kept + 1
    ]
    if retain_ms > 0:
        cutoff = time.time() - retain_ms / 1000
        covered = list(itertools.takewhile(lambda path: path.stat().st_mtime < cutoff, covered))
    doomed += covered
    for path in doomed:
        path.unlink()
    fsync_dir(state_dir)


def _snapshot_child(
    state_dir: Path,
    seq: int,
    engine: Machine,
    retired: tuple[int, ...],
    crash: CrashPoints | None,
    parent: int,
    retain_ms: int,
) -> NoReturn:
    """Body of the forked snapshot child. Never returns; touches only what it needs."""
    code = CHILD_FAILED
    try:
        detach(parent, retired, CHILD_FAILED)
        for fd in retired:
            os.fsync(fd)  # the old segment is durable before the snapshot that covers it
        data = engine.snapshot()
        write_snapshot(state_dir, seq, engine.state_hash(), data, crash)
        code = CHILD_COMPACTION_FAILED
        compact(state_dir, retain_ms)
        code = CHILD_OK
    except BaseException:
        with contextlib.suppress(OSError):
            os.write(2, f"snapshot child (seq {seq}):\n{traceback.format_exc()}".encode())
    finally:
        os._exit(code)


def lock_state_dir(state_dir: Path) -> int:
    """Take the one-writer lock (a descriptor to close to release it); StateDirLocked if held."""
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

    def append(self, cmd: Command, record: bytes | None = None) -> None:
        self._log.append(cmd)
        self._last_seq = cmd.seq

    def resume_check(self) -> str | None:
        return None

    def sync(self) -> None:
        pass

    def write_snapshot(self, engine: M, seq: int) -> None:
        self._base = engine.snapshot()
        self._base_seq = seq
        self._log.clear()

    def start_snapshot(self, engine: M, seq: int) -> SnapshotJob | None:
        """Nothing to fork for: done in place (it is only a rollback base)."""
        self.write_snapshot(engine, seq)
        return None

    def finish_snapshot(self, job: SnapshotJob, exit_code: int) -> bool:
        raise AssertionError("MemoryStore never starts a background snapshot")

    def rebuild(self) -> M:
        engine = self._restore(self._base)
        for cmd in self._log:
            engine.replay(cmd)
        return engine

    def close(self) -> None:
        self._log.clear()
