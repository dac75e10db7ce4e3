"""What a forked helper child of the server does first, so that it stays out of the server's way.

The server forks helpers that work on a copy-on-write image of the engine and leave by
`os._exit`: the background snapshot writer (journal/store.py) and the reads whose cost grows
with the state (runtime/forkread.py). Each one, right after the fork:

- ignores SIGINT/SIGTERM: Ctrl-C reaches the whole process group, and stopping is the server's
  business (it waits for or abandons its children);
- dies with the server (PR_SET_PDEATHSIG), so a killed server never leaves a child holding its
  port or writing into the state dir of its successor;
- disables the GC: a short-lived child would only dirty copy-on-write pages by collecting;
- closes every inherited descriptor but the ones it needs (listening socket, client
  connections, the state-dir lock: the server's copies stay as they are).

A child never logs (another thread may have held the logging lock at fork time).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import signal

_PR_SET_PDEATHSIG = 1
_libc_name = ctypes.util.find_library("c")
_libc = ctypes.CDLL(_libc_name, use_errno=True) if _libc_name else None


def detach(parent: int, keep: tuple[int, ...], exit_code: int) -> None:
    """The child's first step (see the module doc); leaves with `exit_code` if the server
    `parent` already died between the fork and here."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(exit_code)
    gc.disable()
    _close_fds_except(keep)


def _close_fds_except(keep: tuple[int, ...]) -> None:
    low = 3  # keep stdin/stdout/stderr: stderr carries a failure's traceback
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))
