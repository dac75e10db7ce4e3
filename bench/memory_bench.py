"""Memory per resting order and GC pauses with a large book. Runs in its own process
(`python -m bench.memory_bench --orders N [--tracemalloc]`) so RSS deltas are not polluted by
the rest of the suite; prints one JSON object.

- memory: RSS (from /proc/self/statm) before and after N resting ALO orders over 1 000 accounts
  and 2 000 price levels on each side, after a full collection; or, with --tracemalloc, the
  bytes Python allocated for them (exact, but slow, so used with a smaller N);
- GC pauses: `gc.callbacks` time every collection (start -> stop). Recorded while the book is
  built (automatic collections: this is where CPython's full collections of a growing heap
  happen), then during a steady workload of creates and cancels on top of the N orders, then
  one explicit `gc.collect()` (the pause a full collection costs at that size). The workload and
  the explicit collection are repeated after `gc.freeze()` (everything alive moved to the
  permanent generation, which the collector never scans). These are CPython's defaults: the
  numbers Tidepool had before it got a GC policy, kept for comparison.
- GC pauses with Tidepool's policy (`tidepool.runtime.gcpolicy`, what `Sequencer.open` installs
  in the server), in a second fresh process (`--gc-policy`, run by default and reported under
  `gc_policy`): installed before the book is built (as before recovery), `freeze_now()` after it
  (as after recovery), then `--rounds` rounds of the same steady workload, each with its pauses
  and the RSS after it, then one explicit `gc.collect()`. RSS growth per round, compared with the
  default-GC process's (`rss_after_workload_mb`), shows whether the policy leaks cyclic garbage:
  the workload itself grows the state (the engine keeps every order it ever accepted).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
import tracemalloc
from decimal import Decimal
from typing import Any

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import CancelOrder, CreateOrder, Faucet
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.runtime import gcpolicy

N_ACCOUNTS = 1000
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class GcTimer:
    """Times every collection in wall time (what a request waiting behind it sees) and in this
    thread's CPU time (the collector's own work: on a shared, noisy machine a descheduled
    process inflates wall times by several ms now and then, GC or not)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []  # (generation, wall s, cpu s)
        self._t0 = 0.0
        self._c0 = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
            self._c0 = time.thread_time()
        else:
            wall = time.perf_counter() - self._t0
            self.pauses.append((info["generation"], wall, time.thread_time() - self._c0))

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"collections": len(self.pauses)}
        for gen in (0, 1, 2):
            p = [s for g, s, _ in self.pauses if g == gen]
            out[f"gen{gen}"] = {
                "count": len(p),
                "max_ms": max(p) * 1e3 if p else 0.0,
                "total_ms": sum(p) * 1e3,
            }
        out["max_ms"] = max((s for _, s, _ in self.pauses), default=0.0) * 1e3
        out["max_cpu_ms"] = max((c for _, _, c in self.pauses), default=0.0) * 1e3
        return out

    def reset(self) -> None:
        self.pauses.clear()


def _create(seq: int, i: int) -> CreateOrder:
    side = "bid" if i % 2 == 0 else "ask"
    off = 1 + (i * 7919) % 2000
    return CreateOrder(
        seq=seq,
        ts_ms=seq,
        account=f"acct{i % N_ACCOUNTS:05d}",
        symbol="BTC",
        side="bid" if side == "bid" else "ask",
        price_ticks=100_000 - off if side == "bid" else 100_000 + off,
        size_lots=100,
        tif="ALO",
        reduce_only=False,
        client_order_id=f"00000000-0000-4000-8000-{i:012d}",
    )


def build(engine: Engine, n: int, start_seq: int) -> int:
    seq = start_seq
    for i in range(n):
        seq += 1
        out = engine.apply(_create(seq, i))
        if out.reject is not None:
            raise RuntimeError(f"create {i} rejected: {out.reject!r}")
    return seq


def workload(engine: Engine, n_orders: int, ops: int, seq: int, base: int) -> tuple[int, float]:
    """`ops` commands: a new resting order, then the cancel of an old one, alternately."""
    t0 = time.perf_counter()
    for k in range(ops // 2):
        seq += 1
        engine.apply(_create(seq, base + k))
        seq += 1
        victim = (k * 7) % n_orders
        engine.apply(
            CancelOrder(
                seq=seq,
                ts_ms=seq,
                account=f"acct{victim % N_ACCOUNTS:05d}",
                symbol="BTC",
                order_id=victim + 1,
            )
        )
    return seq, time.perf_counter() - t0


def fresh_engine() -> tuple[Engine, int]:
    engine = Engine(DEFAULT_MARKETS, EngineConfig(max_open_orders=10_000_000))
    seq = 0
    for a in range(N_ACCOUNTS):
        seq += 1
        engine.apply(Faucet(seq=seq, ts_ms=seq, account=f"acct{a:05d}", amount=Decimal(10**15)))
    return engine, seq


def measure_tracemalloc(n: int) -> dict[str, Any]:
    engine, seq = fresh_engine()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    build(engine, n, seq)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"orders": n, "bytes_per_order": (after - before) / n}


