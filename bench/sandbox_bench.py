"""The sandbox's own targets (issue 15): snapshot then revert, reset, and start to ready.

- snapshot then revert: `TakeSnapshot` then `RevertSnapshot` through `Engine.apply` (what
  `POST /sandbox/snapshot` and `POST /sandbox/revert` run in the sequencer, minus HTTP and the
  journal append of two small commands), with N resting orders of 100 accounts, bids and asks
  over 2,000 levels each (engine_bench.rest); the best of `repeats` rounds. The state hash
  after the last revert must be the one before the first snapshot.
- reset: `ResetState` funding 10 accounts (as the server funds its dev accounts) on the same
  state; each round takes a snapshot first and reverts to it afterwards (neither timed), so
  every reset drops the N orders.
- freeing: a revert or a reset is answered before the state it replaced is freed; the server
  frees it afterwards in pieces between other requests (runtime/reclaim.py). Timed here apart
  from the command, as the server runs it: in all, and its longest piece (what another
  request may wait for).
- start to ready: `python -m tidepool serve` on an empty state dir with its 10 dev accounts
  funded (the default), from `Popen` to the listening line, and to the first `GET /ready`
  answered 200; a fresh state dir each time, the best of `starts`.

Like engine_bench, the piece runs pinned to CPU 0 (run.py) and its engine rounds under the
server's GC policy; the server it starts may use every CPU, as a user's does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.engine_bench import TS, Book, acct, rest
from tidepool.engine.commands import Faucet, ResetState, RevertSnapshot, TakeSnapshot
from tidepool.engine.events import Outcome
from tidepool.runtime import gcpolicy

ROOT = Path(__file__).resolve().parent.parent
N_ACCOUNTS = 100
DEV_ACCOUNTS = 10
_LISTENING = re.compile(r"listening on (http://\S+)")


def _ok(out: Outcome, what: str) -> Outcome:
    if out.reject is not None:
        raise RuntimeError(f"{what} rejected: {out.reject!r}")
    return out


def cheats(size: int, repeats: int) -> dict[str, Any]:
    b = Book(N_ACCOUNTS)
    apply = b.engine.apply
    for i in range(size):
        _ok(apply(rest(b.next(), acct(i % N_ACCOUNTS), i, "ask" if i % 2 else "bid")), "fill")
    gcpolicy.freeze_now()
    before, snapshot_bytes = b.engine.state_hash(), len(b.engine.snapshot())

    def take() -> int:
        seq = b.next()
        snapshot_id = _ok(apply(TakeSnapshot(seq=seq, ts_ms=TS + seq)), "snapshot").snapshot_id
        assert snapshot_id is not None
        return snapshot_id

    def revert(snapshot_id: int) -> None:
        seq = b.next()
        _ok(apply(RevertSnapshot(seq=seq, ts_ms=TS + seq, snapshot_id=snapshot_id)), "revert")

    def free() -> tuple[float, float]:
        """Free the state the last revert or reset replaced, in pieces as the server does:
        seconds in all and in the longest piece."""
        pieces = b.engine.take_replaced()
        assert pieces is not None
        took, longest = 0.0, 0.0
        while True:
            t0 = time.perf_counter()
            done = next(pieces, True) is True  # a piece yields None
            piece = time.perf_counter() - t0
            took, longest = took + piece, max(longest, piece)
            if done:
                return took, longest

    snap_s, revert_s, reset_s = [], [], []
    freed: dict[str, list[tuple[float, float]]] = {"revert": [], "reset": []}
    for _ in range(repeats):
        t0 = time.perf_counter()
        taken = take()
        t1 = time.perf_counter()
        revert(taken)
        snap_s.append(t1 - t0)
        revert_s.append(time.perf_counter() - t1)
        freed["revert"].append(free())
    if b.engine.state_hash() != before:
        raise RuntimeError(f"the state hash after a revert differs ({size} orders)")
    for _ in range(repeats):
        taken = take()
        seq = b.next()
        fund = [
            Faucet(seq=seq, ts_ms=TS + seq, account=acct(i), amount=Decimal(100_000))
            for i in range(DEV_ACCOUNTS)
        ]
        t0 = time.perf_counter()
        _ok(apply(ResetState(seq=seq, ts_ms=TS + seq, fund=fund)), "reset")
        reset_s.append(time.perf_counter() - t0)
        freed["reset"].append(free())
        revert(taken)
        free()
    pairs = [s + r for s, r in zip(snap_s, revert_s, strict=True)]
    return {
        "resting_orders": size,
        "snapshot_bytes": snapshot_bytes,
        "snapshot_then_revert_ms": min(pairs) * 1e3,
        "snapshot_ms": min(snap_s) * 1e3,
        "revert_ms": min(revert_s) * 1e3,
        "reset_ms": min(reset_s) * 1e3,
        **{
            f"{what}_free{key}_ms": min(f[i] for f in runs) * 1e3
            for what, runs in freed.items()
            for i, key in enumerate(("", "_longest_piece"))
        },
    }


def _every_cpu() -> None:
    os.sched_setaffinity(0, range(os.cpu_count() or 1))


def start_to_ready(workdir: Path) -> dict[str, float]:
    """Seconds from Popen to the listening line, and to the first GET /ready 200."""
    argv = [sys.executable, "-m", "tidepool", "serve", "--port", "0", "--log-level", "warning"]
    argv += ["--state-dir", str(workdir / "state"), "--accounts", str(DEV_ACCOUNTS)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=_every_cpu,  # the piece is pinned to CPU 0, a user's server is not
    )
    try:
        assert proc.stdout is not None
        url = None
        for raw in proc.stdout:
            if m := _LISTENING.search(raw.decode(errors="replace")):
                url = m.group(1)
                break
        if url is None:
            raise RuntimeError(f"tidepool serve exited with {proc.wait(30)} before listening")
        listening = time.perf_counter() - t0
        # The socket listens before the state is built: this request waits in the backlog
        # until the server answers, so no polling interval is added to the time.
        deadline = time.monotonic() + 60.0
        with httpx.Client(timeout=60.0) as client:
            while client.get(f"{url}/ready").status_code != 200:
                if time.monotonic() > deadline:
                    raise RuntimeError("tidepool serve never became ready")
        return {"listening_s": listening, "ready_s": time.perf_counter() - t0}
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        if proc.stdout is not None:
            proc.stdout.close()


def run(quick: bool) -> dict[str, Any]:
    sizes, repeats, starts = ([200, 1000], 2, 1) if quick else ([1000, 100_000], 3, 3)
    gcpolicy.install()
    try:
        rows = [cheats(size, repeats) for size in sizes]
    finally:
        gcpolicy.uninstall()
    root = Path(tempfile.mkdtemp(prefix="tidepool-bench-start-"))
    try:
        runs = [start_to_ready(root / str(i)) for i in range(starts)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    best = min(runs, key=lambda r: r["ready_s"])
    return {"cheats": rows, "start": {**best, "runs": len(runs), "dev_accounts": DEV_ACCOUNTS}}


if __name__ == "__main__":
    import json

    print(json.dumps(run("--quick" in sys.argv), indent=2))
