"""The journal's most recent commands, by timestamp: what a restart needs beyond the engine.

The strict profile's replay guard is rebuilt from the commands of the last minute or so
(server/replays.py). Those may lie before the snapshot recovery started from, so they are read
from the segments themselves, not taken from recovery's replay; with `retain_ms` compaction
keeps the segments they are in (store.compact).

Commands are stamped by the sequencer from the wall clock, in seq order, so each segment's first
record bounds the timestamps of every segment before it: the scan finds the newest segment whose
first record is older than the bound and reads forward from there. A wall clock stepped back
between two segments can hide older commands from it; nothing else can.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tidepool.engine.commands import Command
from tidepool.journal.framing import HEADER, MAX_RECORD_BYTES, RecordScanner
from tidepool.journal.layout import list_segments


def commands_since(state_dir: Path, since_ts_ms: int) -> Iterator[Command]:
    """Every journaled command stamped at or after `since_ts_ms`, in seq order.

    Run it after recovery (which has cut a torn tail off or refused to start): a scan simply
    stops at damage. A segment is held in memory one at a time, as recovery holds it.
    """
    segments = [path for _, path in list_segments(state_dir)]
    start = 0
    for index in range(len(segments) - 1, -1, -1):
        first = _first_stamp(segments[index])
        if first is not None and first < since_ts_ms:
            start = index  # records before this segment are older still
            break
    for path in segments[start:]:
        for _, cmd in RecordScanner(path.read_bytes()):
            if cmd.ts_ms >= since_ts_ms:
                yield cmd


def _first_stamp(path: Path) -> int | None:
    """ts_ms of the segment's first record, reading only that record; None if it has none."""
    with path.open("rb") as file:
        head = file.read(HEADER.size)
        if len(head) < HEADER.size:
            return None
        length, _ = HEADER.unpack(head)
        data = head + file.read(min(length, MAX_RECORD_BYTES))
    for _, cmd in RecordScanner(data):
        return cmd.ts_ms
    return None
