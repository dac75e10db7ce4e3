"""The strict profile's replay guard across a restart: rebuilt from the journal at boot.

`--strict-auth` refuses an exact copy of a signed request while the original could still pass
the expiry check. The guard (gateway.verify.ReplayGuard) lives in memory, so every command built
from a signed request journals the signature it came with (commands.SignatureRecord, under
strict only), and a restarting server remembers those of the commands stamped in the last
`VerifyPolicy.replay_horizon_ms` (a strict request is at most 5 s ahead and its window at most
60 s long, so nothing older can still pass). The engine is not involved: it never reads `auth`,
and nothing here reads the engine.

Compaction keeps the segments these commands are in, even behind a snapshot
(`journal_retention_ms`), so a snapshot taken after a signature was used does not make it
forgettable.

What is not journaled is not remembered: a signed request refused before it became a command
(a 400: bad price grid, agent not bound yet) can be sent once more after a restart. It changed
nothing the first time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from msgspec import UNSET

from tidepool.config import Config
from tidepool.engine.commands import Batch, Command, SignatureRecord
from tidepool.gateway.verify import ReplayGuard, VerifyPolicy
from tidepool.journal.tail import commands_since

# Added to the retention: a file's modification time may lag the clock that stamped its last
# command by a few milliseconds (the kernel's coarse clock); a second covers it many times.
_MTIME_MARGIN_MS = 1_000


def journal_retention_ms(policy: VerifyPolicy) -> int:
    """How recent a journal segment compaction must keep (0: none, outside the strict profile)."""
    return policy.replay_horizon_ms + _MTIME_MARGIN_MS if policy.strict else 0


def signatures(commands: Iterable[Command]) -> Iterator[SignatureRecord]:
    """The signature records the commands carry (each action's, for a batch)."""
    for cmd in commands:
        actions: Iterable[Command] = cmd.actions if type(cmd) is Batch else (cmd,)
        for action in actions:
            if action.auth is not UNSET:
                yield action.auth


def replay_guard_at_boot(cfg: Config, policy: VerifyPolicy, now_ms: int) -> ReplayGuard | None:
    """The server's replay guard: None outside the strict profile, empty without a journal
    (durability `none` starts from an empty exchange), else the journal's. Call it once the
    state dir is recovered."""
    if not policy.strict:
        return None
    if cfg.durability == "none":
        return ReplayGuard()
    return recovered_guard(cfg.state_dir, policy, now_ms)


def recovered_guard(state_dir: Path, policy: VerifyPolicy, now_ms: int) -> ReplayGuard:
    """A replay guard holding the signatures of the journal's still valid commands. Run it on
    a recovered state dir, before serving."""
    guard = ReplayGuard()
    for record in signatures(commands_since(state_dir, now_ms - policy.replay_horizon_ms)):
        guard.remember(record.signer, record.signature, record.expires_at_ms, now_ms)
    return guard
