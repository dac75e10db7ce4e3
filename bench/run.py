"""Tidepool benchmark suite: one command runs every piece, side by side, in one run.

    python -m bench            # full run (~10 minutes on a 2-core machine)
    python -m bench --quick    # every piece, tiny (seconds): checks the suite still works

Writes `report.json` and `report.md` into `--out` (default bench/results/). Pieces, in order:
engine micro-benchmarks, CPU counters per engine command (when `perf` can count), request
pipeline stages, journal/recovery, memory and GC (own
process), then signed HTTP load on loopback against the two reference ceilings and Tidepool
(servers on CPU 0, load generator on CPU 1), then other clients' latency while one client
loops a large read (bench/large_reads.py). Targets are reported as ratios against the
ceilings measured in the same run, marked met or missed; nothing here asserts a timing.
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
    counters,
    engine_bench,
    http_bench,
    journal_bench,
    large_reads,
    pipeline_bench,
)
from bench.http_bench import busy_cpu_seconds
from bench.report import evaluate_targets, write_markdown

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results"
PIECES = ("engine", "counters", "pipeline", "journal", "memory", "http", "large_reads")


def machine() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    versions: dict[str, str] = {}
    for mod in ("uvicorn", "uvloop", "httptools", "solders", "orjson", "msgspec"):
        try:
            from importlib.metadata import version

            versions[mod] = version(mod)
        except Exception:
            versions[mod] = "?"
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "kernel": platform.release(),
        "packages": versions,
        "loadavg_at_start": os.getloadavg(),
        "git_commit": _git_commit(),
    }


def _git_commit() -> str:
    try:
        r = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return r.stdout.strip()
    except OSError:
        return "?"


def run_memory(quick: bool) -> dict[str, Any]:
    """Memory and GC in fresh processes (clean RSS), pinned to CPU 0."""
    orders, ops, traced = (20_000, 4000, 5000) if quick else (1_000_000, 200_000, 100_000)
    out: dict[str, Any] = {}
    for key, extra in (
        ("rss_and_gc", ["--orders", str(orders), "--ops", str(ops)]),
        ("tracemalloc", ["--orders", str(traced), "--tracemalloc"]),
    ):
        r = subprocess.run(
            [sys.executable, "-m", "bench.memory_bench", "--cpu", "0", *extra],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if r.returncode != 0:
            raise RuntimeError(f"memory_bench failed: {r.stderr[-3000:]}")
        out[key] = json.loads(r.stdout)
    return out


def wait_for_quiet(max_wait: float, threshold: float = 0.15) -> dict[str, Any]:
    """Wait (up to max_wait s) until the machine is idle: busy CPU over 2 s below `threshold`
    cores. Other people's jobs on a shared machine would otherwise be measured too."""
    t0 = time.monotonic()
    busy = 0.0
    while True:
        b0 = busy_cpu_seconds()
        time.sleep(2.0)
        busy = (busy_cpu_seconds() - b0) / 2.0
        waited = time.monotonic() - t0
        if busy < threshold or waited >= max_wait:
            return {"waited_s": waited, "busy_cores_when_started": busy, "quiet": busy < threshold}


def speed_probe() -> float:
    """ms of CPU time for a fixed, deterministic workload shaped like the engine's (objects in a
    large dict reached by scattered lookups, attribute updates, small allocations), pinned to
    CPU 0. The VM's speed moves between runs (other tenants' load on the host, which no counter
    inside the VM shows); this number, taken before each piece, tells a slow run from a slow
    change when runs are compared."""

    class _Obj:
        __slots__ = ("link", "n")

        def __init__(self, n: int) -> None:
            self.n = n
            self.link: _Obj | None = None

    def work() -> float:
        t0 = time.process_time()
        table = {i * 7919 % 200_003: _Obj(i) for i in range(200_000)}
        keys = list(table)
        step = 7_777
        total = 0
        for i in range(300_000):
            obj = table[keys[(i * step) % len(keys)]]
            obj.n += 1
            obj.link = _Obj(i)
            total += obj.n
        return (time.process_time() - t0) * 1e3

    return _pinned(0, lambda: {"ms": min(work() for _ in range(3))})["ms"]


def _own_cpu_seconds() -> float:
    """CPU of this process and of every child it has waited for."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _pinned(cpu: int, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run an in-process benchmark on one CPU, then give the orchestrator every CPU back."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        return fn()
    finally:
        os.sched_setaffinity(0, before)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="every piece, tiny: a smoke test")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument(
        "--only", default=",".join(PIECES), help=f"comma-separated subset of {','.join(PIECES)}"
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for the machine to be idle (shared machines)",
    )
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(PIECES)
    if unknown:
        p.error(f"unknown pieces: {sorted(unknown)}")
    quick: bool = args.quick
    command = "python -m bench" + (" --quick" if quick else "")
    if args.only != ",".join(PIECES):
        command += f" --only {args.only}"
    if args.wait_quiet:
        command += f" --wait-quiet {args.wait_quiet:g}"
    report: dict[str, Any] = {
        "command": command,
        "quick": quick,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "errors": {},
        "noise": {},
    }
    jobs: dict[str, Callable[[], dict[str, Any]]] = {
        "engine": lambda: _pinned(0, lambda: engine_bench.run(quick)),
        "counters": lambda: _pinned(0, lambda: counters.run(quick)),
        "pipeline": lambda: _pinned(0, lambda: pipeline_bench.run(quick)),
        "journal": lambda: _pinned(0, lambda: journal_bench.run(quick)),
        "memory": lambda: run_memory(quick),
        "http": lambda: http_bench.run(quick),
        "large_reads": lambda: large_reads.run(quick),
    }
    if args.wait_quiet > 0:
        report["machine"]["quiet_wait"] = wait_for_quiet(args.wait_quiet)
    t_all = time.perf_counter()
    for name in PIECES:
        if name not in only:
            continue
        probe_ms = speed_probe()
        t0 = time.perf_counter()
        busy0, own0 = busy_cpu_seconds(), _own_cpu_seconds()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            report[name] = jobs[name]()
        except Exception as exc:  # report what failed, keep running the other pieces
            report["errors"][name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        wall = time.perf_counter() - t0
        other = (busy_cpu_seconds() - busy0) - (_own_cpu_seconds() - own0)
        report["noise"][name] = {
            "wall_s": wall,
            "other_cpu_cores": max(0.0, other) / wall,
            "speed_probe_ms": probe_ms,
        }
        print(f"[bench] {name} done in {wall:.1f}s", file=sys.stderr)
    report["elapsed_s"] = time.perf_counter() - t_all
    report["machine"]["loadavg_at_end"] = os.getloadavg()
    report["targets"] = evaluate_targets(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "report.md").write_text(write_markdown(report))
    print(f"[bench] wrote {args.out / 'report.json'} and report.md", file=sys.stderr)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
