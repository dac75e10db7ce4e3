"""Deterministic crash points for recovery tests (recipe R2 of the testing guide).

`TIDEPOOL_CRASH_AT=<point>` or `<point>:<n>` makes the process `os._exit(137)` (what a kill -9
looks like to the parent) the n-th time (default: first) execution reaches that point. The
variable is read once, when a Sequencer or state store is built; unset, the hot path only tests
an attribute for None. An unknown point name is an error, so a typo cannot make a crash test
pass by never crashing. The gateway may reach its own points (`after_validate`,
`before_ack_send`) through the same class; the journal and sequencer never reach those.

The snapshot points are reached in the forked child that writes a background snapshot. What
they simulate is the server dying mid-snapshot, so there the child SIGKILLs the server before
exiting (`for_snapshot_child`), and the count is kept by the parent: once per snapshot.
"""

from __future__ import annotations

import os
import signal
from typing import Final

ENV_VAR: Final = "TIDEPOOL_CRASH_AT"
POINTS: Final = frozenset(
    {
        "after_validate",  # gateway: request verified, not yet submitted
        "before_ack_send",  # gateway: outcome in hand, response not yet sent
        "after_apply",  # applied to the engine, not yet journaled: must vanish on restart
        "after_journal_append",  # journaled, durability not yet awaited
        "before_ack",  # durable per the mode, answer not yet returned
        "mid_snapshot_write",  # half of the snapshot temp file written
        "after_snapshot_rename",  # snapshot renamed into place, directory not yet fsynced
    }
)
SNAPSHOT_POINTS: Final = frozenset({"mid_snapshot_write", "after_snapshot_rename"})
EXIT_CODE: Final = 137


class CrashPoints:
    def __init__(self, spec: str) -> None:
        name, _, count = spec.partition(":")
        if name not in POINTS:
            raise ValueError(f"{ENV_VAR}={spec!r}: unknown crash point (known: {sorted(POINTS)})")
        self.name = name
        self._remaining = int(count) if count else 1
        self._kill_pid: int | None = None  # also SIGKILL this process (the server) on crashing

    @classmethod
    def from_env(cls) -> CrashPoints | None:
        spec = os.environ.get(ENV_VAR)
        return cls(spec) if spec else None

    def reached(self, point: str) -> None:
        if point == self.name:
            self._remaining -= 1
            if self._remaining <= 0:
                if self._kill_pid is not None:
                    os.kill(self._kill_pid, signal.SIGKILL)
                os._exit(EXIT_CODE)

    def for_snapshot_child(self) -> CrashPoints | None:
        """In the server, once per background snapshot: the crash points its child must reach.

        The n-th snapshot gets a copy that fires at the point (and kills this process too); the
        others get None. Counting here, not in the child, is what makes `:n` mean the n-th snapshot.
        """
        if self.name not in SNAPSHOT_POINTS or self._remaining <= 0:
            return None
        self._remaining -= 1
        if self._remaining > 0:
            return None
        child = CrashPoints(self.name)
        child._kill_pid = os.getpid()
        return child
