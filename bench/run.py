"""Tidepool benchmark suite: one command measures every target, side by side, in one run.

    python -m bench                      # full run (about 8 minutes on 2 cores)
    python -m bench --quick              # every piece, tiny: checks the suite still works
    python -m bench --only engine,journal --against REF   # and this tree against git REF

Writes report.json and report.md into --out (default bench/results/, ignored by git). Pieces:
engine (bench/engine_bench.py), journal and recovery (journal_bench.py), GC pauses (its own
process, memory_bench.py), signed HTTP load against the ceilings (http_bench.py), other
clients' latency while one loops a large read (large_reads.py), the sandbox's snapshot then
revert, reset and start to ready (sandbox_bench.py), WebSocket fan-out against a bare
reference, push latency and signed cancels while subscribers listen (ws_bench.py); with
--against, the engine and replay measurements of this tree and REF interleaved (against.py).
Targets are marked met or missed in the report; nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import (
    against,
    engine_bench,
    http_bench,
    journal_bench,
    large_reads,
    sandbox_bench,
    ws_bench,
)
from bench.report import evaluate_targets, write_markdown

ROOT = Path(__file__).resolve().parent.parent
PIECES = ("engine", "journal", "memory", "http", "large_reads", "sandbox", "ws")


def machine() -> dict[str, Any]:
    info = Path("/proc/cpuinfo").read_text().splitlines()
    mem_kb = next(
        int(x.split()[1])
        for x in Path("/proc/meminfo").read_text().splitlines()
        if x.startswith("MemTotal:")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": next((x.split(":", 1)[1].strip() for x in info if "model name" in x), "?"),
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "git_commit": commit,
    }


def run_memory(quick: bool) -> dict[str, Any]:
    """In a fresh process (a clean heap), pinned to CPU 0."""
    orders, ops = (20_000, 4000) if quick else (1_000_000, 200_000)
    argv = [sys.executable, "-m", "bench.memory_bench", "--cpu", "0"]
    argv += ["--orders", str(orders), "--ops", str(ops)]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"memory_bench failed: {r.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(r.stdout)
    return result


def _pinned(fn: Callable[[bool], dict[str, Any]]) -> Callable[[bool], dict[str, Any]]:
    """Run an in-process piece on CPU 0, then give the orchestrator every CPU back."""

    def run(quick: bool) -> dict[str, Any]:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {0})
        try:
            return fn(quick)
        finally:
            os.sched_setaffinity(0, before)

    return run


def _own_cpu_seconds() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="every piece, tiny: a smoke test")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--only", default=",".join(PIECES), help=f"a subset of {','.join(PIECES)}")
    p.add_argument("--against", metavar="REF", help="also measure git REF's engine and replay")
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    if set(only) - set(PIECES):
        p.error(f"unknown pieces: {sorted(set(only) - set(PIECES))}")
    jobs: dict[str, Callable[[bool], dict[str, Any]]] = {
        "engine": _pinned(engine_bench.run),
        "journal": _pinned(journal_bench.run),
        "memory": run_memory,
        "http": http_bench.run,
        "large_reads": large_reads.run,
        "sandbox": _pinned(sandbox_bench.run),
        "ws": ws_bench.run,
    }
    if args.against:
        jobs["against"] = lambda quick: against.run(args.against, only, quick)
    report: dict[str, Any] = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "quick": args.quick,
        "started_at": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine(),
        "errors": {},
        "noise": {},
    }
    t_all = time.perf_counter()
    for name, job in jobs.items():
        if name not in only and name != "against":
            continue
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t0, busy0, own0 = time.perf_counter(), http_bench.busy_cpu_seconds(), _own_cpu_seconds()
        try:
            report[name] = job(args.quick)
        except Exception as exc:  # report what failed, keep running the other pieces
            report["errors"][name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        wall = time.perf_counter() - t0
        other = (http_bench.busy_cpu_seconds() - busy0) - (_own_cpu_seconds() - own0)
        report["noise"][name] = max(0.0, other) / wall
        print(f"[bench] {name} done in {wall:.1f}s", file=sys.stderr)
    report["elapsed_s"] = time.perf_counter() - t_all
    report["targets"] = evaluate_targets(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(write_markdown(report))
    print(f"[bench] wrote {args.out}/report.json and report.md", file=sys.stderr)
    return 1 if report["errors"] else 0
