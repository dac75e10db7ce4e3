"""Reads whose cost grows with the whole state, computed off the event loop by forked children.

Why. The engine is single-threaded and shares the event loop with every request. GET
/sandbox/state_hash digests the canonical encoding of the whole state, every order and fill
ever (engine/snapshot.py): ~15 ms at 12,000 orders in a quiet process, ~40 ms in a loaded
server, growing with history. GET /orders for an account holding 12,000 open orders rendered
~4 MB: ~50 ms, ~100 ms through the server. One client looping on either pushed every other
client's median latency from 0.35 to ~37 ms (issue 12). A thread would not help (the GIL; and the
engine changes meanwhile). So such a read runs in a forked child, on a copy-on-write image of
the engine, as background snapshots are written (journal/store.py): the event loop pays only
the fork (page tables: ~0.5 ms at 12,000 orders, ~20 ms at 1M) and reading the answer from a
pipe; the child's CPU time goes to another core, or yields to the server on a shared one.

Invariants:
- A child sees exactly one seq, the one current when it was forked: `in_child` forks before
  its first await, and on the event loop the engine always matches the sequencer's last seq (a
  command is applied and its seq recorded without a yield).
- That seq is at least the last seq when the request arrived, so a client that reads after a
  write sees that write.
- At most MAX_CHILDREN read children at a time; further reads wait (off the loop) for a slot.
- State hash: one child at a time. Requests that arrive meanwhile wait for it and take its
  answer if it covers their seq, else the next child's. The last answer is kept: while no
  command is sequenced, requests are answered at once, without a fork.
- Children run at the lowest priority (SCHED_IDLE): where one shares a core with the server
  (`taskset`), it gets only the time the server leaves idle. A core kept busy by other work
  delays the read, never the server.
- A failed child (its traceback on stderr) fails its read with ForkedReadFailed, answered as a
  500 envelope; the next read forks a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from tidepool.journal.forkchild import detach

if TYPE_CHECKING:
    from tidepool.runtime.sequencer import Sequencer

MAX_CHILDREN = 2
_FAILED = 1
_PIPE_BYTES = 1 << 20  # the child writes ahead while the server is busy elsewhere
_READ_BYTES = 1 << 18  # what the server copies at once: ~0.15 ms


class ForkedReadFailed(RuntimeError):
    pass


class ForkedReads:
    """The forked reads of one server (module doc)."""

    def __init__(self) -> None:
        self._slots = asyncio.Semaphore(MAX_CHILDREN)
        self._last: tuple[int, str] | None = None
        self._child: asyncio.Future[None] | None = None

    async def run(self, compute: Callable[[], bytes]) -> bytes:
        """`compute()` run in a forked child, on the state as it is once a slot is free."""
        async with self._slots:
            return await in_child(compute)

    async def state_hash(self, sequencer: Sequencer) -> tuple[int, str]:
        """(seq, hex state hash) with seq >= the sequencer's last seq now."""
        wanted = sequencer.last_seq
        while True:
            last = self._last
            if last is not None and last[0] >= wanted:
                return last
            if self._child is None:
                self._child = asyncio.ensure_future(self._compute(sequencer))
            # shielded: a client that hangs up must not kill the child others wait for
            await asyncio.shield(self._child)

    async def _compute(self, sequencer: Sequencer) -> None:
        try:
            # the seq is read by the child too: the one its image of the engine is at
            answer = await self.run(
                lambda: f"{sequencer.last_seq} {sequencer.engine.state_hash()}".encode()
            )
            seq, digest = answer.decode().split()
            if self._last is None or int(seq) > self._last[0]:
                self._last = (int(seq), digest)
        finally:
            self._child = None


async def in_child(compute: Callable[[], bytes]) -> bytes:
    """`compute()` run in a forked child of this process; its bytes. The fork happens before
    the first await, so the child sees the state as it is when this is called."""
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
        _child(parent, write_fd, compute)
    os.close(write_fd)
    try:
        data = await _read_to_end(read_fd)
        status = await _exit_status(pid)
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # nobody wants its answer any more
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(read_fd)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise ForkedReadFailed(f"forked read failed (exit status {code}, see stderr)")
    return data


async def _exit_status(pid: int) -> int:
    """The child's wait status, once it has exited (it closed the pipe: it is exiting).

    Polled, never a blocking waitpid: the child runs SCHED_IDLE, so on a core that other work
    keeps busy, its last steps after closing the pipe may wait a while for the CPU."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        await asyncio.sleep(0.001)


async def _read_to_end(fd: int) -> bytes:
    with contextlib.suppress(OSError):  # a smaller pipe only means more reads
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    while True:
        # One read per wake-up: requests that became ready meanwhile are served in between.
        await _readable(fd)
        try:
            chunk = os.read(fd, _READ_BYTES)
        except BlockingIOError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


async def _readable(fd: int) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _lowest_priority() -> None:
    """SCHED_IDLE: the child runs only when its CPU has nothing else to run (Linux)."""
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


def _child(parent: int, write_fd: int, compute: Callable[[], bytes]) -> NoReturn:
    code = _FAILED
    try:
        detach(parent, (write_fd,), _FAILED)
        _lowest_priority()
        view = memoryview(compute())
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    except BaseException:
        with contextlib.suppress(OSError):
            os.write(2, f"forked read child:\n{traceback.format_exc()}".encode())
    finally:
        os._exit(code)
