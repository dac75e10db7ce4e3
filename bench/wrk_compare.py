"""Side by side in one run: the same saturation loads measured with loadgen.py and with wrk.

    python -m bench.wrk_compare [--seconds 4] [--repeat 2]

Ceilings (HTTP, verify; pinned to CPU 0) with loadgen.py, wrk 1 thread and wrk 2 threads, then
signed cancels of resting orders against `tidepool serve --workers 2` (unpinned: it shares
CPU 1 with the client, which is where the client's own CPU cost shows), alternating clients.
Prints one JSON object; needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import fixtures, http_bench, wrk_client
from bench.http_bench import SERVER_CPU, Server, ceiling_argv, load

CLIENTS = (("python", 1), ("wrk", 1), ("wrk", 2))


def _summary(label: str, res: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": label,
        "req_s": round(res["throughput_rps"]),
        "p50_ms": res["latency_ms"]["p50"],
        "p99_ms": res["latency_ms"]["p99"],
        "server_cpu_us_per_req": res["server_cpu_us_per_request"],
        "client_cpu_us_per_req": res["client_cpu_us_per_request"],
        "client_cpu_util": res["client_cpu_util"],
        "other_cpu_cores": res["other_cpu_cores"],
        "statuses": res["statuses_all"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--quiet-wait", type=float, default=20.0)
    p.add_argument("--parts", default="ceilings,workers", help="ceilings, workers or both")
    args = p.parse_args(argv)
    if not wrk_client.available():
        print("wrk is not installed", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="tidepool-wrk-compare-"))
    out: list[dict[str, Any]] = []
    common = {
        "warmup": args.warmup,
        "duration": args.seconds,
        "connections": args.connections,
        "quiet_wait": args.quiet_wait,
    }
    try:
        pool = fixtures.sign_all(fixtures.cancel_pool(20_000, range(64)))
        for app in ("http", "verify") if "ceilings" in args.parts else ():
            with Server(f"{app} ceiling", ceiling_argv(app), cpu=SERVER_CPU) as srv:
                load(srv, pool, workdir, rate=0, warmup=0, duration=0.5, connections=4, cycle=True)
                for rep in range(args.repeat):
                    for client, threads in CLIENTS:
                        res = load(
                            srv,
                            pool,
                            workdir,
                            rate=0,
                            cycle=True,
                            client=client,
                            wrk_threads=threads,
                            **common,
                        )
                        label = f"{app}_ceiling {client}" + (
                            f" t{threads}" if client == "wrk" else ""
                        )
                        out.append(_summary(f"{label} #{rep + 1}", res))
                        print(json.dumps(out[-1]), file=sys.stderr)
        if "workers" in args.parts:
            state = workdir / "state"
            with Server("tidepool workers", http_bench._tidepool_argv(state, 2), cpu=None) as srv:
                http_bench._faucet(srv.url, range(64))
                plan = http_bench.Plan.make(False)
                runs = http_bench.TidepoolRuns(plan, workdir, srv, state, http_bench.WORKERS)
                book = fixtures.CreateCancelBook(range(64))
                per_run = int(18_000 * (args.warmup + args.seconds))
                n_runs = args.repeat * 2
                runs.prefill(book, per_run * n_runs)
                for rep in range(args.repeat):
                    for client in ("python", "wrk"):
                        ops, hits = book.cancels(per_run)
                        res = load(srv, runs.sign(ops), workdir, rate=0, client=client, **common)
                        label = f"tidepool --workers 2 cancels {client} #{rep + 1}"
                        s = _summary(label, res)
                        s["targets_resting"] = hits
                        s["exhausted"] = res["exhausted_requests"]
                        out.append(s)
                        print(json.dumps(out[-1]), file=sys.stderr)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
