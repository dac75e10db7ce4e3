"""Damage is never silent: `tidepool journal verify` fails naming it, `tidepool serve` refuses to
start naming the repair command, and `tidepool journal repair` cuts the journal only when told
--yes, after saying what is lost, moving (never deleting) what it removes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from journal_fixtures import (
    only_segment,
    open_toy_store,
    record_offsets,
    replay_hash,
    toy_commands,
)
from real_stream import real_stream
from toy_engine import ToyEngine

from tidepool.cli import main
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import Command
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.journal.errors import StateDirLocked
from tidepool.journal.layout import MANIFEST, list_segments, list_snapshots
from tidepool.journal.repair import repair
from tidepool.journal.store import FileStore

N = 40


def _real_state_dir(state_dir: Path) -> list[Command]:
    """A state dir of the real engine with N commands journaled (as a kill -9 leaves it)."""
    store, engine, _ = FileStore.open(
        state_dir, Engine.restore, lambda: Engine(DEFAULT_MARKETS, EngineConfig())
    )
    cmds = real_stream(N, seed=3)
    for cmd in cmds:
        engine.apply(cmd)
        store.append(cmd)
    store.close()
    return cmds


def _flip_a_payload_byte_of_the_last_record(state_dir: Path, cmds: list[Command]) -> int:
    """Damage the complete last record (its length intact); its offset."""
    segment = only_segment(state_dir)
    data = bytearray(segment.read_bytes())
    last = record_offsets(cmds)[-2]
    data[last + 12] ^= 0x40
    segment.write_bytes(bytes(data))
    return last


def _files(state_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(state_dir)): p.read_bytes() for p in state_dir.rglob("*") if p.is_file()
    }


def test_verify_exits_nonzero_naming_file_offset_and_seq(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmds = _real_state_dir(tmp_path)
    last = _flip_a_payload_byte_of_the_last_record(tmp_path, cmds)
    assert main(["journal", "verify", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert str(only_segment(tmp_path)) in out and f"byte offset {last}" in out
    assert f"after seq {N - 1}" in out and f"should be seq {N}" in out
    assert f"tidepool journal repair {tmp_path}" in out
    assert "result: 1 problem(s)" in out


def test_verify_passes_a_torn_tail_with_a_note_of_what_start_up_will_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmds = _real_state_dir(tmp_path)
    segment = only_segment(tmp_path)
    segment.write_bytes(segment.read_bytes()[:-5])
    assert main(["journal", "verify", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"torn last record, start-up will truncate it: {segment.name}" in out
    assert f"offset {record_offsets(cmds)[-2]}" in out and f"seq {N} that never" in out
    assert "result: OK" in out


def test_serve_refuses_to_start_on_a_damaged_journal_naming_the_repair_command(
    tmp_path: Path,
) -> None:
    cmds = _real_state_dir(tmp_path)
    _flip_a_payload_byte_of_the_last_record(tmp_path, cmds)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "tidepool", "serve", "--port", "0", "--state-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    assert "cannot start" in done.stderr and f"should be seq {N}" in done.stderr
    assert f"tidepool journal repair {tmp_path}" in done.stderr


def test_repair_without_yes_says_what_is_lost_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmds = _real_state_dir(tmp_path)
    last = _flip_a_payload_byte_of_the_last_record(tmp_path, cmds)
    before = _files(tmp_path)
    assert main(["journal", "repair", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"cut {only_segment(tmp_path).name} at byte offset {last}" in out
    assert f"lost: every command from seq {N} on" in out
    assert f"tidepool journal repair {tmp_path} --yes" in out
    assert _files(tmp_path) == before


def test_repair_with_yes_cuts_the_damaged_record_and_start_up_recovers_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmds = _real_state_dir(tmp_path)
    last = _flip_a_payload_byte_of_the_last_record(tmp_path, cmds)
    segment = only_segment(tmp_path)
    damaged_tail = segment.read_bytes()[last:]
    assert main(["journal", "repair", str(tmp_path), "--yes"]) == 0
    assert f"repaired: start-up now recovers to seq {N - 1}" in capsys.readouterr().out
    assert segment.stat().st_size == last
    (aside,) = tmp_path.glob("repair-*")
    assert (aside / f"{segment.name}.from-offset-{last}").read_bytes() == damaged_tail
    assert main(["journal", "verify", str(tmp_path)]) == 0
    store, engine, _ = FileStore.open(
        tmp_path, Engine.restore, lambda: Engine(DEFAULT_MARKETS, EngineConfig())
    )
    store.close()
    expected = Engine(DEFAULT_MARKETS, EngineConfig())
    for cmd in cmds[:-1]:
        expected.apply(cmd)
    assert store.last_seq == N - 1 and engine.state_hash() == expected.state_hash()


def test_repair_of_mid_journal_damage_moves_what_follows_aside_and_the_journal_continues(
    tmp_path: Path,
) -> None:
    store, engine = open_toy_store(tmp_path, max_segment_bytes=600)
    cmds = toy_commands(N)
    for cmd in cmds:
        engine.apply(cmd)
        store.append(cmd)
    store.write_snapshot(engine, N)  # made unusable below: start-up falls back to seq 0
    store.close()
    list_snapshots(tmp_path)[-1][1].write_bytes(b"\0" * 64)
    segments = list_segments(tmp_path)
    assert len(segments) > 3
    damaged = segments[1][1]
    data = bytearray(damaged.read_bytes())
    data[-3] ^= 0x01  # last record of the second segment: later segments follow it
    damaged.write_bytes(bytes(data))
    lost = segments[2][0] - 1  # the seq of the damaged record

    plan, report = repair(tmp_path, engine_cls=ToyEngine)

    assert plan is not None and plan.damage.seq == lost and report.last_seq == lost - 1
    assert plan.readable_lost == tuple(range(lost + 1, N + 1))
    moved = sorted(p.name for p in plan.aside.iterdir())
    assert moved == sorted(
        [f"{damaged.name}.from-offset-{plan.damage.offset}", f"{N:020d}.snapshot"]
        + [p.name for _, p in segments[2:]]
    )
    assert [p for _, p in list_segments(tmp_path)] == [p for _, p in segments[:2]]
    store, engine = open_toy_store(tmp_path)
    assert store.last_seq == lost - 1 and engine.state_hash() == replay_hash(cmds[: lost - 1])
    (again,) = toy_commands(1, first_seq=lost)
    engine.apply(again)
    store.append(again)
    store.close()
    store, reopened = open_toy_store(tmp_path)
    store.close()
    assert reopened.state_hash() == engine.state_hash()


def test_repair_of_a_dir_start_up_accepts_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _real_state_dir(tmp_path)
    segment = only_segment(tmp_path)
    segment.write_bytes(segment.read_bytes()[:-5])  # torn: start-up's business, not repair's
    before = _files(tmp_path)
    assert main(["journal", "repair", str(tmp_path), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "nothing to repair" in out and "torn tail" in out
    assert _files(tmp_path) == before


def test_repair_refuses_while_a_server_holds_the_state_dir(tmp_path: Path) -> None:
    store, engine = open_toy_store(tmp_path)
    for cmd in toy_commands(3):
        engine.apply(cmd)
        store.append(cmd)
    try:
        with pytest.raises(StateDirLocked):
            repair(tmp_path, engine_cls=ToyEngine)
    finally:
        store.close()


def test_repair_refuses_what_cutting_the_journal_cannot_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _real_state_dir(tmp_path)
    manifest = tmp_path / MANIFEST
    raw = msgspec.json.decode(manifest.read_bytes())
    manifest.write_bytes(msgspec.json.encode({**raw, "version": 99}))
    before = _files(tmp_path)
    assert main(["journal", "repair", str(tmp_path), "--yes"]) == 2
    assert "cannot repair" in capsys.readouterr().err
    assert _files(tmp_path) == before
