"""Crash points (recipe R2) in a real child process: os._exit(137) at a named point, restart,
and check what survived. A crash before the append is invisible; after it, the command is
present though never acknowledged; a crash inside a snapshot costs only a longer replay.

Periodic snapshots are written by a forked child while the server goes on acknowledging
commands; a snapshot crash point makes that child SIGKILL the server at that point (what a
server dying mid-snapshot leaves behind), so there the server dies by signal 9 after an
unknown number of further acknowledgements, and the checks are relative to what was journaled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from real_stream import real_stream

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.journal.crashpoints import ENV_VAR, EXIT_CODE, CrashPoints
from tidepool.journal.layout import list_snapshots
from tidepool.journal.tools import replay

HERE = Path(__file__).parent
N = 400
EVERY = 100
SEED = 3


KILLED = -signal.SIGKILL  # subprocess's returncode for a death by SIGKILL
PACE_S = 0.002  # per command: a snapshot child has ~0.2 s per period to reach its crash point


def _child(
    state_dir: Path, durability: str, crash_at: str | None, pace: float = 0.0
) -> tuple[int, list[int]]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if crash_at:
        env[ENV_VAR] = crash_at
    args = [str(state_dir), str(N), str(SEED), durability, str(EVERY), str(pace)]
    proc = subprocess.run(
        [sys.executable, str(HERE / "crash_child.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode in (0, EXIT_CODE, KILLED), proc.stderr
    return proc.returncode, [int(line) for line in proc.stdout.split()]


def _hash_after(k: int) -> str:
    engine = Engine(DEFAULT_MARKETS, EngineConfig())
    for cmd in real_stream(N, SEED)[:k]:
        engine.apply(cmd)
    return engine.state_hash()


@pytest.mark.parametrize(
    ("crash_at", "durability", "present", "acked"),
    [
        ("after_apply:150", "process", 149, 149),
        ("after_journal_append:150", "process", 150, 149),
        ("before_ack:150", "fsync", 150, 149),
    ],
)
def test_crash_point_then_restart(
    tmp_path: Path, crash_at: str, durability: str, present: int, acked: int
) -> None:
    code, acks = _child(tmp_path, durability, crash_at)
    assert code == EXIT_CODE
    assert acks == list(range(1, acked + 1))
    engine, report = replay(tmp_path)
    assert report.last_seq == present
    assert engine.state_hash() == _hash_after(present)
    _restart_finishes(tmp_path, durability, present)


def _restart_finishes(tmp_path: Path, durability: str, present: int) -> None:
    """The restarted writer carries on from there and ends where an uninterrupted run ends."""
    code, acks = _child(tmp_path, durability, None)
    assert code == 0 and acks == list(range(present + 1, N + 1))
    assert not list(tmp_path.glob("*.tmp"))
    engine, report = replay(tmp_path)
    assert report.last_seq == N and engine.state_hash() == _hash_after(N)
    assert list_snapshots(tmp_path)[-1][0] == N


@pytest.mark.parametrize(
    ("crash_at", "durability"),
    [
        ("mid_snapshot_write:2", "process"),
        ("mid_snapshot_write:1", "fsync"),
        ("after_snapshot_rename:2", "fsync"),
        ("after_snapshot_rename:1", "process"),
    ],
)
def test_server_killed_by_a_snapshot_crash_point_then_restart(
    tmp_path: Path, crash_at: str, durability: str
) -> None:
    nth = int(crash_at.rpartition(":")[2])
    code, acks = _child(tmp_path, durability, crash_at, pace=PACE_S)
    assert code == KILLED  # by the snapshot child, while the server was still submitting
    assert acks == list(range(1, len(acks) + 1))
    snapshots = [seq for seq, _ in list_snapshots(tmp_path)]
    assert snapshots[0] == 0
    engine, report = replay(tmp_path)
    present = report.last_seq
    assert present >= len(acks) and present >= nth * EVERY
    assert engine.state_hash() == _hash_after(present)
    if crash_at.startswith("mid_snapshot"):
        # the half-written n-th snapshot is left behind and ignored: the (n-1)-th (or genesis)
        # snapshot + a longer replay
        assert len(list(tmp_path.glob("*.tmp"))) == 1
        assert len(snapshots) == nth  # genesis and the complete ones before the n-th
        assert report.snapshot_seq == snapshots[-1]
    else:
        # renamed into place, directory not fsynced: after a process crash it is visible, used
        assert len(snapshots) == nth + 1
        assert report.snapshot_seq == snapshots[-1] >= nth * EVERY
    _restart_finishes(tmp_path, durability, present)


def test_in_place_final_snapshot_crash(tmp_path: Path) -> None:
    """Without pacing, the first background snapshot is still in flight when the stream ends;
    close() waits for it, then writes the final snapshot in the server itself: the 2nd
    snapshot point may be reached in either process, and either way the restart recovers."""
    code, acks = _child(tmp_path, "process", "mid_snapshot_write:2")
    assert code in (EXIT_CODE, KILLED)
    engine, report = replay(tmp_path)
    assert report.last_seq >= len(acks) and acks == list(range(1, len(acks) + 1))
    assert engine.state_hash() == _hash_after(report.last_seq)
    _restart_finishes(tmp_path, "process", report.last_seq)


def test_unknown_crash_point_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown crash point"):
        CrashPoints("after_jornal_append")
