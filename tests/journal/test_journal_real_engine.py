"""Determinism through the journal with the real engine (recipe R6, scaled to the suite budget):
a straight run, a run through the sequencer with snapshots, recovery, and a restart half-way
all give byte-identical outcomes and the same state hash."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
from real_stream import TS, real_stream

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import Command
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.journal.layout import list_snapshots
from tidepool.journal.tools import replay, verify
from tidepool.runtime.clock import ManualClock
from tidepool.runtime.sequencer import Sequencer

N = 12_000


def _through_sequencer(state_dir: Path, cmds: list[Command], snapshot_every: int) -> list[bytes]:
    """Submit `cmds` (their seqs must continue the dir's) and close; encoded outcomes."""
    clock = ManualClock(TS)
    seqr = Sequencer.open(
        state_dir,
        DEFAULT_MARKETS,
        EngineConfig(),
        clock,
        "process",
        snapshot_every,
        gc_policy=False,
    )
    outcomes: list[bytes] = []

    async def go() -> None:
        for cmd in cmds:
            assert seqr.last_seq + 1 == cmd.seq
            clock.set(cmd.ts_ms)
            outcome = await seqr.submit(cmd)
            outcomes.append(msgspec.msgpack.encode(outcome))
        await seqr.close()

    asyncio.run(go())
    return outcomes


def test_snapshots_restart_and_replay_change_nothing(tmp_path: Path) -> None:
    cmds = real_stream(N, seed=7)
    straight = Engine(DEFAULT_MARKETS, EngineConfig())
    straight_outcomes = [msgspec.msgpack.encode(straight.apply(cmd)) for cmd in cmds]
    straight.check_invariants()

    half = N // 2
    first = _through_sequencer(tmp_path, cmds[:half], snapshot_every=2_500)
    second = _through_sequencer(tmp_path, cmds[half:], snapshot_every=2_500)
    assert first + second == straight_outcomes

    engine, report = replay(tmp_path)
    assert report.last_seq == N
    assert engine.state_hash() == straight.state_hash() == report.state_hash
    assert engine.snapshot() == straight.snapshot()

    verdict = verify(tmp_path)
    assert verdict.ok, str(verdict)
    assert verdict.state_hash == straight.state_hash()
    assert f"state_hash: {straight.state_hash()}" in str(verdict).splitlines()


def test_recovery_from_an_older_snapshot_and_long_tail_gives_the_same_hash(
    tmp_path: Path,
) -> None:
    cmds = real_stream(N, seed=11)
    _through_sequencer(tmp_path, cmds, snapshot_every=5_000)
    snapshots = list_snapshots(tmp_path)
    assert [seq for seq, _ in snapshots] == [10_000, N]
    expected, _ = replay(tmp_path)
    snapshots[-1][1].write_bytes(b"\0" * 100)  # newest unusable: 10k + 2k replay
    engine, report = replay(tmp_path)
    assert report.snapshot_seq == 10_000 and report.records_replayed == N - 10_000
    assert engine.state_hash() == expected.state_hash()
    assert not verify(tmp_path).ok  # the broken snapshot is reported
