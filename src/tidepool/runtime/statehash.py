"""GET /sandbox/state_hash without holding the event loop.

Why. The state hash digests the canonical encoding of the whole state, every order and fill
ever (engine/snapshot.py): ~15 ms at 12,000 orders in a quiet process, ~40 ms in a loaded server,
and it grows with history. On the event loop it held every other client for that long, and one
client looping on it pushed everyone's median latency from 0.35 to ~37 ms (issue 12). A thread
would not help (the GIL; and the engine changes meanwhile). So the hash is computed by a forked
child, on a copy-on-write image of the engine, as background snapshots are written
(journal/store.py): the event loop pays only the fork (page tables: ~0.5 ms at 12,000 orders,
~20 ms at 1M) and the child's CPU time goes to another core, or yields to the server on a shared
one.

Invariants:
- An answer (seq, hash) is the hash of the state right after command `seq`: the child is forked
  right after the sequencer's last seq is read, with no await in between, and on the event loop
  the engine always matches that seq (a command is applied and its seq recorded without a yield).
- A request is answered with a seq at least the last seq when it arrived, so a client that asks
  for the hash after a write sees that write.
- One child at a time. Requests that arrive meanwhile wait for it (off the loop) and take its
  answer if it covers their seq, else the next child's. The last answer is kept: while no
  command is sequenced, requests are answered at once, without a fork.
- The child runs niced: where it shares a core with the server (`taskset`), the server's
  requests preempt it.
- A failed child (its traceback on stderr) fails the requests waiting for it with
  StateHashFailed, answered as a 500 envelope; the next request forks a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from tidepool.journal.forkchild import detach

if TYPE_CHECKING:
    from tidepool.runtime.sequencer import Sequencer

CHILD_NICENESS = 10
_FAILED = 1


class StateHashFailed(RuntimeError):
    pass


class StateHashes:
    """The state hash of one sequencer's engine, computed off the event loop (module doc)."""

    def __init__(self) -> None:
        self._last: tuple[int, str] | None = None
        self._child: asyncio.Future[None] | None = None

    async def current(self, sequencer: Sequencer) -> tuple[int, str]:
        """(seq, hex hash) with seq >= the sequencer's last seq now."""
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
            seq = sequencer.last_seq
            engine = sequencer.engine
            digest = await in_child(lambda: engine.state_hash().encode())
            if self._last is None or seq > self._last[0]:
                self._last = (seq, digest.decode())
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
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # nobody wants its answer any more
        raise
    finally:
        os.close(read_fd)
        # The pipe is closed only when the child exits, so this wait is short: its address
        # space is already gone (the kernel releases it before the descriptors).
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise StateHashFailed(f"state hash child failed (exit status {code}, see stderr)")
    return data


def _read_to_end(fd: int) -> asyncio.Future[bytes]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[bytes] = loop.create_future()
    chunks: list[bytes] = []
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        except BlockingIOError:
            return
        except OSError as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result(b"".join(chunks))

    loop.add_reader(fd, readable)
    done.add_done_callback(lambda _: loop.remove_reader(fd))
    return done


def _child(parent: int, write_fd: int, compute: Callable[[], bytes]) -> NoReturn:
    code = _FAILED
    try:
        detach(parent, (write_fd,), _FAILED)
        os.nice(CHILD_NICENESS)
        view = memoryview(compute())
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    except BaseException:
        with contextlib.suppress(OSError):
            os.write(2, f"state hash child:\n{traceback.format_exc()}".encode())
    finally:
        os._exit(code)
