"""Freeing the engine states that sandbox reverts and resets replaced, in pieces, between other
work on the event loop.

A revert or a reset is answered as soon as the new state is in place. The state it replaced
(with 100,000 resting orders, about a million objects and 60-75 ms of freeing) is handed here
(runtime/sequencer.py, right after the apply) and freed one piece of engine/teardown.py per
turn of the event loop: a request that arrives meanwhile waits for a piece (at most ~1 ms) per
loop turn it takes, never for the whole.

Invariants:
- At most one task runs; it frees the states in the order they were added, on the loop that
  added the first of them, from the loop turn after it was added.
- Everything added is freed completely: if the task is cancelled (its loop shuts down), it frees
  what is left at once before it ends. A half-freed state left alone could keep orders whose
  book links were not cleared yet, which nothing else would ever free (runtime/gcpolicy.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator

log = logging.getLogger("tidepool.reclaim")


class Reclaimer:
    def __init__(self) -> None:
        self._pending: deque[Iterator[None]] = deque()
        self._current: Iterator[None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """Whether a replaced state is still being freed."""
        return self._current is not None or bool(self._pending)

    def add(self, pieces: Iterator[None]) -> None:
        """Free a state by running `pieces` (engine/teardown.py), one piece per loop turn,
        from the next turn on. Nothing runs here: the sequencer calls it between a command's
        apply and its journal append, where nothing may raise."""
        self._pending.append(pieces)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        try:
            while self._pending:
                self._current = self._pending.popleft()
                for _ in self._current:
                    await asyncio.sleep(0)  # the requests that arrived meanwhile go first
                self._current = None
        except Exception:  # a bug in the teardown: what is left stays in memory, nothing else
            log.exception("freeing a replaced sandbox state failed")
            self._current = None
        finally:
            self._task = None
            self._finish()

    def _finish(self) -> None:
        """Free at once whatever is left (the task was cancelled mid-way)."""
        if self._current is not None:
            self._pending.appendleft(self._current)
            self._current = None
        while self._pending:
            for _ in self._pending.popleft():
                pass
