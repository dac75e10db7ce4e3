"""Helpers shared by the journal tests: build state dirs with the toy engine, replay oracles."""

from __future__ import annotations

from pathlib import Path

from toy_engine import ToyEngine, toy_command

from tidepool.engine.commands import Command
from tidepool.journal.framing import encode_record
from tidepool.journal.layout import list_segments
from tidepool.journal.store import FileStore

TS = 1_750_000_000_000


def toy_commands(n: int, first_seq: int = 1) -> list[Command]:
    return [toy_command(seq, TS + seq) for seq in range(first_seq, first_seq + n)]


def open_toy_store(state_dir: Path, **kwargs: object) -> tuple[FileStore[ToyEngine], ToyEngine]:
    store, engine, _ = FileStore.open(state_dir, ToyEngine.restore, ToyEngine, **kwargs)
    return store, engine


def write_journal(state_dir: Path, n: int) -> list[Command]:
    """A state dir whose journal holds n toy commands after the genesis snapshot (no final
    snapshot: the state a kill -9 leaves)."""
    store, engine = open_toy_store(state_dir)
    cmds = toy_commands(n)
    for cmd in cmds:
        engine.apply(cmd)
        store.append(cmd)
    store.close()
    return cmds


def record_offsets(cmds: list[Command]) -> list[int]:
    """Byte offset of each record in a segment holding exactly `cmds` (plus the end offset)."""
    offsets = [0]
    for cmd in cmds:
        offsets.append(offsets[-1] + len(encode_record(cmd)))
    return offsets


def replay_hash(cmds: list[Command]) -> str:
    engine = ToyEngine()
    for cmd in cmds:
        engine.apply(cmd)
    return engine.state_hash()


def only_segment(state_dir: Path) -> Path:
    segments = list_segments(state_dir)
    assert len(segments) == 1
    return segments[0][1]
