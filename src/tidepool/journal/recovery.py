"""Recovery: newest valid snapshot + replay of the journal tail. Start-up, the offline tools and
the sequencer's rebuild after a failed command all use this one function.

Invariants:
- A snapshot is used only if it is valid (snapshots.read_snapshot), the journal covers every seq
  after it, and the restored engine reproduces the hash recorded in it. Otherwise the previous
  one is tried (logged); with none left, a fresh engine is used if the journal starts at seq 1
  and the fresh engine matches the state dir's genesis hash.
- Journal seqs are contiguous: within a segment, across segments, and from a segment's name to
  its first record. Any gap or repeat is JournalCorrupt.
- Damage in the last segment that framing calls torn (an incomplete last record, or a tail of
  zero bytes) is an interrupted append: it is logged with what it held and, with repair=True,
  truncated (and the truncation fsynced). Any other damage (a complete record that fails its
  checksum or does not decode, even the last one; damage in an earlier segment) is
  JournalCorrupt naming the file, byte offset and seqs. Nothing is skipped or cut silently;
  cutting at real damage is `tidepool journal repair` (repair.py), run by an operator.
- With repair=False the state dir is not modified at all (offline tools, rebuild while running).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic

from tidepool.journal.errors import JournalCorrupt, NoUsableSnapshot, ReplayFailed, StateDirError
from tidepool.journal.framing import RecordScanner
from tidepool.journal.layout import list_segments, list_snapshots, list_temp_files
from tidepool.journal.machine import Fresh, M, Machine, Restore
from tidepool.journal.manifest import read_manifest
from tidepool.journal.snapshots import read_snapshot

log = logging.getLogger("tidepool.journal")


@dataclass
class RecoveryReport:
    state_dir: Path
    state_hash: str = ""
    last_seq: int = 0
    snapshot_seq: int | None = None  # None: started from a fresh engine
    records_read: int = 0
    records_replayed: int = 0
    torn_tail: str | None = None  # what was (or, read-only, would be) truncated
    append_to: Path | None = None  # last segment, if new records can continue it
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        base = "fresh engine" if self.snapshot_seq is None else f"snapshot seq {self.snapshot_seq}"
        lines = [
            f"state_dir: {self.state_dir}",
            f"state_hash: {self.state_hash}",
            f"last_seq: {self.last_seq}",
            f"records: {self.records_read} read, {self.records_replayed} replayed onto {base}",
        ]
        if self.torn_tail:
            lines.append(f"torn tail: {self.torn_tail}")
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class _Base(Generic[M]):
    engine: M
    seq: int


def recover(
    state_dir: Path,
    restore: Restore[M],
    fresh: Fresh[M] | None,
    *,
    repair: bool,
    read_all_segments: bool = False,
    state_hash: bool = True,
) -> tuple[M, RecoveryReport]:
    """Rebuild the engine from `state_dir`. Raises StateDirError (or a subclass) if it cannot.

    state_hash False leaves `report.state_hash` empty: hashing the recovered state is a pass over
    all of it (~2 s per million commands of state), which a server starting up does not need
    (it serves the hash on demand at GET /sandbox/state_hash)."""
    manifest = read_manifest(state_dir)
    report = RecoveryReport(state_dir)
    for tmp in list_temp_files(state_dir):
        report.notes.append(f"{tmp.name}: unfinished snapshot, ignored")
        if repair:
            log.warning("%s: removing unfinished snapshot", tmp)
            tmp.unlink()
    segments = list_segments(state_dir)
    base = _choose_base(state_dir, segments, restore, fresh, manifest.genesis_hash, report)
    engine = base.engine
    expected: int | None = None
    for index, (first_seq, path) in enumerate(segments):
        is_last = index == len(segments) - 1
        if not (is_last or read_all_segments) and segments[index + 1][0] <= base.seq + 1:
            continue  # every record in it is inside the snapshot
        if expected is not None and first_seq != expected:
            raise JournalCorrupt(
                path, 0, expected, f"segment starts at seq {first_seq}, expected {expected}"
            )
        expected = first_seq
        scanner = RecordScanner(path.read_bytes())
        read, replayed = _replay_segment(scanner, path, first_seq, engine, base.seq)
        report.records_read += read
        report.records_replayed += replayed
        expected = first_seq + read
        if scanner.damage is not None:
            _torn_tail_or_corrupt(path, scanner, expected, is_last, repair, report)
        if is_last and expected - 1 >= base.seq:
            report.append_to = path  # new records continue this segment contiguously
    report.last_seq = max(base.seq, expected - 1) if expected is not None else base.seq
    if state_hash:
        report.state_hash = engine.state_hash()
    return engine, report


def _replay_segment(
    scanner: RecordScanner, path: Path, first_seq: int, engine: Machine, base_seq: int
) -> tuple[int, int]:
    """Check that the segment's records are contiguous from first_seq and apply those after
    base_seq; (records read, records applied). One flat loop: it runs once per journaled
    command at start-up."""
    expected = first_seq
    apply = engine.replay  # the state change of apply, without building the Outcome
    for offset, cmd in scanner:
        seq = cmd.seq
        if seq != expected:
            raise JournalCorrupt(path, offset, expected, f"record has seq {seq}")
        expected = seq + 1
        if seq > base_seq:
            try:
                apply(cmd)
            except Exception as exc:
                raise ReplayFailed(path, offset, seq, exc) from exc
    read = expected - first_seq
    return read, max(0, expected - 1 - max(base_seq, first_seq - 1))


def _torn_tail_or_corrupt(
    path: Path,
    scanner: RecordScanner,
    seq: int,
    is_last: bool,
    repair: bool,
    report: RecoveryReport,
) -> None:
    """`seq`: the seq the damaged record should have had."""
    damage = scanner.damage
    assert damage is not None
    if damage.valid_record_after is not None:
        raise JournalCorrupt(
            path,
            damage.offset,
            seq,
            f"{damage.reason}, and a valid record (seq {damage.seq_after}) follows at "
            f"offset {damage.valid_record_after}",
        )
    if not damage.torn:
        raise JournalCorrupt(path, damage.offset, seq, damage.reason)
    if not is_last:
        raise JournalCorrupt(
            path, damage.offset, seq, f"{damage.reason}, in a segment that is not last"
        )
    size = path.stat().st_size
    report.torn_tail = (
        f"{path.name}: {size - scanner.end} bytes from offset {damage.offset} "
        f"({damage.reason}), an append of seq {seq} that never completed"
    )
    if repair:
        log.warning("torn last journal record, truncating: %s", report.torn_tail)
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, scanner.end)
            os.fsync(fd)
        finally:
            os.close(fd)


def _choose_base(
    state_dir: Path,
    segments: list[tuple[int, Path]],
    restore: Restore[M],
    fresh: Fresh[M] | None,
    genesis_hash: str,
    report: RecoveryReport,
) -> _Base[M]:
    """Newest usable snapshot, else a fresh engine if the whole journal is there."""
    journal_start = segments[0][0] if segments else None
    for seq, path in reversed(list_snapshots(state_dir)):
        problem: str
        if journal_start is not None and journal_start > seq + 1:
            problem = f"journal starts at seq {journal_start}, after it"
        else:
            body = read_snapshot(path, seq)
            if isinstance(body, str):
                problem = body
            else:
                try:
                    engine = restore(body.engine)
                except Exception as exc:
                    problem = f"engine restore raised {type(exc).__name__}: {exc}"
                else:
                    if engine.state_hash() == body.state_hash:
                        report.snapshot_seq = seq
                        return _Base(engine, seq)
                    problem = "restored engine does not reproduce the snapshot's state hash"
        log.error("%s: unusable snapshot, falling back to an older one: %s", path, problem)
        report.notes.append(f"{path.name}: unusable snapshot: {problem}")
    if journal_start not in (None, 1):
        raise NoUsableSnapshot(
            f"{state_dir}: no usable snapshot, and the journal starts at seq {journal_start}"
        )
    if fresh is None:
        raise NoUsableSnapshot(f"{state_dir}: no usable snapshot (markets needed to start afresh)")
    engine = fresh()
    if engine.state_hash() != genesis_hash:
        raise StateDirError(
            f"{state_dir}: no usable snapshot, and a fresh engine with the given markets and "
            f"config does not match the one this state dir was created with"
        )
    return _Base(engine, 0)
