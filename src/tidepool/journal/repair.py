"""`tidepool journal repair DIR`: cut the journal at the damage start-up refuses, after saying
what that loses. Start-up never cuts real damage itself (only a torn tail, see recovery.py):
losing acknowledged commands is a decision for the operator, made with this tool.

Invariants:
- The damage is found exactly as start-up finds it (tools.replay, read-only), so the cut is
  where start-up stopped and nowhere else. Damage start-up does not read (in a segment that a
  usable snapshot covers) is not cut: it costs nothing until that snapshot is lost.
- Only JournalCorrupt is repairable. A failed replay, no usable snapshot or another format
  version are not journal damage, and cutting the journal would not fix them.
- plan_repair changes nothing. repair() holds the writer lock (so no server runs on the dir)
  from the plan to the end, and deletes nothing: the bytes cut from the damaged segment, the
  segments after it and the snapshots at or after the first lost seq (start-up could not use
  them: a snapshot sits at a segment boundary, so one at or past the damage would have covered
  it) are moved into a `repair-<UTC time>` directory inside the state dir, then fsynced. It
  then recovers read-only again, which raises if start-up would still refuse.
- A crash half-way leaves a state dir that start-up refuses (a gap, or the same damage) and
  that running repair again finishes.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tidepool.domain.markets import MarketSpec
from tidepool.journal.errors import JournalCorrupt
from tidepool.journal.framing import RecordScanner
from tidepool.journal.layout import fsync_dir, list_segments, list_snapshots, write_atomically
from tidepool.journal.manifest import read_manifest
from tidepool.journal.recovery import RecoveryReport
from tidepool.journal.store import lock_state_dir
from tidepool.journal.tools import replay

if TYPE_CHECKING:
    from tidepool.engine.engine import Engine


@dataclass(frozen=True)
class RepairPlan:
    """Cut `damage.path` at `damage.offset`; move what goes into `aside`."""

    damage: JournalCorrupt
    cut_bytes: int  # bytes of damage.path from damage.offset to its end
    later_segments: tuple[Path, ...]
    later_snapshots: tuple[Path, ...]
    readable_lost: tuple[int, ...]  # seqs of records in what is cut that still read
    aside: Path

    def __str__(self) -> str:
        d = self.damage
        first_lost = d.seq
        if d.offset == 0:
            cut = f"move {d.path.name} ({self.cut_bytes} bytes), all of it"
        else:
            cut = f"cut {d.path.name} at byte offset {d.offset} ({self.cut_bytes} bytes)"
        lines = [
            f"damage: {d}",
            f"repair: {cut}; the journal then ends at seq {first_lost - 1}",
        ]
        if self.later_segments:
            names = ", ".join(p.name for p in self.later_segments)
            lines.append(f"repair: move {len(self.later_segments)} later segment(s): {names}")
        if self.later_snapshots:
            names = ", ".join(p.name for p in self.later_snapshots)
            lines.append(
                f"repair: move snapshot(s) past the cut (start-up cannot use them): {names}"
            )
        lines.append(f"repair: everything removed goes to {self.aside} (nothing is deleted)")
        lost = f"lost: every command from seq {first_lost} on"
        if self.readable_lost:
            seqs = self.readable_lost
            lost += (
                f"; {len(seqs)} record(s) in what is cut still read (seq {min(seqs)} to "
                f"{max(seqs)}), but replay cannot step over the damage to reach them"
            )
        lines.append(lost)
        return "\n".join(lines)


def plan_repair(
    state_dir: Path,
    markets: Sequence[MarketSpec] | None = None,
    *,
    engine_cls: type[Engine] | None = None,
) -> RepairPlan | RecoveryReport:
    """The plan if start-up refuses the dir for journal damage; start-up's own (read-only)
    report if it recovers the dir as it is. Raises StateDirError for anything a cut cannot fix.
    Changes nothing."""
    state_dir = Path(state_dir)
    try:
        _, report = replay(state_dir, markets, engine_cls=engine_cls)
    except JournalCorrupt as damage:
        return _plan(state_dir, damage)
    return report


def repair(
    state_dir: Path,
    markets: Sequence[MarketSpec] | None = None,
    *,
    engine_cls: type[Engine] | None = None,
) -> tuple[RepairPlan | None, RecoveryReport]:
    """Carry out plan_repair's plan under the writer lock (None: there was nothing to cut) and
    return start-up's read-only report on the result."""
    state_dir = Path(state_dir)
    read_manifest(state_dir)  # a clear error for a missing or foreign dir, before the lock file
    lock_fd = lock_state_dir(state_dir)
    try:
        found = plan_repair(state_dir, markets, engine_cls=engine_cls)
        if isinstance(found, RecoveryReport):
            return None, found
        _carry_out(state_dir, found)
        _, report = replay(state_dir, markets, engine_cls=engine_cls)
        return found, report
    finally:
        os.close(lock_fd)


def _plan(state_dir: Path, damage: JournalCorrupt) -> RepairPlan:
    segments = [path for _, path in list_segments(state_dir)]
    later = tuple(segments[segments.index(damage.path) + 1 :])
    cut = damage.path.read_bytes()[damage.offset :]
    readable = _readable_seqs(cut)
    for path in later:
        readable += _readable_seqs(path.read_bytes())
    aside = state_dir / f"repair-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    for n in itertools.count(2):
        if not aside.exists():
            break
        aside = aside.with_name(f"{aside.name.split('.')[0]}.{n}")
    return RepairPlan(
        damage=damage,
        cut_bytes=len(cut),
        later_segments=later,
        later_snapshots=tuple(p for seq, p in list_snapshots(state_dir) if seq >= damage.seq),
        readable_lost=tuple(readable),
        aside=aside,
    )


def _readable_seqs(data: bytes) -> list[int]:
    """Seqs of the records in `data` that still read, stepping over damage: only to tell the
    operator what a cut loses (replay never steps over damage)."""
    seqs: list[int] = []
    start = 0
    while True:
        scanner = RecordScanner(data[start:])
        seqs += [cmd.seq for _, cmd in scanner]
        damage = scanner.damage
        if damage is None or damage.valid_record_after is None:
            return seqs
        start += damage.valid_record_after


def _carry_out(state_dir: Path, plan: RepairPlan) -> None:
    """Later files first, the cut last: a crash in between leaves a gap that start-up refuses
    and a second run of repair removes."""
    damaged = plan.damage.path
    plan.aside.mkdir()
    for path in (*plan.later_snapshots, *plan.later_segments):
        path.rename(plan.aside / path.name)
    if plan.damage.offset == 0:
        # An empty segment left behind could be named after a seq the journal does not reach.
        damaged.rename(plan.aside / damaged.name)
    else:
        tail = damaged.read_bytes()[plan.damage.offset :]
        write_atomically(plan.aside / f"{damaged.name}.from-offset-{plan.damage.offset}", tail)
        fd = os.open(damaged, os.O_WRONLY)
        try:
            os.ftruncate(fd, plan.damage.offset)
            os.fsync(fd)
        finally:
            os.close(fd)
    fsync_dir(plan.aside)
    fsync_dir(state_dir)
