"""Server CPU per signed create and cancel at saturation while WebSocket subscribers listen
(issue 14: "no regression" of signed cancels while 100 subscribers listen), measured as the ws
piece's REST-under-listeners run measures it, but reporting the server's CPU (/proc) per
request rather than a ratio to the verify ceiling, which moves with every neighbour.

    python -m bench.ws_listener_cost [none|market|orders] [--listeners 100]

A fresh one-process server (journal on, pinned to CPU 0) gets signed ALO creates at
saturation, then cancels of the orders they left resting, from bench/loadgen.py on CPU 1 while
the listeners (one process, CPU 1) hold their subscriptions: `market` listens to `book` and
`trades` of BTC, `orders` to those and one run account's `account_order_updates` each, as
the ws piece's listeners do; `none` has no listener.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench import fixtures, http_bench, ws_bench

KEYS = ("throughput_rps", "server_cpu_us_per_request", "other_cpu_cores")


def _sets(kind: str, accounts: int) -> list[list[dict[str, Any]]]:
    if kind == "market":
        return [[ws_bench.BOOK, ws_bench.TRADES]]
    return [
        [ws_bench.BOOK, ws_bench.TRADES, {"source": "account_order_updates", "account": a}]
        for a in map(fixtures.account, range(accounts))
    ]


def measure(kind: str, listeners: int) -> dict[str, dict[str, float]]:
    plan = http_bench.Plan.make(False)
    workdir = Path(tempfile.mkdtemp(prefix="tidepool-bench-wslisteners-"))
    out: dict[str, dict[str, float]] = {}
    try:
        argv = http_bench.tidepool_argv(workdir / "state")
        with contextlib.ExitStack() as stack:
            srv = stack.enter_context(http_bench.Server("tidepool", argv))
            http_bench.faucet(srv.url, range(plan.accounts))
            if kind != "none":
                sets = _sets(kind, plan.accounts)
                stack.enter_context(
                    ws_bench.subscribers(srv.port, listeners, sets, len(sets[0]) + 1)
                )
            book = fixtures.CreateCancelBook(range(plan.accounts))
            creates = book.creates(60_000)
            for scenario in ("creates", "cancels"):
                ops = creates if scenario == "creates" else book.cancels(len(book.resting))[0]
                res = http_bench.load(
                    srv,
                    fixtures.sign_all(ops),
                    workdir,
                    rate=0,
                    warmup=1.0,
                    duration=4.0,
                    connections=plan.connections,
                )
                if scenario == "creates":
                    book.rest(creates[: res["sent"]])
                out[scenario] = {k: round(res[k], 2) for k in KEYS}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=("none", "market", "orders"), nargs="?", default="orders")
    p.add_argument("--listeners", type=int, default=100)
    args = p.parse_args()
    print(json.dumps({args.kind: measure(args.kind, args.listeners)}))


if __name__ == "__main__":
    main()
