"""Group commit for durability `fsync`: concurrent requests share one fsync.

Invariants:
- wait_durable(seq) returns only after an fsync that started after record `seq` was written.
  The target of each fsync is read from `written()` in the event loop thread before the fsync
  is handed to a worker thread, so it never claims a record appended during the fsync.
- At most one fsync is in flight. Records appended while it runs wait for the next one, which
  covers all of them at once: under load the number of fsyncs is far below the number of
  requests, without any timer or added latency when idle.
- After an fsync error nothing is acknowledged any more: page-cache state after a failed fsync
  is unknowable (the "fsyncgate" lesson), so every waiter, present and future, gets
  JournalWriteError.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from tidepool.journal.errors import JournalWriteError


class GroupCommitter:
    def __init__(self, sync: Callable[[], None], written: Callable[[], int]) -> None:
        self._sync = sync
        self._written = written
        self._synced = written()
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self.fsync_count = 0
        self.fsync_seconds = 0.0  # summed, as waiters see it (thread hand-off included)

    async def wait_durable(self, seq: int) -> None:
        if self._failure is not None:
            raise JournalWriteError(f"journal fsync failed earlier: {self._failure}")
        if seq <= self._synced:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        await future

    async def drain(self) -> None:
        """Wait until no fsync is in flight (before closing the files it uses)."""
        while self._task is not None:
            await asyncio.wait({self._task})

    async def _run(self) -> None:
        try:
            while self._waiters:
                target = self._written()
                started = time.perf_counter()
                await asyncio.to_thread(self._sync)
                self.fsync_seconds += time.perf_counter() - started
                self.fsync_count += 1
                self._synced = target
                while self._waiters and self._waiters[0][0] <= target:
                    _, future = self._waiters.popleft()
                    if not future.done():  # its request may have been cancelled
                        future.set_result(None)
        except Exception as exc:
            self._failure = exc
            while self._waiters:
                _, future = self._waiters.popleft()
                if not future.done():
                    future.set_exception(JournalWriteError(f"journal fsync failed: {exc}"))
        finally:
            self._task = None
