"""The sequencer: contiguous seqs, rollback after an engine bug, group-committed fsyncs."""

from __future__ import annotations

import asyncio
import errno
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from journal_fixtures import TS, open_toy_store, replay_hash
from toy_engine import ToyConfig, ToyEngine, toy_command

from tidepool.engine.commands import CancelOrder, Faucet
from tidepool.journal import segments
from tidepool.journal.errors import JournalWriteError, SequencerStopped
from tidepool.runtime.clock import ManualClock
from tidepool.runtime.sequencer import Durability, Sequencer


def _open(state_dir: Path, durability: Durability, snapshot_every: int = 100_000) -> Sequencer:
    return Sequencer.open(
        state_dir,
        [],
        ToyConfig(),
        ManualClock(TS),
        durability,
        snapshot_every,
        engine_cls=ToyEngine,
        gc_policy=False,
    )


def _boom(seq: int, ts: int) -> Faucet:
    return Faucet(seq=seq, ts_ms=ts, account="boom", amount=Decimal(5))


@pytest.mark.parametrize("durability", ["none", "process", "fsync"])
def test_engine_bug_mid_command_leaves_state_and_seq_unchanged(
    tmp_path: Path, durability: Durability
) -> None:
    seqr = _open(tmp_path, durability, snapshot_every=7)

    async def go() -> None:
        for i in range(1, 21):
            await seqr.submit(toy_command(0, 0, i))
        before = seqr.engine.state_hash()
        with pytest.raises(RuntimeError, match="toy engine bug"):
            await seqr.submit(_boom(0, 0))
        assert seqr.last_seq == 20
        assert seqr.engine.state_hash() == before
        outcome = await seqr.submit(toy_command(0, 0, 21))
        assert outcome.order_id is not None
        assert seqr.last_seq == 21
        await seqr.close()

    asyncio.run(go())
    expected = replay_hash([toy_command(s, TS, s) for s in range(1, 22)])
    assert seqr.engine.state_hash() == expected
    if durability != "none":
        store, engine = open_toy_store(tmp_path)
        store.close()
        assert store.last_seq == 21 and engine.state_hash() == expected


def test_the_sequencer_stamps_contiguous_seqs_and_the_clock_whatever_the_command_held(
    tmp_path: Path,
) -> None:
    clock = ManualClock(TS)
    seqr = Sequencer(ToyEngine(), None, clock, "none")
    stamped: list[tuple[int, int]] = []
    apply = seqr.engine.apply

    def recording(cmd: Any) -> Any:
        stamped.append((cmd.seq, cmd.ts_ms))
        clock.advance(5)
        return apply(cmd)

    seqr.engine.apply = recording  # type: ignore[method-assign]

    async def go() -> None:
        for i in range(3):
            await seqr.submit(toy_command(99, 7, i + 1))

    asyncio.run(go())
    assert stamped == [(1, TS), (2, TS + 5), (3, TS + 10)]


def test_concurrent_submits_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seqr = _open(tmp_path, "fsync")
    real_fsync = os.fsync
    calls = 0

    def counting_fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)

    async def go() -> None:
        for _ in range(4):  # bursts: each burst's commands are all written before its fsync
            await asyncio.gather(*(seqr.submit(toy_command(0, 0, i)) for i in range(50)))
        await seqr.close()

    asyncio.run(go())
    assert seqr.last_seq == 200
    assert 1 <= seqr.fsync_count <= 8, seqr.fsync_count
    assert calls < 50  # committer fsyncs plus the handful of the final snapshot


def test_no_answer_before_the_fsync_that_covers_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seqr = _open(tmp_path, "fsync")
    synced_upto: list[int] = []
    store = seqr._store
    real_sync = store.sync

    def sync() -> None:
        last = store.last_seq  # written before this fsync starts, so covered by it
        real_sync()
        synced_upto.append(last)

    monkeypatch.setattr(store, "sync", sync)
    seqr._committer._sync = sync
    answered: list[int] = []

    async def one() -> None:
        # Nothing awaits between the call and the stamp: this submit gets the next seq.
        seq = seqr.last_seq + 1
        await seqr.submit(toy_command(0, 0, seq))
        # Every record up to the value read before an fsync is covered by that fsync.
        assert max(synced_upto) >= seq
        answered.append(seq)

    async def go() -> None:
        await asyncio.gather(*(one() for _ in range(30)))
        await seqr.close()

    asyncio.run(go())
    assert sorted(answered) == list(range(1, 31))


