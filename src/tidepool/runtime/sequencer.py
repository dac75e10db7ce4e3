"""The sequencer: the single writer between the gateway and the engine.

One instance per server, used from the one event-loop thread. For each state change it stamps
the plain command it is given with the next seq and a timestamp from the clock (a batch's
actions get the same stamp), applies it to the engine, appends it to the store, waits for
durability, publishes the command's events on the bus (runtime/bus.py) if anyone follows
what they name (`Bus.follows`; else it does not even collect the command's order changes),
and only then returns the Outcome.

Invariants:
- Seqs are contiguous: a seq is consumed only by a command that was applied and stored.
- Apply first, then append: only commands the engine applied without an unexpected exception
  reach the journal, so replay never meets a poison record. If apply (or the append) raises,
  the engine may be half-mutated: it is replaced by a rebuild from the store (which does not
  contain the failed command), the seq is not consumed, and the exception propagates so the
  gateway answers 500 with the state unchanged.
- Nothing is answered before its record is durable per the mode: `process` (written to the OS,
  survives kill -9), `fsync` (fsynced with group commit, survives power loss), `none` (memory
  only). A crash between apply and append loses only a command nobody was answered for.
- Every command is encoded as its journal record before it is applied: a command the journal
  cannot hold (a bug elsewhere let a value through that msgpack cannot encode) fails alone, with
  the engine untouched, and the sequencer goes on.
- If the store cannot be written or the engine cannot be rebuilt, the sequencer stops: every
  later submit raises SequencerStopped (the gateway answers 503 and `/ready` says why).
  A failed append whose partial record was cut back (a full disk) is resumable: the next submit
  or readiness check, at most once per `probe_interval_s`, asks the store whether appends can
  safely go on (the segment ends at its last good record, a probe write succeeds) and resumes if
  so. A failed fsync (`fsync` mode) is not: after it the kernel may have dropped dirty pages it
  could not write, so nothing acknowledged afterwards could be trusted; restart to recover from
  the state dir.
- Snapshots every `snapshot_every` commands are written in the background by a forked child
  (FileStore.start_snapshot): the event loop pays the fork, not the encoding or the fsyncs. At
  most one is in flight; while it is, a due snapshot waits for it. The child is reaped from
  submit() (one waitpid(WNOHANG) per command while a child runs) and by close(), which waits
  for it before writing the final snapshot in place. A failed child is logged and retried one
  period later; the journal holds every command meanwhile.
- Sequencer.open installs the server's GC policy (runtime/gcpolicy.py) before recovery and
  freezes the recovered state after it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from msgspec.structs import replace

from tidepool.domain.markets import MarketSpec
from tidepool.engine.commands import Batch, Command
from tidepool.engine.events import Event, Outcome
from tidepool.engine.views import HistoryEntry
from tidepool.journal.crashpoints import CrashPoints
from tidepool.journal.errors import JournalWriteError, SequencerStopped
from tidepool.journal.framing import encode_record
from tidepool.journal.groupcommit import GroupCommitter
from tidepool.journal.store import CommandStore, FileStore, MemoryStore, SnapshotJob
from tidepool.runtime import gcpolicy
from tidepool.runtime.bus import Bus
from tidepool.runtime.clock import Clock
from tidepool.runtime.reclaim import Reclaimer

if TYPE_CHECKING:
    from tidepool.engine.engine import Engine, EngineConfig

log = logging.getLogger("tidepool.sequencer")

Durability = Literal["none", "process", "fsync"]


# What the bus gets of one command: seq, li, events, order changes (account, history entry).
Published = tuple[int, int, list[Event], list[tuple[str, HistoryEntry]]]


def stamp(cmd: Command, seq: int, ts_ms: int) -> Command:
    """`cmd` with its seq and timestamp (and those of a batch's actions); ~0.1 µs each."""
    if type(cmd) is Batch:
        actions = [replace(a, seq=seq, ts_ms=ts_ms) for a in cmd.actions]
        return replace(cmd, seq=seq, ts_ms=ts_ms, actions=actions)
    return replace(cmd, seq=seq, ts_ms=ts_ms)


class Sequencer:
    def __init__(
        self,
        engine: Engine,
        store: CommandStore[Engine] | None,
        clock: Clock,
        durability: Durability = "process",
        snapshot_every: int = 100_000,
        *,
        background_snapshots: bool = True,
    ) -> None:
        """`store` None means durability `none` (an in-memory store is made for rollbacks).

        background_snapshots False: periodic snapshots are written in place, blocking.
        """
        if (store is None) != (durability == "none"):
            raise ValueError(f"durability {durability!r} needs a state store, and only it does")
        if snapshot_every < 1:
            raise ValueError("snapshot_every must be at least 1")
        self.engine = engine
        self._store: CommandStore[Engine] = (
            store if store is not None else MemoryStore(engine, type(engine).restore)
        )
        self._clock = clock
        self.durability = durability
        self._snapshot_every = snapshot_every
        self._last_seq = self._store.last_seq
        # Journal append time, for /metrics: two clock reads per command, no lock, no object.
        self.append_count = 0
        self.append_seconds = 0.0
        self._snapshot_seq = self._store.snapshot_seq
        self._committer = (
            GroupCommitter(self._store.sync, lambda: self._store.last_seq)
            if durability == "fsync"
            else None
        )
        self._stopped: str | None = None
        self._resumable = False  # the stop came from an append that left the journal intact
        self._next_probe = 0.0
        self.probe_interval_s = 1.0
        self._closed = False
        self._crash = CrashPoints.from_env()
        self._background = background_snapshots
        self._job: SnapshotJob | None = None
        self.bus = Bus()
        self.reclaimer = Reclaimer()
        self._unpublished: deque[Published] = deque()

    @classmethod
    def open(
        cls,
        state_dir: Path,
        markets: Sequence[MarketSpec],
        engine_config: EngineConfig,
        clock: Clock,
        durability: Durability = "process",
        snapshot_every: int = 100_000,
        *,
        engine_cls: type[Engine] | None = None,
        gc_policy: bool = True,
        background_snapshots: bool = True,
        retain_journal_ms: int = 0,
    ) -> Sequencer:
        """Recover (or create) `state_dir` and return a sequencer positioned at its last seq.

        With durability `none` the state dir is not touched and the engine starts empty.
        gc_policy: install the server's GC policy for this process (gcpolicy.py) before
        recovering, and freeze the recovered state; False leaves the GC alone (in-process tests).
        retain_journal_ms: journal segments written that recently survive compaction
        (FileStore.open; the strict profile's replay guard is rebuilt from them).
        """
        cls_: type[Engine]
        if engine_cls is None:
            from tidepool.engine.engine import Engine

            cls_ = Engine
        else:
            cls_ = engine_cls

        def fresh() -> Engine:
            return cls_(markets, engine_config)

        if gc_policy:
            gcpolicy.install()
        if durability == "none":
            seqr = cls(fresh(), None, clock, durability, snapshot_every)
        else:
            store, engine, _ = FileStore.open(
                Path(state_dir),
                cls_.restore,
                fresh,
                crash=CrashPoints.from_env(),
                retain_ms=retain_journal_ms,
            )
            seqr = cls(
                engine,
                store,
                clock,
                durability,
                snapshot_every,
                background_snapshots=background_snapshots,
            )
        if gc_policy:
            gcpolicy.freeze_now()
        return seqr

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def fsync_count(self) -> int:
        return self._committer.fsync_count if self._committer is not None else 0

    @property
    def fsync_seconds(self) -> float:
        return self._committer.fsync_seconds if self._committer is not None else 0.0

    async def submit(self, plain: Command) -> Outcome:
        """Stamp, apply, store and (per durability) persist one command; its Outcome. Whatever
        seq and ts_ms `plain` holds are replaced."""
        if self._stopped is not None and self.stopped_reason() is not None:
            raise SequencerStopped(f"sequencer stopped: {self._stopped}")
        seq = self._last_seq + 1
        cmd = stamp(plain, seq, self._clock.now_ms())
        record = encode_record(cmd)  # before apply: an unencodable command changes nothing
        listened = not self.bus.idle
        history_before = self.engine.last_history_id if listened else 0
        outcome = self._apply(cmd, seq)
        if self._crash is not None:
            self._crash.reached("after_apply")
        started = time.perf_counter()
        try:
            self._store.append(cmd, record)
        except Exception as exc:
            self._roll_back(seq)
            self._stop(f"journal append of seq {seq} failed: {exc}", resumable=True)
            raise SequencerStopped(f"sequencer stopped: {self._stopped}") from exc
        self.append_seconds += time.perf_counter() - started
        self.append_count += 1
        self._last_seq = seq
        if self._crash is not None:
            self._crash.reached("after_journal_append")
        if self._job is not None:
            self._reap_snapshot()
        if seq - self._snapshot_seq >= self._snapshot_every and self._job is None:
            self._snapshot()
        # Taken now, right after apply: what the command did, before anything else runs.
        published: Published | None = None
        if listened and self.bus.follows(outcome.events):  # who wants what: runtime/bus.py
            changes = self.engine.order_updates_since(history_before)
            published = (seq, self.engine.last_order_id, outcome.events, changes)
        if self._committer is None:
            if published is not None:
                self.bus.publish(*published)
        else:
            if published is not None:
                self._unpublished.append(published)
            try:
                await self._committer.wait_durable(seq)
            except JournalWriteError as exc:
                self._stop(str(exc))
                raise SequencerStopped(f"sequencer stopped: {self._stopped}") from exc
            self._publish_through(seq)
        if self._crash is not None:
            self._crash.reached("before_ack")
        return outcome

    def _apply(self, cmd: Command, seq: int) -> Outcome:
        """Apply `cmd` (seq `seq`), rolling the engine back if it fails."""
        try:
            outcome = self.engine.apply(cmd)
        except Exception:
            self._roll_back(seq)
            raise
        # A revert or reset (or the replay at boot) parked the state it replaced: freed after
        # the answer, in pieces (runtime/reclaim.py). Taken now, so that neither a later revert
        # during an fsync wait nor a rollback frees it at once or drops it half-linked.
        if (replaced := self.engine.take_replaced()) is not None:
            self.reclaimer.add(replaced)
        return outcome

    def _publish_through(self, seq: int) -> None:
        """`fsync` mode: publish what is durable now, in seq order (waiters resume in any
        order, and a subscriber must never see an event a power loss could still take back)."""
        pending = self._unpublished
        while pending and pending[0][0] <= seq:
            self.bus.publish(*pending.popleft())

    def stopped_reason(self) -> str | None:
        """None while commands can be journaled; otherwise why not. A resumable stop is
        probed here (at most once per probe_interval_s) and lifted if the cause has cleared."""
        if self._stopped is None or not self._resumable or self._closed:
            return self._stopped
        now = time.monotonic()
        if now < self._next_probe:
            return self._stopped
        self._next_probe = now + self.probe_interval_s
        blocker = self._store.resume_check()
        if blocker is not None:
            log.warning("sequencer still stopped: %s", blocker)
            return self._stopped
        log.warning("journal writable again at seq %d; sequencer resumed", self._last_seq)
        self._stopped = None
        self._resumable = False
        return None

    def _roll_back(self, seq: int) -> None:
        """Replace a possibly half-mutated engine by a rebuild that lacks command `seq`."""
        log.error("command seq %d failed; rebuilding the engine from the store", seq)
        try:
            self.engine = self._store.rebuild()
        except Exception as exc:
            self._stop(f"engine rebuild after the failure of seq {seq} failed: {exc}")
            return
        log.info(
            "engine rebuilt at seq %d, state hash %s", self._last_seq, self.engine.state_hash()
        )

    def _stop(self, reason: str, *, resumable: bool = False) -> None:
        if self._stopped is None:
            self._stopped = reason
            # A rebuild that failed inside _roll_back has already stopped us for good.
            self._resumable = resumable
            self._next_probe = time.monotonic() + self.probe_interval_s
            if resumable:
                log.error("sequencer stopped until the journal is writable again: %s", reason)
            else:
                log.error("sequencer stopped, restart to recover from the state dir: %s", reason)

    def _snapshot(self, *, in_place: bool = False) -> None:
        """Snapshot at the current seq. A failure is logged, not raised: the journal has it all."""
        self._snapshot_seq = self._last_seq  # also on failure: retry after another period
        try:
            if self._background and not in_place:
                self._job = self._store.start_snapshot(self.engine, self._last_seq)
            else:
                self._store.write_snapshot(self.engine, self._last_seq)
        except Exception:
            log.exception(
                "snapshot at seq %d failed; the journal still has every command", self._last_seq
            )

    def _reap_snapshot(self) -> None:
        """Collect the snapshot child if it has exited (never blocks)."""
        job = self._job
        if job is None:
            return
        try:
            pid, status = os.waitpid(job.pid, os.WNOHANG)
        except ChildProcessError:  # reaped by someone else: its snapshot is not known to exist
            pid, status = job.pid, 1 << 8
        if pid == 0:
            return
        self._job = None
        self._store.finish_snapshot(job, os.waitstatus_to_exitcode(status))

    @property
    def snapshot_in_flight(self) -> bool:
        return self._job is not None

    async def wait_snapshot(self) -> None:
        """Wait for the background snapshot in flight, if any, and account for it.

        Polls from the event loop rather than blocking a thread in waitpid: a submit running
        meanwhile reaps through the same non-blocking path, so the child is reaped exactly once.
        """
        while self._job is not None:
            self._reap_snapshot()
            if self._job is not None:
                await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Final snapshot, flush and close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        stopped, self._stopped = self._stopped, self._stopped or "closed"
        if self._committer is not None:
            await self._committer.drain()
        await self.wait_snapshot()
        if stopped is None and self._last_seq > self._store.snapshot_seq:
            self._snapshot(in_place=True)
        self._store.close()
