"""Errors of the state dir: why start-up (or an offline check) refuses to go on.

Tree:
    StateDirError                 the state dir cannot be used as it is; start-up stops
    ├── IncompatibleStateDir      written by another format version, or not a tidepool dir
    ├── StateDirLocked            another process holds the writer lock
    ├── JournalCorrupt            a damaged record that is not a torn tail, a sequence gap, ...
    ├── NoUsableSnapshot          no valid snapshot and the journal does not start at seq 1
    └── ReplayFailed              the engine raised while replaying a journaled command
    JournalWriteError             writing or fsyncing the journal failed at run time
    └── SequencerStopped          the sequencer takes no commands until the cause clears

Every message names the directory or file (and byte offset) so an operator can act on it.
"""

from __future__ import annotations

from pathlib import Path


class StateDirError(Exception):
    """The state dir cannot be used as it is; nothing was modified beyond safe repairs."""


class IncompatibleStateDir(StateDirError):
    def __init__(self, state_dir: Path, found: object, supported: int) -> None:
        super().__init__(
            f"{state_dir}: state dir format version {found!r} is not supported by this tidepool "
            f"(it reads version {supported}); use the tidepool version that wrote it, "
            f"or start with a new --state-dir"
        )
        self.state_dir = state_dir
        self.found = found
        self.supported = supported


class StateDirLocked(StateDirError):
    pass


class JournalCorrupt(StateDirError):
    """A damaged journal that is not just a torn last record: never skipped silently.

    `seq` is the seq the journal should hold at `offset`: every command from it on is lost if
    the journal is cut there, which only `tidepool journal repair` does, when told to."""

    def __init__(self, path: Path, offset: int, seq: int, reason: str) -> None:
        super().__init__(
            f"{path}: corrupt journal at byte offset {offset}, after seq {seq - 1} "
            f"(the record there should be seq {seq}): {reason}. Nothing is skipped: "
            f"`tidepool journal repair {path.parent}` shows what cutting the journal there "
            f"would lose, and cuts it with --yes"
        )
        self.path = path
        self.offset = offset
        self.seq = seq
        self.reason = reason


class NoUsableSnapshot(StateDirError):
    pass


class ReplayFailed(StateDirError):
    def __init__(self, path: Path, offset: int, seq: int, exc: BaseException) -> None:
        super().__init__(
            f"{path}: replaying the command with seq {seq} at byte offset {offset} raised "
            f"{type(exc).__name__}: {exc}"
        )
        self.path = path
        self.offset = offset
        self.seq = seq


class JournalWriteError(Exception):
    """Appending or fsyncing failed; the sequencer stops accepting commands."""


class SequencerStopped(JournalWriteError):
    """Commands cannot be journaled now; the message says why (the gateway answers 503)."""
