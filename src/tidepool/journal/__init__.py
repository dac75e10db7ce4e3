"""Crash-safe state: journal segments, snapshots, recovery, offline tools.

A state dir holds a manifest (format version), journal segments of checksummed Command records,
and snapshots of the whole engine. Start-up = newest valid snapshot + replay of the journal
tail (recovery.py). The sequencer (runtime/sequencer.py) is the only writer, through FileStore
(store.py). Module map: framing (record bytes), segments (append/fsync/roll), snapshots,
manifest, layout (file names, atomic writes), groupcommit (shared fsyncs), crashpoints (R2
tests), tools (verify/replay), repair (the operator's cut at damage), errors, forkchild (what
every forked helper child of the server does first).
"""

from tidepool.journal.errors import (
    IncompatibleStateDir,
    JournalCorrupt,
    JournalWriteError,
    NoUsableSnapshot,
    ReplayFailed,
    StateDirError,
    StateDirLocked,
)
from tidepool.journal.recovery import RecoveryReport
from tidepool.journal.repair import RepairPlan, plan_repair, repair
from tidepool.journal.store import FileStore, MemoryStore
from tidepool.journal.tools import VerifyReport, replay, verify

__all__ = [
    "FileStore",
    "IncompatibleStateDir",
    "JournalCorrupt",
    "JournalWriteError",
    "MemoryStore",
    "NoUsableSnapshot",
    "RecoveryReport",
    "RepairPlan",
    "ReplayFailed",
    "StateDirError",
    "StateDirLocked",
    "VerifyReport",
    "plan_repair",
    "repair",
    "replay",
    "verify",
]
