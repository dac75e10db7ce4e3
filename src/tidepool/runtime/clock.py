"""Clocks: the only source of time. The engine never reads one; the sequencer stamps commands."""

from __future__ import annotations

import time
from typing import Protocol

from tidepool.engine.sandbox import ClockMark


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock tests (and the sandbox) move by hand."""

    def __init__(self, start_ms: int = 1_750_000_000_000) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    def set(self, ms: int) -> None:
        self._now = ms

    def advance(self, ms: int) -> None:
        self._now += ms


class SandboxClock:
    """The server's clock: the wall clock (`base`), moved and frozen by the sandbox.

    Everything that asks the time asks this one (the sequencer's stamps, signature expiry in
    the gateway, klines, the `t` of WebSocket answers), so a time change reaches all of them.
    It follows the engine's clock mark (engine/sandbox.py), the record of the last journaled
    SetClock command: `follow` is called at boot, after recovery, and after each SetClock is
    applied. So the state dir holds the sandbox time, and a restart goes on from it.

    Why a journaled command rather than only monotone stamps with the offset kept elsewhere:
    the clock must survive a restart, a kill -9 and a compaction of the journal exactly as
    every other change does, and a command in the journal (and then in the engine snapshot) is
    the one thing that already does. Monotone stamps alone would also stand time still after a
    restart, until the wall clock caught up with the advanced time (a day after `advance 1d`).

    Frozen: every command gets the frozen time as its ts_ms; the seqs still order them (as the
    actions of one batch share a stamp).

    It never goes back within a run, even when the machine's clock is stepped back (NTP): it
    stands still until the wall clock catches up. Across a restart it starts at least at the
    last clock mark.
    """

    def __init__(self, base: Clock | None = None) -> None:
        self._base: Clock = base if base is not None else SystemClock()
        self._offset = 0
        self._frozen_at: int | None = None
        self._latest = 0  # the latest time read: no reading is earlier

    def now_ms(self) -> int:
        now = self._frozen_at
        if now is None:
            now = self._base.now_ms() + self._offset
        if now < self._latest:
            return self._latest
        self._latest = now
        return now

    def wall_ms(self) -> int:
        """The base clock, unmoved: what a SetClock records next to the new time."""
        return self._base.now_ms()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def follow(self, mark: ClockMark | None) -> None:
        """Stand where `mark` says (None: no SetClock yet, the wall clock itself)."""
        if mark is None:
            self._offset, self._frozen_at = 0, None
            return
        self._offset = mark.now_ms - mark.wall_ms
        self._frozen_at = mark.now_ms if mark.frozen else None
        self._latest = max(self._latest, mark.now_ms)
