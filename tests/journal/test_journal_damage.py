"""Damage at start-up (recipe R3): torn tails are cut off with a warning, anything else (even in
the last record) stops start-up naming the file, offset, seqs and the repair command."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import pytest
from journal_fixtures import (
    only_segment,
    open_toy_store,
    record_offsets,
    replay_hash,
    toy_commands,
    write_journal,
)

from tidepool.journal.errors import (
    IncompatibleStateDir,
    JournalCorrupt,
    StateDirError,
    StateDirLocked,
)
from tidepool.journal.framing import encode_record
from tidepool.journal.layout import MANIFEST, list_segments
from tidepool.journal.segments import JournalWriter

N = 30


def _reopen_and_continue(state_dir: Path, expected_last_seq: int) -> str:
    """Open, check the seq, append one more command, close, reopen: the journal stays whole."""
    store, engine = open_toy_store(state_dir)
    assert store.last_seq == expected_last_seq
    (extra,) = toy_commands(1, first_seq=expected_last_seq + 1)
    engine.apply(extra)
    store.append(extra)
    store.close()
    store, again = open_toy_store(state_dir)
    store.close()
    assert again.state_hash() == engine.state_hash()
    return engine.state_hash()


def test_torn_tail_at_every_byte_of_the_last_three_records_recovers_the_valid_prefix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cmds = write_journal(tmp_path, N)
    segment = only_segment(tmp_path)
    full = segment.read_bytes()
    offsets = record_offsets(cmds)
    assert offsets[-1] == len(full)
    for cut in range(offsets[N - 3], len(full)):
        segment.write_bytes(full[:cut])
        complete = sum(1 for end in offsets[1:] if end <= cut)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="tidepool.journal"):
            store, engine = open_toy_store(tmp_path)
        store.close()
        assert engine.state_hash() == replay_hash(cmds[:complete]), cut
        assert store.last_seq == complete
        assert segment.stat().st_size == offsets[complete]
        if cut != offsets[complete]:
            assert "torn last journal record" in caplog.text
    # After the last truncation the journal continues without a gap.
    segment.write_bytes(full[: len(full) - 5])
    _reopen_and_continue(tmp_path, N - 1)


def test_a_torn_last_record_is_cut_off_with_a_warning_saying_what_was_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cmds = write_journal(tmp_path, N)
    segment = only_segment(tmp_path)
    last = record_offsets(cmds)[N - 1]
    segment.write_bytes(segment.read_bytes()[: last + 20])  # the process died mid-append
    with caplog.at_level(logging.WARNING, logger="tidepool.journal"):
        store, _ = open_toy_store(tmp_path)
    store.close()
    assert store.last_seq == N - 1 and segment.stat().st_size == last
    assert f"20 bytes from offset {last}" in caplog.text
    assert f"an append of seq {N} that never completed" in caplog.text


def test_a_zero_filled_tail_is_cut_off_like_a_torn_one(tmp_path: Path) -> None:
    """Some filesystems show blocks whose data never reached the disk as zeros after a power
    loss; zeros are never a record, so cutting them loses nothing that could be read."""
    cmds = write_journal(tmp_path, N)
    segment = only_segment(tmp_path)
    size = segment.stat().st_size
    segment.write_bytes(segment.read_bytes() + bytes(4096))
    store, engine = open_toy_store(tmp_path)
    store.close()
    assert engine.state_hash() == replay_hash(cmds) and segment.stat().st_size == size


def test_a_damaged_last_record_refuses_start_and_names_the_repair_command(
    tmp_path: Path,
) -> None:
    cmds = write_journal(tmp_path, N)
    segment = only_segment(tmp_path)
    full = segment.read_bytes()
    last = record_offsets(cmds)[N - 1]
    for position in range(last, len(full)):  # length, checksum and payload bytes alike
        damaged = bytearray(full)
        damaged[position] ^= 0x40
        segment.write_bytes(bytes(damaged))
        with pytest.raises(JournalCorrupt) as info:
            open_toy_store(tmp_path)
        message = str(info.value)
        assert str(segment) in message and f"byte offset {last}" in message, position
        assert f"after seq {N - 1}" in message and f"should be seq {N}" in message
        assert f"tidepool journal repair {tmp_path}" in message
        assert segment.read_bytes() == bytes(damaged)  # nothing was cut


def test_a_last_record_with_a_damaged_length_is_not_taken_for_a_torn_one(tmp_path: Path) -> None:
    cmds = write_journal(tmp_path, N)
    segment = only_segment(tmp_path)
    damaged = bytearray(segment.read_bytes())
    last = record_offsets(cmds)[N - 1]
    damaged[last] += 3  # now "runs past the end", like a torn write would
    segment.write_bytes(bytes(damaged))
    with pytest.raises(JournalCorrupt, match="complete record with a damaged length field"):
        open_toy_store(tmp_path)


def test_a_last_record_with_the_wrong_seq_refuses_start(tmp_path: Path) -> None:
    write_journal(tmp_path, 3)
    with only_segment(tmp_path).open("ab") as segment:
        segment.write(encode_record(toy_commands(1, first_seq=5)[0]))
    with pytest.raises(JournalCorrupt, match=r"should be seq 4\): record has seq 5"):
        open_toy_store(tmp_path)


def test_flipped_byte_in_the_middle_stops_start_up_naming_file_and_offset(tmp_path: Path) -> None:
    cmds = write_journal(tmp_path, N)
    segment = only_segment(tmp_path)
    full = segment.read_bytes()
    offsets = record_offsets(cmds)
    bad = N // 2
    for position in range(offsets[bad], offsets[bad + 1]):
        damaged = bytearray(full)
        damaged[position] ^= 0x01
        segment.write_bytes(bytes(damaged))
        with pytest.raises(JournalCorrupt) as info:
            open_toy_store(tmp_path)
        assert info.value.path == segment
        assert info.value.offset == offsets[bad]
        assert str(segment) in str(info.value)
        assert f"byte offset {offsets[bad]}" in str(info.value)
        assert segment.read_bytes() == bytes(damaged)  # nothing was "repaired"


def test_sequence_gap_is_corruption(tmp_path: Path) -> None:
    store, _ = open_toy_store(tmp_path)
    store.close()
    writer = JournalWriter(tmp_path, 0, only_segment(tmp_path))
    cmds = toy_commands(4)
    for cmd in (cmds[0], cmds[1], cmds[3]):
        writer.append(cmd.seq, encode_record(cmd))
    writer.close()
    with pytest.raises(JournalCorrupt, match=r"should be seq 3\): record has seq 4"):
        open_toy_store(tmp_path)


def test_missing_segment_is_a_gap(tmp_path: Path) -> None:
    store, engine = open_toy_store(tmp_path, max_segment_bytes=200)
    for cmd in toy_commands(40):
        engine.apply(cmd)
        store.append(cmd)
    store.close()
    segments = list_segments(tmp_path)
    assert len(segments) > 3
    segments[1][1].unlink()
    with pytest.raises(JournalCorrupt, match=f"segment starts at seq {segments[2][0]}"):
        open_toy_store(tmp_path)


def test_damage_in_a_segment_that_is_not_last_is_corruption(tmp_path: Path) -> None:
    store, engine = open_toy_store(tmp_path, max_segment_bytes=200)
    for cmd in toy_commands(40):
        engine.apply(cmd)
        store.append(cmd)
    store.close()
    first = list_segments(tmp_path)[0][1]
    data = first.read_bytes()
    first.write_bytes(data[:-3])  # torn, but later segments exist: cannot be a crash
    with pytest.raises(JournalCorrupt, match="not last"):
        open_toy_store(tmp_path)


def test_incompatible_version_is_refused_with_both_versions_named(tmp_path: Path) -> None:
    store, _ = open_toy_store(tmp_path)
    store.close()
    manifest = tmp_path / MANIFEST
    raw = msgspec.json.decode(manifest.read_bytes())
    manifest.write_bytes(msgspec.json.encode({**raw, "version": 99}))
    with pytest.raises(IncompatibleStateDir) as info:
        open_toy_store(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message and "99" in message and "version 1" in message


def test_non_empty_directory_without_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StateDirError, match="not empty"):
        open_toy_store(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_second_writer_is_refused(tmp_path: Path) -> None:
    store, _ = open_toy_store(tmp_path)
    try:
        with pytest.raises(StateDirLocked):
            open_toy_store(tmp_path)
    finally:
        store.close()
    store, _ = open_toy_store(tmp_path)
    store.close()
