"""Closed-loop (saturation) load with wrk, when it is installed, replaying the bench's requests.

Why: every ratio in one run should come from the same client, and `tidepool serve --workers 2`
runs on both CPUs, sharing CPU 1 with the client, so the client's own CPU cost is taken from the
server. Measured at saturation on the 2-core VM (bench/wrk_compare.py): loadgen.py uses ~5 µs
of CPU per request against the HTTP ceiling and 6-9 µs against `--workers 2`; wrk (C, epoll,
with this script's per-response status counting, ~0.5 µs of it) uses ~4 µs and 6-10 µs. Most of
both is the kernel's loopback TCP (~3 µs per request). wrk is optional (`apt-get install wrk`):
without it the bench uses loadgen.py for everything.

wrk cannot run an open loop at a fixed rate without coordinated omission, so it is used only
for saturation runs; fixed-rate runs keep loadgen.py.

How a run works (`saturate`):
- The requests (complete raw HTTP requests, as loadgen.py replays them) are split into one
  contiguous slice per wrk thread and written as files that bench/wrk_replay.lua reads in
  `init`; each `request()` returns the next one. Slices are disjoint, so a non-cycling list
  never sends a request twice; a thread that runs out stops.
- Warm-up is a separate, shorter wrk invocation; the measured invocation replays only what the
  warm-up did not send (for non-cycling lists) on fresh connections. `statuses_all`, `sent` and
  `completed` cover both invocations, like loadgen.py's (which counts its warm-up in them).
- wrk's `-d` takes whole seconds, so wrk gets a longer `-d` and is stopped with SIGINT
  `duration` seconds after its threads are ready; throughput is wrk's answered requests over
  wrk's own measured runtime (it stops within its 100 ms stats tick, counted in both).
- Differences from loadgen.py's saturation numbers: wrk does not wait for the requests in
  flight when it stops (up to one per connection is sent but never read: `cut_off`), and wrk
  applies its coordinated-omission correction to the latency histogram (samples above twice
  the mean per-connection interval get synthetic companions), which can raise p99.9/max-side
  percentiles slightly compared with loadgen.py's raw send-to-answer times.
- Client CPU: RUSAGE_CHILDREN around each wrk process (the servers are children too, but are
  not reaped while a run is measured).
"""

from __future__ import annotations

import json
import math
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().with_name("wrk_replay.lua")
# One thread: wrk is pinned to one CPU anyway. Measured (bench/wrk_compare.py, two rounds):
# HTTP ceiling 68.2k/71.6k req/s with one thread vs 69.7k/72.5k with two, verify ceiling
# 17.4k/17.2k vs 17.0k/16.7k: within noise, so the simpler one.
THREADS = 1
# Longest latency wrk records without counting a timeout; its histogram has one slot per µs up
# to this, and snapshot or GC stalls in the server can approach a second.
TIMEOUT_S = 5


def available() -> bool:
    return shutil.which("wrk") is not None


