"""Crash points (recipe R2) in a real child process: os._exit(137) at a named point, restart,
and check what survived. A crash before the append is invisible; after it, the command is
present though never acknowledged; a crash inside a snapshot costs only a longer replay."""

from __future__ import annotations

import os
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


def _child(state_dir: Path, durability: str, crash_at: str | None) -> tuple[int, list[int]]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if crash_at:
        env[ENV_VAR] = crash_at
    args = [str(state_dir), str(N), str(SEED), durability, str(EVERY)]
    proc = subprocess.run(
        [sys.executable, str(HERE / "crash_child.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode in (0, EXIT_CODE), proc.stderr
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
        ("mid_snapshot_write:2", "process", 2 * EVERY, 2 * EVERY - 1),
        ("after_snapshot_rename:2", "fsync", 2 * EVERY, 2 * EVERY - 1),
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
    if crash_at.startswith("mid_snapshot"):
        assert list(tmp_path.glob("*.tmp"))  # the half-written snapshot is left behind...
        assert report.snapshot_seq == EVERY  # ...and ignored: previous snapshot + replay
    # The restarted writer carries on from there and ends where an uninterrupted run ends.
    code, acks = _child(tmp_path, durability, None)
    assert code == 0 and acks == list(range(present + 1, N + 1))
    assert not list(tmp_path.glob("*.tmp"))
    engine, report = replay(tmp_path)
    assert report.last_seq == N and engine.state_hash() == _hash_after(N)
    assert list_snapshots(tmp_path)[-1][0] == N


def test_unknown_crash_point_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown crash point"):
        CrashPoints("after_jornal_append")
