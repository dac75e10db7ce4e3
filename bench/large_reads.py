"""Large reads must not hold the writer: other clients' latency while one client loops a read
whose cost grows with the state (issue 12).

One `tidepool serve` (pinned to CPU 0, as in http_bench) with RESTING resting orders, all in one
account, so that account's GET /orders is the largest read there is (~4 MB at 12,000). Then the
same probe, side by side in this run: signed creates and cancels from another account at a fixed
rate on one connection (bench/loadgen.py, latency from the due time), first alone, then while one
client loops GET /sandbox/state_hash, then while one loops that account's GET /orders. The looper
(`python -m bench.large_reads --loop`, pinned to CPU 1 with the probe) reads each answer whole
into one buffer, as cheaply as a client can, and sends the next request at once.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import fixtures
from bench.http_bench import (
    CLIENT_CPU,
    ROOT,
    Server,
    faucet,
    load,
    process_cpu_seconds,
    tidepool_argv,
    wait_until_quiet,
)

PROBE_RATE = 200  # requests/s: a bot's steady trading, far below saturation


def _reads(holder: str) -> dict[str, str]:
    return {"state_hash": "/sandbox/state_hash", "orders": f"/api/v1/orders?account={holder}"}


def run(quick: bool) -> dict[str, Any]:
    resting, warmup, duration = (2_500, 0.2, 0.8) if quick else (12_000, 0.5, 5.0)
    workdir = Path(tempfile.mkdtemp(prefix="tidepool-bench-reads-"))
    try:
        rows, sizes, alone_ms = _measure(workdir, resting, warmup, duration, 0 if quick else 20)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base = rows[0]
    for row in rows:
        row["p50_ratio"] = row["p50_ms"] / base["p50_ms"]
        row["p99_ratio"] = row["p99_ms"] / base["p99_ms"]
    return {
        "resting_orders": resting,
        "probe": f"signed create/cancel pairs at {PROBE_RATE}/s on 1 connection",
        "read_bytes": sizes,
        "read_alone_ms": alone_ms,
        "rows": rows,
    }


def _measure(
    workdir: Path, resting: int, warmup: float, duration: float, quiet_wait: float
) -> tuple[list[dict[str, Any]], dict[str, int], dict[str, float]]:
    with Server("tidepool", tidepool_argv(workdir / "state")) as srv:
        faucet(srv.url, range(2))
        book = fixtures.CreateCancelBook(range(1))
        load(
            srv,
            fixtures.sign_all(book.creates(resting)),
            workdir,
            rate=0,
            warmup=0.0,
            duration=600.0,
            connections=8,
        )  # saturation without --cycle: runs until every create is answered
        holder = fixtures.account(0)
        reads = _reads(holder)
        sizes: dict[str, int] = {}
        alone_ms: dict[str, float] = {}
        with httpx.Client(base_url=srv.url, timeout=60.0) as client:
            for name, url in reads.items():
                t0 = time.perf_counter()
                sizes[name] = len(client.get(url).content)
                alone_ms[name] = (time.perf_counter() - t0) * 1e3
        probe = fixtures.CreateCancelBook(range(1, 2))
        probe.SCENARIO = 5  # client order ids apart from the resting orders'
        rows: list[dict[str, Any]] = []
        cases: dict[str, str | None] = {"none": None, **reads}
        for name, path in cases.items():
            creates = probe.creates(int(PROBE_RATE * (warmup + duration)) // 2 + 50)
            probe.rest(creates)
            cancels, _ = probe.cancels(len(creates))
            ops = [op for pair in zip(creates, cancels, strict=True) for op in pair]
            requests = fixtures.sign_all(ops)
            waited = wait_until_quiet(quiet_wait)  # before the looper starts
            looper = None
            if path is not None:
                looper = subprocess.Popen(
                    [sys.executable, "-m", "bench.large_reads", "--loop", str(srv.port), path],
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert looper.stdout is not None
                looper.stdout.readline()  # connected, first answer read: it is looping
            cpu0 = process_cpu_seconds(srv.pid)
            res = load(
                srv,
                requests,
                workdir,
                rate=PROBE_RATE,
                warmup=warmup,
                duration=duration,
                connections=1,
            )
            cpu = process_cpu_seconds(srv.pid) - cpu0
            loops = None
            if looper is not None:
                looper.terminate()
                loops = json.loads(looper.communicate(timeout=30)[0])
            rows.append(
                {
                    "looping": name,
                    "p50_ms": res["latency_ms"]["p50"],
                    "p99_ms": res["latency_ms"]["p99"],
                    "statuses": res["statuses_all"],
                    "looper_reads_per_s": loops and loops["reads_per_s"],
                    "server_cpu_s": cpu,
                    "waited_for_quiet_s": waited,
                }
            )
    return rows, sizes, alone_ms


def loop(port: int, path: str) -> None:
    """GET `path` back to back on one connection until SIGTERM; prints reads per second."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    buf = bytearray(1 << 16)
    reads = 0
    t0 = time.perf_counter()

    def report(*_: object) -> None:
        print(json.dumps({"reads": reads, "reads_per_s": reads / (time.perf_counter() - t0)}))
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, report)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        while True:
            sock.sendall(request)
            got, total = 0, -1
            while got != total:
                if got == len(buf):
                    buf.extend(bytes(len(buf)))
                got += sock.recv_into(memoryview(buf)[got:])
                head = buf.find(b"\r\n\r\n", 0, got) if total < 0 else -1
                if head >= 0:
                    length = buf.find(b"content-length:", 0, head) + 15
                    total = head + 4 + int(buf[length : buf.find(b"\r\n", length)])
            reads += 1
            if reads == 1:
                print("looping", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--loop", nargs=2, metavar=("PORT", "PATH"), required=True)
    args = p.parse_args()
    os.sched_setaffinity(0, {CLIENT_CPU})
    loop(int(args.loop[0]), args.loop[1])