def _write_slices(prefix: Path, requests: list[bytes], threads: int) -> list[tuple[int, int]]:
    """Thread k gets requests[lo:hi] in file f"{prefix}.{k}"; returns the (lo, hi) per thread."""
    n = len(requests)
    bounds = [(n * k // threads, n * (k + 1) // threads) for k in range(threads)]
    for k, (lo, hi) in enumerate(bounds, start=1):
        with open(f"{prefix}.{k}", "wb") as f:
            for req in requests[lo:hi]:
                f.write(b"%d\n" % len(req))
                f.write(req)
    return bounds


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_once(
    port: int,
    requests: list[bytes],
    workdir: Path,
    *,
    duration: float,
    connections: int,
    cycle: bool,
    threads: int = THREADS,
    pin: list[str] | None = None,
    host: str = "127.0.0.1",
) -> dict[str, Any]:
    """One wrk invocation; wrk's numbers plus which requests it sent (`sent_slices`)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    threads = max(1, min(threads, connections))
    prefix = workdir / "wrk-slice"
    bounds = _write_slices(prefix, requests, threads)
    argv = [
        *(pin or []),
        wrk,
        "--threads",
        str(threads),
        "--connections",
        str(connections),
        "--duration",
        f"{math.ceil(duration) + 2}s",
        "--timeout",
        f"{TIMEOUT_S}s",
        "--script",
        str(SCRIPT),
        f"http://{host}:{port}/",
        "--",
        str(prefix),
        "1" if cycle else "0",
        str(threads),
    ]
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        ready = proc.stderr.readline()
        if "WRK_READY" in ready:
            # wrk installs its SIGINT handler right after the last thread's init(); SIGINT ends
            # its sleep early and the threads stop at their next stats tick
            time.sleep(duration)
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=duration + 60)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    line = next((x for x in out.splitlines() if x.startswith("WRK_RESULT ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {ready}{err[-2000:]}{out[-1000:]}")
    res: dict[str, Any] = json.loads(line.split(" ", 1)[1])
    sent = [int(s) for s in res["sent_per_thread"]]
    # what each thread sent, as index ranges into `requests` (all of its slice once it cycled)
    res["sent_slices"] = [
        (lo, lo + min(s, hi - lo)) for (lo, hi), s in zip(bounds, sent, strict=True)
    ]
    res["sent"] = sum(sent)
    res["threads"] = threads
    res["client_cpu_s"] = cpu
    res["wall_s"] = wall
    return res


def _ranges(indices: list[int]) -> list[tuple[int, int]]:
    """Sorted, merged half-open ranges covering `indices`."""
    out: list[tuple[int, int]] = []
    for i in sorted(indices):
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def _merge(into: dict[int, int], statuses: dict[str, Any]) -> None:
    for code, count in statuses.items():
        into[int(code)] = into.get(int(code), 0) + int(count)


def saturate(
    port: int,
    requests: list[bytes],
    workdir: Path,
    *,
    warmup: float,
    duration: float,
    connections: int,
    cycle: bool = False,
    threads: int = THREADS,
    pin: list[str] | None = None,
) -> dict[str, Any]:
    """A saturation run in loadgen.py's result shape (plus `client`, `sent_ranges`, ...)."""
    original = list(range(len(requests)))  # index in `requests` of each request still unsent
    sent_idx: list[int] = []  # indices in `requests` of every request sent
    statuses_all: dict[int, int] = {}
    sent = completed = cut_off = 0
    cpu = wall = 0.0
    exhausted = False

    def one(reqs_idx: list[int], seconds: float) -> dict[str, Any]:
        nonlocal sent, completed, cut_off, cpu, wall, exhausted
        r = run_once(
            port,
            [requests[i] for i in reqs_idx],
            workdir,
            duration=seconds,
            connections=connections,
            cycle=cycle,
            threads=threads,
            pin=pin,
        )
        sent += r["sent"]
        completed += r["requests"]
        cut_off += r["sent"] - r["requests"]
        cpu += r["client_cpu_s"]
        wall += r["wall_s"]
        exhausted = exhausted or bool(r["exhausted"])
        _merge(statuses_all, r["statuses"])
        for lo, hi in r["sent_slices"]:
            sent_idx.extend(reqs_idx[lo:hi])
        return r

    if warmup > 0:
        if cycle:
            one(original, warmup)
        else:
            # A non-cycling list is sized for warm-up + measured time at the expected rate; the
            # warm-up gets only its share of it (if the server is faster, the warm-up threads run
            # out and idle, rather than leaving nothing to measure). What it did not send is
            # appended to the measured part, so nothing is lost and nothing is sent twice.
            share = math.ceil(len(original) * warmup / (warmup + duration))
            one(original[:share], warmup)
            done = set(sent_idx)
            original = original[share:] + [i for i in original[:share] if i not in done]
    m = one(original, duration) if original else None
    lat = m["latency_us"] if m else {}
    measured_s = m["duration_us"] / 1e6 if m else duration
    errors = m["errors"] if m else {}
    measured_statuses: dict[int, int] = {}
    if m:
        _merge(measured_statuses, m["statuses"])

    def ms(key: str) -> float | None:
        return lat[key] / 1e3 if m and m["requests"] else None

    return {
        "client": "wrk",
        "wrk_threads": m["threads"] if m else threads,
        "mode": "saturation",
        "target_rate": 0.0,
        "connections": connections,
        "duration_s": measured_s,
        "warmup_s": warmup,
        "sent": sent,
        "completed": completed,
        "measured": m["requests"] if m else 0,
        "throughput_rps": m["requests"] / measured_s if m and measured_s > 0 else 0.0,
        "latency_ms": {k: ms(k) for k in ("p50", "p90", "p99", "p99.9", "max", "mean")},
        "statuses": {str(k): v for k, v in sorted(measured_statuses.items())},
        "statuses_all": {str(k): v for k, v in sorted(statuses_all.items())},
        "unanswered": None,  # wrk does not wait for the requests in flight when it stops
        "cut_off": cut_off,
        "exhausted_requests": exhausted,
        "lost_connections": errors.get("connect", 0)
        + errors.get("read", 0)
        + errors.get("write", 0),
        "wrk_errors": errors,
        "sent_ranges": None if cycle else _ranges(sent_idx),
        "client_cpu_s": cpu,
        "client_cpu_util": cpu / wall if wall > 0 else 0.0,
        "client_wall_s": wall,
    }
