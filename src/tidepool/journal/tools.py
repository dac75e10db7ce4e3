"""Offline state-dir tools behind `tidepool journal verify|replay`. Read-only: they never repair
(`tidepool journal repair` is repair.py).

- verify(state_dir): checks the manifest, every snapshot, every journal segment (framing,
  checksums, seq contiguity), rebuilds the engine and runs its invariant checks. It reports
  problems instead of raising.
- replay(state_dir): rebuilds the engine exactly as start-up would (without truncating a torn
  tail, which it reports) and returns it with the report; raises StateDirError if it cannot.

Both may be run against the state dir of a running server; a record being written at that
moment then shows up as a torn tail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tidepool.domain.markets import MarketSpec
from tidepool.journal.errors import StateDirError
from tidepool.journal.layout import list_segments, list_snapshots
from tidepool.journal.manifest import read_manifest
from tidepool.journal.recovery import RecoveryReport, recover
from tidepool.journal.snapshots import read_snapshot

if TYPE_CHECKING:
    from tidepool.engine.engine import Engine, EngineConfig


@dataclass
class VerifyReport:
    state_dir: Path
    format_version: int | None = None
    state_hash: str | None = None
    last_seq: int | None = None
    record_count: int = 0
    segment_count: int = 0
    snapshots: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        lines = [
            f"state_dir: {self.state_dir}",
            f"format_version: {self.format_version}",
            f"state_hash: {self.state_hash}",
            f"last_seq: {self.last_seq}",
            f"records: {self.record_count} in {self.segment_count} segments",
        ]
        lines += [f"snapshot: {line}" for line in self.snapshots]
        lines += [f"note: {note}" for note in self.notes]
        lines += [f"problem: {problem}" for problem in self.problems]
        lines.append("result: OK" if self.ok else f"result: {len(self.problems)} problem(s)")
        return "\n".join(lines)


def _engine_cls(engine_cls: type[Engine] | None) -> type[Engine]:
    if engine_cls is not None:
        return engine_cls
    from tidepool.engine.engine import Engine

    return Engine


def verify(state_dir: Path, *, engine_cls: type[Engine] | None = None) -> VerifyReport:
    report = VerifyReport(Path(state_dir))
    try:
        report.format_version = read_manifest(report.state_dir).version
    except StateDirError as exc:
        report.problems.append(str(exc))
        return report
    try:
        report.segment_count = len(list_segments(report.state_dir))
        for seq, path in list_snapshots(report.state_dir):
            body = read_snapshot(path, seq)
            report.snapshots.append(f"{path.name}: {body if isinstance(body, str) else 'ok'}")
            if isinstance(body, str):
                report.problems.append(f"{path}: corrupt snapshot: {body}")
        cls = _engine_cls(engine_cls)
        engine, rec = recover(
            report.state_dir, cls.restore, None, repair=False, read_all_segments=True
        )
    except StateDirError as exc:
        report.problems.append(str(exc))
        return report
    report.state_hash = rec.state_hash
    report.last_seq = rec.last_seq
    report.record_count = rec.records_read
    report.notes += rec.notes
    if rec.torn_tail:
        report.notes.append(f"torn last record, start-up will truncate it: {rec.torn_tail}")
    try:
        engine.check_invariants()
    except Exception as exc:
        report.problems.append(f"engine invariants broken after replay: {exc}")
    return report


def replay(
    state_dir: Path,
    markets: Sequence[MarketSpec] | None = None,
    config: EngineConfig | None = None,
    *,
    engine_cls: type[Engine] | None = None,
) -> tuple[Engine, RecoveryReport]:
    """Rebuild the engine as start-up would. `markets`/`config` are only used if no snapshot
    is usable and the journal starts at seq 1 (the state dir's genesis snapshot normally
    carries them); they default to DEFAULT_MARKETS and EngineConfig()."""
    cls = _engine_cls(engine_cls)

    def fresh() -> Engine:
        from tidepool.domain.markets import DEFAULT_MARKETS
        from tidepool.engine.engine import EngineConfig

        return cls(
            markets if markets is not None else DEFAULT_MARKETS,
            config if config is not None else EngineConfig(),
        )

    return recover(Path(state_dir), cls.restore, fresh, repair=False)
