"""Snapshots: snapshot + tail equals full replay, fallback past a corrupt one, compaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from journal_fixtures import TS, open_toy_store, replay_hash, toy_commands
from toy_engine import ToyConfig, ToyEngine, toy_command

from tidepool.journal.layout import list_segments, list_snapshots
from tidepool.journal.recovery import recover
from tidepool.runtime.clock import ManualClock
from tidepool.runtime.sequencer import Sequencer


def _run(
    state_dir: Path, n: int, snapshot_every: int, close: bool = True, background: bool = False
) -> str:
    """Submit toy commands 1..n through a process-mode sequencer; the live state hash.

    background False: periodic snapshots in place, so the tests can tell exactly where they are.
    background True: forked as in the server; waited for before closing or returning.
    """
    seqr = Sequencer.open(
        state_dir,
        [],
        ToyConfig(),
        ManualClock(TS),
        "process",
        snapshot_every,
        engine_cls=ToyEngine,
        gc_policy=False,
        background_snapshots=background,
    )
    start = seqr.last_seq

    async def go() -> None:
        for i in range(start + 1, start + n + 1):
            await seqr.submit(toy_command(0, 0, i))
        await seqr.wait_snapshot()
        if close:
            await seqr.close()

    asyncio.run(go())
    state_hash = seqr.engine.state_hash()
    if not close:
        seqr._store.close()  # release the lock as a dead process would, without a snapshot
    return state_hash


def _oracle(n: int) -> str:
    return replay_hash([toy_command(seq, TS, seq) for seq in range(1, n + 1)])


def test_snapshot_plus_tail_equals_full_replay(tmp_path: Path) -> None:
    live = _run(tmp_path, 1000, snapshot_every=300, close=False)
    assert live == _oracle(1000)
    engine, report = recover(tmp_path, ToyEngine.restore, None, repair=False)
    assert report.snapshot_seq == 900
    assert report.records_replayed == 100
    assert engine.state_hash() == live


def test_restart_continues_the_sequence(tmp_path: Path) -> None:
    _run(tmp_path, 250, snapshot_every=100)
    live = _run(tmp_path, 250, snapshot_every=100)
    assert live == _oracle(500)
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert store.last_seq == 500 and engine.state_hash() == live


def test_clean_close_writes_a_final_snapshot(tmp_path: Path) -> None:
    _run(tmp_path, 123, snapshot_every=100_000)
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [0, 123]
    _, report = recover(tmp_path, ToyEngine.restore, None, repair=False)
    assert report.snapshot_seq == 123 and report.records_replayed == 0


def test_corrupt_newest_snapshot_falls_back_to_the_previous_one(tmp_path: Path) -> None:
    live = _run(tmp_path, 1000, snapshot_every=400, close=False)
    newest = list_snapshots(tmp_path)[-1][1]
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF
    newest.write_bytes(bytes(data))
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert engine.state_hash() == live
    _, report = recover(tmp_path, ToyEngine.restore, None, repair=False)
    assert report.snapshot_seq == 400 and report.records_replayed == 600
    assert any("unusable snapshot: checksum mismatch" in note for note in report.notes)


def test_truncated_newest_snapshot_falls_back(tmp_path: Path) -> None:
    live = _run(tmp_path, 500, snapshot_every=200, close=False)
    newest = list_snapshots(tmp_path)[-1][1]
    newest.write_bytes(newest.read_bytes()[:40])
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert engine.state_hash() == live


def test_leftover_temp_snapshot_is_removed_and_ignored(tmp_path: Path) -> None:
    live = _run(tmp_path, 50, snapshot_every=1000, close=False)
    (tmp_path / f"{50:020d}.snapshot.tmp").write_bytes(b"half a snapshot")
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert engine.state_hash() == live
    assert not list(tmp_path.glob("*.tmp"))


def test_compaction_keeps_two_snapshots_and_the_journal_after_the_older(tmp_path: Path) -> None:
    _run(tmp_path, 1000, snapshot_every=100, close=False)
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [900, 1000]
    # Segments start right after each snapshot; those wholly covered by seq 900 are gone.
    assert [first for first, _ in list_segments(tmp_path)] == [901, 1001]


def test_fresh_engine_is_used_when_no_snapshot_is_usable_and_the_journal_is_whole(
    tmp_path: Path,
) -> None:
    store, engine = open_toy_store(tmp_path)
    cmds = toy_commands(20)
    for cmd in cmds:
        engine.apply(cmd)
        store.append(cmd)
    store.close()
    (genesis,) = [path for _, path in list_snapshots(tmp_path)]
    genesis.write_bytes(b"garbage")
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert engine.state_hash() == replay_hash(cmds)


def test_failed_snapshot_is_logged_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import tidepool.journal.layout as layout

    store, _ = open_toy_store(tmp_path)  # manifest and genesis snapshot written normally
    store.close()
    real_fsync = layout.os.fsync
    calls = {"n": 0}

    def flaky_fsync(fd: int) -> None:
        # Fail only while a .tmp snapshot exists: the journal's own fsyncs still work.
        if list(tmp_path.glob("*.tmp")):
            calls["n"] += 1
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(layout.os, "fsync", flaky_fsync)
    live = _run(tmp_path, 250, snapshot_every=100)
    assert calls["n"] >= 2
    assert "snapshot at seq 100 failed" in caplog.text
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [0]
    assert not list(tmp_path.glob("*.tmp"))
    monkeypatch.undo()
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert engine.state_hash() == live


def test_background_snapshots_end_in_the_same_state(tmp_path: Path) -> None:
    live = _run(tmp_path, 1000, snapshot_every=50, close=False, background=True)
    assert live == _oracle(1000)
    snapshots = [seq for seq, _ in list_snapshots(tmp_path)]
    # one child at a time: how many periods were skipped depends on its speed, not the result
    assert len(snapshots) == 2 and snapshots[-1] >= 50
    assert not list(tmp_path.glob("*.tmp"))
    engine, report = recover(tmp_path, ToyEngine.restore, None, repair=False)
    assert report.snapshot_seq == snapshots[-1]
    assert report.last_seq == 1000 and engine.state_hash() == live
    # compaction ran in the child: only segments after the older kept snapshot remain
    assert list_segments(tmp_path)[0][0] <= snapshots[0] + 1
    live = _run(tmp_path, 100, snapshot_every=50, background=True)
    assert live == _oracle(1100)
    assert list_snapshots(tmp_path)[-1][0] == 1100


def test_close_waits_for_the_snapshot_in_flight(tmp_path: Path) -> None:
    seqr = Sequencer.open(
        tmp_path,
        [],
        ToyConfig(),
        ManualClock(TS),
        "fsync",
        10,
        engine_cls=ToyEngine,
        gc_policy=False,
    )

    async def go() -> None:
        for i in range(1, 11):
            await seqr.submit(toy_command(0, 0, i))
        assert seqr.snapshot_in_flight
        await seqr.close()

    asyncio.run(go())
    assert not seqr.snapshot_in_flight
    assert [seq for seq, _ in list_snapshots(tmp_path)] == [0, 10]
    _, report = recover(tmp_path, ToyEngine.restore, None, repair=False)
    assert report.snapshot_seq == 10 and report.records_replayed == 0


def test_failed_background_snapshot_is_logged_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import tidepool.journal.layout as layout

    store, _ = open_toy_store(tmp_path)
    store.close()
    real_replace = layout.os.replace

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    # Patched before the fork, so the child inherits it: its snapshot fails at the rename.
    monkeypatch.setattr(layout.os, "replace", full_disk)
    seqr = Sequencer.open(
        tmp_path,
        [],
        ToyConfig(),
        ManualClock(TS),
        "process",
        100,
        engine_cls=ToyEngine,
        gc_policy=False,
    )

    async def go() -> None:
        for i in range(1, 101):
            await seqr.submit(toy_command(0, 0, i))
        await seqr.wait_snapshot()
        assert "background snapshot at seq 100 failed" in caplog.text
        assert [seq for seq, _ in list_snapshots(tmp_path)] == [0]
        assert not list(tmp_path.glob("*.tmp"))  # the child removed its temp file
        monkeypatch.setattr(layout.os, "replace", real_replace)
        for i in range(101, 201):  # retried one period later
            await seqr.submit(toy_command(0, 0, i))
        await seqr.wait_snapshot()
        assert [seq for seq, _ in list_snapshots(tmp_path)] == [0, 200]
        await seqr.close()

    asyncio.run(go())
    engine, report = recover(tmp_path, ToyEngine.restore, None, repair=False)
    assert report.snapshot_seq == 200 and engine.state_hash() == _oracle(200)
