"""Instructions per signed cancel in a real server, Tidepool's and the verify ceiling's, counted
by valgrind's callgrind: the server's own work, which the machine's neighbours do not move (its
CPU time from /proc moves by ±10 % between runs of the same code on a shared VM).

    python -m bench.server_instructions [--requests 4000] [--only tidepool|ceiling]
                                        [--json] [-- extra tidepool serve args]

Each server (the verify ceiling of bench/ceilings.py, then `tidepool serve` as the http piece
starts it) runs under `valgrind --tool=callgrind --instr-atstart=no`, pinned to CPU 0. Counting
is switched on (`callgrind_control -i on`) only around N saturated signed cancels from
bench/loadgen.py (32 connections, CPU 1): the ceiling replays cancels of unknown orders, as in
the http piece; Tidepool cancels orders it was given to rest beforehand, uncounted. For each
server it prints instructions per request in all, and the two parts of the event loop's turn:
reading requests (libuv's `uv__read`: httptools and uvicorn's protocol callbacks) and the
request tasks (`task_step`: the ASGI app and uvicorn's response writing). The numbers are
stable to a fraction of a percent between runs, so an A/B of two trees needs one run of each.
Needs valgrind; ~1 minute per server.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import fixtures, http_bench

CONNECTIONS = 32
# callgrind_annotate's inclusive lines for the two parts of a loop turn, by C function.
PARTS = {"read": "stream.c:uv__read ", "tasks": "_asynciomodule.c:task_step_impl "}


def _control(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True)


def _saturate(srv: http_bench.Server, requests: list[bytes], workdir: Path) -> dict[str, Any]:
    """Every one of `requests`, sent at saturation (however slow the server under valgrind)."""
    return http_bench.load(
        srv, requests, workdir, rate=0, warmup=0.0, duration=3600, connections=CONNECTIONS
    )


def _counted(srv: http_bench.Server, requests: list[bytes], workdir: Path) -> int:
    """Run `requests` with counting on, dump the counts; how many were answered."""
    _control(srv.pid, "-i", "on")
    res = _saturate(srv, requests, workdir)
    _control(srv.pid, "-i", "off")
    _control(srv.pid, "-d")
    if set(res["statuses_all"]) != {"200"}:
        raise RuntimeError(f"{srv.name} answered {res['statuses_all']}")
    return int(res["completed"])


def _per_request(out: Path, answered: int) -> dict[str, float]:
    """Instructions per request from the dump callgrind wrote next to `out`."""
    dumps = sorted(out.parent.glob(out.name + ".*"))
    if not dumps:
        raise RuntimeError(f"callgrind wrote no dump at {out}.*")
    text = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dumps[-1])],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    counts: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(", line)
        if m is None:
            continue
        value = int(m.group(1).replace(",", "")) / answered
        if "PROGRAM TOTALS" in line:
            counts["all"] = value
        for part, function in PARTS.items():
            if function in line and part not in counts:
                counts[part] = value
    return counts


def measure(requests: int, only: str | None, extra: list[str]) -> dict[str, dict[str, float]]:
    workdir = Path(tempfile.mkdtemp(prefix="tidepool-instructions-"))
    accounts = range(http_bench.Plan.make(False).accounts)
    results: dict[str, dict[str, float]] = {}
    try:
        for name in ("ceiling", "tidepool"):
            if only not in (None, name):
                continue
            out = workdir / f"callgrind-{name}.out"
            valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]
            valgrind.append(f"--callgrind-out-file={out}")
            if name == "ceiling":
                argv = [*valgrind, *http_bench.ceiling_argv("verify")]
                pool = fixtures.sign_all(fixtures.cancel_pool(requests, accounts))
                with http_bench.Server(name, argv) as srv:
                    _saturate(srv, pool[: min(2000, requests)], workdir)  # warm-up
                    answered = _counted(srv, pool, workdir)
            else:
                argv = [*valgrind, *http_bench.tidepool_argv(workdir / "state"), *extra]
                with http_bench.Server(name, argv) as srv:
                    http_bench.faucet(srv.url, accounts)
                    book = fixtures.CreateCancelBook(accounts)
                    creates = book.creates(requests + 2000)
                    _saturate(srv, fixtures.sign_all(creates), workdir)
                    book.rest(creates)
                    _saturate(srv, fixtures.sign_all(book.cancels(2000)[0]), workdir)  # warm-up
                    cancels = fixtures.sign_all(book.cancels(requests)[0])
                    answered = _counted(srv, cancels, workdir)
            results[name] = _per_request(out, answered)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--only", choices=("tidepool", "ceiling"))
    p.add_argument("--json", action="store_true")
    p.add_argument("extra", nargs="*", help="after --: more `tidepool serve` arguments")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        sys.stderr.write("bench.server_instructions needs valgrind (apt-get install valgrind)\n")
        return 2
    results = measure(args.requests, args.only, args.extra)
    if args.json:
        sys.stdout.write(json.dumps(results) + "\n")
        return 0
    for name, counts in results.items():
        parts = "  ".join(f"{k} {v / 1000:7.1f}k" for k, v in counts.items())
        sys.stdout.write(f"{name:9s} instructions per request: {parts}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