def measure(n: int, ops: int) -> dict[str, Any]:
    timer = GcTimer()
    engine, seq = fresh_engine()
    gc.collect()
    rss0 = rss_bytes()
    gc.callbacks.append(timer)
    t0 = time.perf_counter()
    seq = build(engine, n, seq)
    build_s = time.perf_counter() - t0
    during_build = timer.summary()
    gc.callbacks.remove(timer)
    gc.collect()
    rss1 = rss_bytes()
    gc.callbacks.append(timer)
    out: dict[str, Any] = {
        "orders": n,
        "build_s": build_s,
        "rss_before_mb": rss0 / 2**20,
        "rss_after_mb": rss1 / 2**20,
        "rss_bytes_per_order": (rss1 - rss0) / n,
        "tracked_objects": len(gc.get_objects()),
        "gc_thresholds": list(gc.get_threshold()),
        "gc_during_build": during_build,
    }
    timer.reset()
    seq, wl_s = workload(engine, n, ops, seq, n)
    out["gc_workload"] = {**timer.summary(), "ops": ops, "us_per_op": wl_s / ops * 1e6}
    out["rss_after_workload_mb"] = rss_bytes() / 2**20
    timer.reset()
    gc.collect()
    out["gc_full_collect_ms"] = timer.summary()["max_ms"]
    # the same after gc.freeze(): the surviving heap goes to the permanent generation
    gc.freeze()
    out["frozen_objects"] = gc.get_freeze_count()
    timer.reset()
    seq, wl_s = workload(engine, n, ops, seq, n + ops)
    out["gc_workload_frozen"] = {**timer.summary(), "ops": ops, "us_per_op": wl_s / ops * 1e6}
    timer.reset()
    gc.collect()
    out["gc_full_collect_frozen_ms"] = timer.summary()["max_ms"]
    gc.callbacks.remove(timer)
    gc.unfreeze()
    return out


def measure_policy(n: int, ops: int, rounds: int) -> dict[str, Any]:
    """Pauses and RSS with Tidepool's GC policy, set up the way the server sets it up."""
    timer = GcTimer()
    gc.callbacks.append(timer)  # before the policy's own callback: its freeze is in the pause
    gcpolicy.install()
    engine, seq = fresh_engine()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    seq = build(engine, n, seq)
    build_s = time.perf_counter() - t0
    out: dict[str, Any] = {
        "orders": n,
        "policy": "tidepool.runtime.gcpolicy",
        "gc_thresholds": list(gc.get_threshold()),
        "build_s": build_s,
        "gc_during_build": timer.summary(),
        "rss_before_mb": rss0 / 2**20,
        "rss_after_build_mb": rss_bytes() / 2**20,
    }
    timer.reset()
    t0 = time.perf_counter()
    gcpolicy.freeze_now()
    out["freeze_now_ms"] = (time.perf_counter() - t0) * 1e3
    timer.reset()
    out["rounds"] = []
    for r in range(rounds):
        seq, wl_s = workload(engine, n, ops, seq, n + r * ops)
        out["rounds"].append(
            {
                **timer.summary(),
                "ops": ops,
                "us_per_op": wl_s / ops * 1e6,
                "rss_mb": rss_bytes() / 2**20,
            }
        )
        timer.reset()
    out["gc_workload"] = {
        "max_ms": max(r["max_ms"] for r in out["rounds"]),
        "max_cpu_ms": max(r["max_cpu_ms"] for r in out["rounds"]),
        "ops": ops * rounds,
        "collections": sum(r["collections"] for r in out["rounds"]),
    }
    t0 = time.perf_counter()
    gc.collect()
    out["gc_full_collect_ms"] = (time.perf_counter() - t0) * 1e3
    out["max_ms"] = max(
        out["gc_during_build"]["max_ms"], out["gc_workload"]["max_ms"], out["gc_full_collect_ms"]
    )
    out["max_cpu_ms"] = max(
        out["gc_during_build"]["max_cpu_ms"],
        out["gc_workload"]["max_cpu_ms"],
        out["gc_full_collect_ms"],
    )
    gc.callbacks.remove(timer)
    gcpolicy.uninstall()
    return out


def _policy_in_subprocess(n: int, ops: int, rounds: int, cpu: int) -> dict[str, Any]:
    args = ["--orders", str(n), "--ops", str(ops), "--rounds", str(rounds), "--cpu", str(cpu)]
    r = subprocess.run(
        [sys.executable, "-m", "bench.memory_bench", "--gc-policy", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if r.returncode != 0:
        raise RuntimeError(f"memory_bench --gc-policy failed: {r.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(r.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--ops", type=int, default=200_000, help="workload commands after the build")
    p.add_argument("--tracemalloc", action="store_true")
    p.add_argument("--gc-policy", action="store_true", help="only the run with Tidepool's policy")
    p.add_argument("--rounds", type=int, default=5, help="workload rounds with the policy")
    p.add_argument("--cpu", type=int, default=-1)
    args = p.parse_args(argv)
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    out: dict[str, Any]
    if args.tracemalloc:
        out = measure_tracemalloc(args.orders)
    elif args.gc_policy:
        out = measure_policy(args.orders, args.ops, args.rounds)
    else:
        out = measure(args.orders, args.ops)
        out["gc_policy"] = _policy_in_subprocess(args.orders, args.ops, args.rounds, args.cpu)
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
