"""What the journal needs from an engine: the slice of the Engine API that recovery uses.

The journal is written against this protocol rather than the concrete Engine so that it can be
tested with a toy state machine, and so that it never reaches into engine internals.
Requirements (the engine's contract): `apply` is deterministic given the command; `replay`
makes exactly the state change `apply` makes (it may skip building the answer, which recovery
never reads); `snapshot`
captures the whole state including markets and configuration; `restore(snapshot())` gives an
engine with the same `state_hash()` that behaves identically from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from tidepool.engine.commands import Command


class Machine(Protocol):
    def apply(self, cmd: Command) -> object: ...

    def replay(self, cmd: Command) -> object: ...

    def snapshot(self) -> bytes: ...

    def state_hash(self) -> str: ...

    def check_invariants(self) -> None: ...


M = TypeVar("M", bound=Machine)

Restore = Callable[[bytes], M]
"""Build an engine from snapshot bytes (Engine.restore)."""

Fresh = Callable[[], M]
"""Build the empty engine a new state dir starts from (Engine(markets, config))."""
