"""Offline tools: verify reports instead of raising, replay rebuilds without repairing."""

from __future__ import annotations

from pathlib import Path

import msgspec
from journal_fixtures import only_segment, record_offsets, replay_hash, write_journal
from toy_engine import ToyEngine

from tidepool.journal.layout import MANIFEST
from tidepool.journal.tools import replay, verify


def test_verify_of_a_healthy_dir(tmp_path: Path) -> None:
    cmds = write_journal(tmp_path, 25)
    report = verify(tmp_path, engine_cls=ToyEngine)
    assert report.ok, str(report)
    assert (report.record_count, report.last_seq, report.format_version) == (25, 25, 1)
    assert report.state_hash == replay_hash(cmds)
    text = str(report)
    assert f"state_hash: {replay_hash(cmds)}" in text and "result: OK" in text


def test_verify_reports_mid_journal_corruption_with_file_and_offset(tmp_path: Path) -> None:
    cmds = write_journal(tmp_path, 25)
    segment = only_segment(tmp_path)
    data = bytearray(segment.read_bytes())
    offset = record_offsets(cmds)[10]
    data[offset + 12] ^= 0xFF
    segment.write_bytes(bytes(data))
    report = verify(tmp_path, engine_cls=ToyEngine)
    assert not report.ok
    assert any(str(segment) in p and f"byte offset {offset}" in p for p in report.problems)
    assert "result: 1 problem(s)" in str(report)


def test_torn_tail_is_a_note_and_nothing_is_repaired(tmp_path: Path) -> None:
    cmds = write_journal(tmp_path, 25)
    segment = only_segment(tmp_path)
    torn = segment.read_bytes()[:-7]
    segment.write_bytes(torn)
    report = verify(tmp_path, engine_cls=ToyEngine)
    assert report.ok and report.last_seq == 24
    assert any("torn last record" in note for note in report.notes)
    engine, rec = replay(tmp_path, engine_cls=ToyEngine)
    assert engine.state_hash() == replay_hash(cmds[:-1]) == rec.state_hash
    assert rec.torn_tail is not None and "torn tail" in str(rec)
    assert segment.read_bytes() == torn


def test_verify_refuses_an_incompatible_version(tmp_path: Path) -> None:
    write_journal(tmp_path, 3)
    (tmp_path / MANIFEST).write_bytes(
        msgspec.json.encode({"format": "tidepool-state", "version": 2})
    )
    report = verify(tmp_path, engine_cls=ToyEngine)
    assert not report.ok and "version 2" in report.problems[0]


def test_verify_of_a_missing_dir_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    report = verify(tmp_path / "nope", engine_cls=ToyEngine)
    assert not report.ok and "not a tidepool state dir" in report.problems[0]