def test_fsync_failure_stops_the_sequencer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seqr = _open(tmp_path, "fsync")

    def failing_sync() -> None:
        raise OSError(5, "Input/output error")

    seqr._committer._sync = failing_sync

    async def go() -> None:
        with pytest.raises(JournalWriteError, match="Input/output error"):
            await seqr.submit(toy_command(0, 0, 1))
        with pytest.raises(JournalWriteError, match="stopped"):
            await seqr.submit(toy_command(0, 0, 1))
        # Not resumable: after a failed fsync the page cache is suspect, so only a restart
        # (recovery from what is on disk) brings writes back.
        seqr.probe_interval_s = 0.0
        assert seqr.stopped_reason() is not None

    asyncio.run(go())
    seqr._store.close()


def test_a_full_disk_stops_writes_until_the_disk_has_room_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seqr = _open(tmp_path, "process")
    seqr.probe_interval_s = 0.0
    real_write_all = segments.write_all

    def disk_full(fd: int, data: bytes) -> None:
        os.write(fd, data[: len(data) // 2])  # a partial record, as ENOSPC can leave
        raise OSError(errno.ENOSPC, "No space left on device")

    async def go() -> None:
        await seqr.submit(toy_command(0, 0, 1))
        before = seqr.engine.state_hash()
        monkeypatch.setattr(segments, "write_all", disk_full)
        with pytest.raises(SequencerStopped, match="No space left"):
            await seqr.submit(toy_command(0, 0, 2))
        assert seqr.engine.state_hash() == before and seqr.last_seq == 1
        # Still full: every write is refused with the reason, nothing is applied.
        with pytest.raises(SequencerStopped, match="No space left"):
            await seqr.submit(toy_command(0, 0, 3))
        reason = seqr.stopped_reason()
        assert reason is not None and "No space left" in reason
        # Room again: the next write goes through without a restart, right after seq 1.
        monkeypatch.setattr(segments, "write_all", real_write_all)
        assert seqr.stopped_reason() is None
        await seqr.submit(toy_command(0, 0, 4))
        assert seqr.last_seq == 2
        await seqr.close()

    asyncio.run(go())
    # The partial record was cut back: the journal replays to exactly the acknowledged commands.
    expected = replay_hash([toy_command(1, TS, 1), toy_command(2, TS, 4)])
    assert seqr.engine.state_hash() == expected
    reopened = _open(tmp_path, "process")
    assert reopened.last_seq == 2 and reopened.engine.state_hash() == expected
    asyncio.run(reopened.close())


@pytest.mark.parametrize("durability", ["none", "process"])
def test_a_command_the_journal_cannot_encode_fails_alone(
    tmp_path: Path, durability: Durability
) -> None:
    seqr = _open(tmp_path / "state", durability)

    async def go() -> None:
        await seqr.submit(toy_command(0, 0, 1))
        before = seqr.engine.state_hash()
        with pytest.raises(OverflowError):
            await seqr.submit(CancelOrder(account="acct1", symbol="BTC", order_id=2**64))
        assert seqr.engine.state_hash() == before and seqr.last_seq == 1
        assert seqr.stopped_reason() is None
        await seqr.submit(toy_command(0, 0, 2))
        assert seqr.last_seq == 2
        await seqr.close()

    asyncio.run(go())


def test_submit_after_close_is_refused(tmp_path: Path) -> None:
    seqr = _open(tmp_path, "process")

    async def go() -> None:
        await seqr.close()
        await seqr.close()
        with pytest.raises(JournalWriteError, match="closed"):
            await seqr.submit(toy_command(0, 0, 1))

    asyncio.run(go())


def test_none_durability_touches_no_files(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seqr = _open(state, "none")

    async def go() -> None:
        await seqr.submit(toy_command(0, 0, 1))
        await seqr.close()

    asyncio.run(go())
    assert not state.exists()
