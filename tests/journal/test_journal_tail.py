"""The journal's recent commands: kept by compaction while retention asks for them, read back
by timestamp (what the strict profile's replay guard is rebuilt from)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from journal_fixtures import TS, open_toy_store, replay_hash, toy_commands

from tidepool.journal.layout import list_segments, list_snapshots
from tidepool.journal.tail import commands_since


def _snapshot_every_ten(state_dir: Path, n: int, retain_ms: int) -> None:
    """n toy commands (ts TS + seq), a snapshot after every tenth, then closed."""
    store, engine = open_toy_store(state_dir, retain_ms=retain_ms)
    for cmd in toy_commands(n):
        engine.apply(cmd)
        store.append(cmd)
        if cmd.seq % 10 == 0:
            store.write_snapshot(engine, cmd.seq)
    store.close()


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_segments_written_within_the_retention_survive_compaction_until_they_age(
    tmp_path: Path,
) -> None:
    _snapshot_every_ten(tmp_path, 50, retain_ms=60_000)
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [40, 50]
    # Without retention only the segments from 41 on would be left.
    assert [first for first, _ in list_segments(tmp_path)] == [1, 11, 21, 31, 41, 51]
    segments = dict(list_segments(tmp_path))
    for first in (1, 11):
        _age(segments[first], 61)
    store, engine = open_toy_store(tmp_path, retain_ms=60_000)
    for cmd in toy_commands(10, first_seq=51):
        engine.apply(cmd)
        store.append(cmd)
    store.write_snapshot(engine, 60)
    store.close()
    # The aged prefix is gone; the rest stays contiguous, and recovery is unchanged.
    assert [first for first, _ in list_segments(tmp_path)] == [21, 31, 41, 51, 61]
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert engine.state_hash() == replay_hash(toy_commands(60))


def test_recent_commands_are_read_back_from_behind_the_snapshots(tmp_path: Path) -> None:
    _snapshot_every_ten(tmp_path, 50, retain_ms=60_000)
    assert [cmd.seq for cmd in commands_since(tmp_path, TS + 15)] == list(range(15, 51))
    assert [cmd.seq for cmd in commands_since(tmp_path, TS + 41)] == list(range(41, 51))
    assert [cmd.seq for cmd in commands_since(tmp_path, 0)] == list(range(1, 51))
    assert list(commands_since(tmp_path, TS + 51)) == []
