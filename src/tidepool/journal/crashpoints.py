"""Deterministic crash points for recovery tests (recipe R2 of the testing guide).

`TIDEPOOL_CRASH_AT=<point>` or `<point>:<n>` makes the process `os._exit(137)` (what a kill -9
looks like to the parent) the n-th time (default: first) execution reaches that point. The
variable is read once, when a Sequencer or state store is built; unset, the hot path only tests
an attribute for None. An unknown point name is an error, so a typo cannot make a crash test
pass by never crashing. The gateway may reach its own points (`after_validate`,
`before_ack_send`) through the same class; the journal and sequencer never reach those.
"""

from __future__ import annotations

import os
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
EXIT_CODE: Final = 137


class CrashPoints:
    def __init__(self, spec: str) -> None:
        name, _, count = spec.partition(":")
        if name not in POINTS:
            raise ValueError(f"{ENV_VAR}={spec!r}: unknown crash point (known: {sorted(POINTS)})")
        self.name = name
        self._remaining = int(count) if count else 1

    @classmethod
    def from_env(cls) -> CrashPoints | None:
        spec = os.environ.get(ENV_VAR)
        return cls(spec) if spec else None

    def reached(self, point: str) -> None:
        if point == self.name:
            self._remaining -= 1
            if self._remaining <= 0:
                os._exit(EXIT_CODE)
