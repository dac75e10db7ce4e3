"""GC pauses and memory with a large book, under Tidepool's GC policy, in a fresh process.

`python -m bench.memory_bench --orders N [--ops K] [--rounds R] [--cpu C]` prints one JSON object.
Set up as the server does (runtime/gcpolicy.py): the policy installed before the book is built
(as before recovery), `freeze_now()` after it (as after recovery); then R rounds of K commands
(a new resting order, then the cancel of an old one), then one explicit `gc.collect()`. Every
collection is timed through `gc.callbacks`, in wall time (what a waiting request sees) and in
this thread's CPU time (on a shared machine a descheduled process inflates wall times). The RSS
after each round shows whether the policy leaks cyclic garbage.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from typing import Any

from bench.engine_bench import Book, acct, rest
from tidepool.engine.commands import CancelOrder, CreateOrder
from tidepool.runtime import gcpolicy

N_ACCOUNTS = 1000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class GcTimer:
    """Longest collection since the last `take()`, in wall and thread-CPU ms."""

    def __init__(self) -> None:
        self.max_ms = self.max_cpu_ms = 0.0
        self.count = 0
        self._t0 = self._c0 = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0, self._c0 = time.perf_counter(), time.thread_time()
            return
        self.count += 1
        self.max_ms = max(self.max_ms, (time.perf_counter() - self._t0) * 1e3)
        self.max_cpu_ms = max(self.max_cpu_ms, (time.thread_time() - self._c0) * 1e3)

    def take(self) -> dict[str, Any]:
        out = {"collections": self.count, "max_ms": self.max_ms, "max_cpu_ms": self.max_cpu_ms}
        self.max_ms = self.max_cpu_ms = 0.0
        self.count = 0
        return out


def _create(b: Book, i: int) -> CreateOrder:
    """Order i, of account i % N_ACCOUNTS: bids and asks in turn, over 2 000 levels each."""
    return rest(b.next(), acct(i % N_ACCOUNTS), i, "ask" if i % 2 else "bid")


def measure(n: int, ops: int, rounds: int) -> dict[str, Any]:
    timer = GcTimer()
    gc.callbacks.append(timer)  # before the policy's own callback: its freeze is in the pause
    gcpolicy.install()
    b = Book(N_ACCOUNTS)
    rss0 = rss_mb()
    for i in range(n):
        out = b.engine.apply(_create(b, i))
        if out.reject is not None:
            raise RuntimeError(f"create {i} rejected: {out.reject!r}")
    gcpolicy.freeze_now()
    result: dict[str, Any] = {
        "orders": n,
        "rss_bytes_per_order": (rss_mb() - rss0) * 2**20 / n,
        "build": timer.take(),
        "rounds": [],
    }
    made = n
    for _ in range(rounds):
        for k in range(ops // 2):
            b.engine.apply(_create(b, made))
            made += 1
            victim = (k * 7) % n  # order id victim + 1 rests on account victim % N_ACCOUNTS
            b.engine.apply(
                CancelOrder(
                    seq=b.next(),
                    ts_ms=b.seq,
                    account=acct(victim % N_ACCOUNTS),
                    symbol="BTC",
                    order_id=victim + 1,
                )
            )
        result["rounds"].append({**timer.take(), "rss_mb": rss_mb()})
    t0 = time.perf_counter()
    gc.collect()
    result["gc_full_collect_ms"] = (time.perf_counter() - t0) * 1e3
    phases = [result["build"], *result["rounds"]]
    # an explicit gc.collect() by some library counts too (gcpolicy.py)
    result["max_ms"] = max(result["gc_full_collect_ms"], *(p["max_ms"] for p in phases))
    result["max_cpu_ms"] = max(p["max_cpu_ms"] for p in phases)
    return result


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--ops", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--cpu", type=int, default=-1)
    args = p.parse_args()
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    print(json.dumps(measure(args.orders, args.ops, args.rounds)))
