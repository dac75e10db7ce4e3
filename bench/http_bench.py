"""Signed HTTP load on loopback: Tidepool against the two reference ceilings, in one run.

Single-process servers are pinned to CPU 0 (`taskset -c 0`); the load generator
(bench/loadgen.py) is one process pinned to CPU 1. Every request body is signed before the
runs (bench/fixtures.py). For each run the server's own CPU time (utime + stime from
/proc/PID/stat) gives its CPU cost per request, whatever the client costs.

Order of the runs:
1. HTTP ceiling and verify ceiling (bench/ceilings.py) at saturation, replaying signed cancels
   of unknown client ids over the run's accounts.
2. `tidepool serve --durability process --speedbump-ms 0` (journal on): signed ALO creates at
   saturation (they rest, building the book); signed cancels of those orders by client order id
   at a fixed rate (latency), then at saturation; then the verify ceiling again, right after,
   because the shared VM's speed drifts over minutes: the target uses the mean of both.
3. Side by side, two fresh servers started together, both on CPU 0: a plain one and one with
   `--market-maker --price-walk` (MAKER_ARGS: the maker re-quotes on every mark change, 30 a
   second). Creates at saturation in each, then saturated cancels alternated (plain, maker,
   plain, maker; one round with --quick), the server not measured frozen by SIGSTOP meanwhile.
   After each maker run its walk and re-quotes are checked to go on. The target compares the
   best cancels of each side (issue 15: within 5 %).
4. The `--workers 2` layout, unpinned on both CPUs (so it shares CPU 1 with the load generator):
   the verify ceiling in 2 processes, then creates and cancels at saturation against a fresh
   `tidepool serve --workers 2`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import fixtures
from bench.loadgen import save_requests

SERVER_CPU = 0
CLIENT_CPU = 1
SINGLE = "one_process"
WORKERS = "workers"
# A mark change every 100 ms in each of the 3 markets, each re-quoted by the maker (a batch of
# edits); small steps, so the marks stay far above the bench's bids (90 000-92 000): every
# create rests, as without the maker.
MAKER_ARGS: tuple[str, ...] = ("--market-maker", "--price-walk", "--walk-interval-ms", "100")
MAKER_ARGS += ("--walk-volatility-bps", "2")
WITH_MAKER, WITHOUT_MAKER = "_market_maker", "_without_maker"
_LISTENING = re.compile(r"listening on (http://[\d.]+:(\d+))")
CLK_TCK = os.sysconf("SC_CLK_TCK")
# What else runs against a server while it is measured (bench/ws_bench.py's subscribers)
Listeners = Callable[["Server"], AbstractContextManager[object]] | None
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    warmup: float  # seconds before the measured window, and the window, of every run
    duration: float
    rate: int  # the fixed-rate run's requests/s
    connections: int
    ceiling_pool: int  # distinct pre-signed requests the ceilings replay in a loop
    accounts: int
    max_requests: int  # per saturation run
    quiet_wait: float  # up to this long before each run, wait for the machine to be idle
    maker_rounds: int  # saturated cancel runs of each server in step 3, alternated

    @staticmethod
    def make(quick: bool) -> Plan:
        if quick:
            return Plan(0.2, 0.6, 200, 8, 2000, 8, 3000, 0.0, 1)
        return Plan(1.0, 4.0, 2500, 32, 20_000, 64, 150_000, 20.0, 2)


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy (all processes, all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def wait_until_quiet(max_wait: float, threshold: float = 0.2) -> float:
    """Wait (up to max_wait s) while other processes keep the machine busy (> threshold cores
    over 1 s; our servers idle between runs). Returns the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_wait:
        b0 = busy_cpu_seconds()
        time.sleep(1.0)
        if busy_cpu_seconds() - b0 < threshold:
            break
    return time.monotonic() - t0


def pin(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []


def process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


class Server:
    """A server subprocess that prints `... listening on http://H:P`, pinned to one CPU unless
    `cpu` is None (a multi-process server, free to use every core)."""

    def __init__(self, name: str, argv: list[str], cpu: int | None = SERVER_CPU) -> None:
        self.name = name
        self.argv = [*pin(cpu), *argv]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = _LISTENING.search(line)
        if m is None:
            self.proc.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"{self.name} did not start: {line!r} {err[-2000:]}")
        self.url, self.port = m.group(1), int(m.group(2))
        deadline = time.monotonic() + 60.0
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/health", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} never answered")

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """CPU used so far by the server and its child processes (gateway workers)."""
        return sum(process_cpu_seconds(p) for p in (self.pid, *_children(self.pid)))


def load(
    server: Server,
    requests: list[bytes],
    workdir: Path,
    *,
    rate: float,
    warmup: float,
    duration: float,
    connections: int,
    cycle: bool = False,
    quiet_wait: float = 0.0,
) -> dict[str, Any]:
    """One bench/loadgen.py run against `server` (rate 0: saturation); its JSON, plus the
    server's CPU per answer and the cores every other process used meanwhile (noise)."""
    path = workdir / "requests.msgpack"
    save_requests(path, requests)
    waited = wait_until_quiet(quiet_wait)
    argv = [sys.executable, "-m", "bench.loadgen", "--port", str(server.port)]
    argv += ["--requests", str(path), "--rate", str(rate), "--warmup", str(warmup)]
    argv += ["--duration", str(duration), "--connections", str(connections)]
    argv += ["--cpu", str(CLIENT_CPU), *(["--cycle"] if cycle else [])]
    cpu0, busy0, t0 = server.cpu_seconds(), busy_cpu_seconds(), time.perf_counter()
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"loadgen failed: {r.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(r.stdout)
    wall = time.perf_counter() - t0
    server_cpu = server.cpu_seconds() - cpu0
    other = busy_cpu_seconds() - busy0 - server_cpu - out["client_cpu_s"]
    done = out["completed"]
    out["server_cpu_us_per_request"] = server_cpu / done * 1e6 if done else None
    out["other_cpu_cores"] = max(0.0, other) / wall
    out["waited_for_quiet_s"] = waited
    return out


def ceiling_argv(app: str, processes: int = 1) -> list[str]:
    """A reference ceiling server (bench/ceilings.py) on a free port."""
    return [sys.executable, "-m", "bench.ceilings", "--app", app, "--processes", str(processes)]


def _saturate_ceiling(
    name: str, argv: list[str], cpu: int | None, plan: Plan, workdir: Path, pool: list[bytes]
) -> dict[str, Any]:
    with Server(name, argv, cpu) as srv:
        # a short unmeasured warm-up first: imports, first allocations
        load(srv, pool, workdir, rate=0, warmup=0.0, duration=0.3, connections=4, cycle=True)
        res = load(
            srv,
            pool,
            workdir,
            rate=0,
            warmup=plan.warmup,
            duration=plan.duration,
            connections=plan.connections,
            cycle=True,
            quiet_wait=plan.quiet_wait,
        )
    return {"scenario": name, **res}


def faucet(url: str, accounts: range) -> None:
    with httpx.Client(timeout=10.0) as client:
        for k in accounts:
            r = client.post(
                f"{url}/sandbox/faucet",
                json={"account": fixtures.account(k), "amount": "1000000000"},
            )
            r.raise_for_status()


def tidepool_argv(state_dir: Path, workers: int = 0) -> list[str]:
    return [
        *(sys.executable, "-m", "tidepool", "serve", "--port", "0"),
        *("--state-dir", str(state_dir), "--durability", "process", "--speedbump-ms", "0"),
        *("--max-open-orders", "1000000", "--log-level", "warning"),
        # Snapshots are not measured here: the forked child would inherit the pin to CPU 0
        *("--snapshot-every", "10000000"),
        *(("--workers", str(workers)) if workers else ()),
    ]


def _measure(
    srv: Server, plan: Plan, workdir: Path, ops: list[fixtures.Op], rate: float = 0.0
) -> dict[str, Any]:
    return load(
        srv,
        fixtures.sign_all(ops),
        workdir,
        rate=rate,
        warmup=plan.warmup,
        duration=plan.duration,
        connections=plan.connections,
        quiet_wait=plan.quiet_wait,
    )


def _rest_orders(
    srv: Server, plan: Plan, workdir: Path, book: fixtures.CreateCancelBook, n_sat: int, total: int
) -> dict[str, Any]:
    """Creates at saturation (their run is returned), then, unmeasured, as many more as it takes
    for `total` orders to rest for the later cancels: loadgen sends a prefix of its list."""
    creates = book.creates(max(n_sat, total))
    res = _measure(srv, plan, workdir, creates)
    book.rest(creates[: res["sent"]])
    if len(book.resting) < total:
        more = book.creates(total - len(book.resting))
        load(
            srv,
            fixtures.sign_all(more),
            workdir,
            rate=0,
            warmup=0,
            duration=600,
            connections=plan.connections,
        )
        book.rest(more)
    return res


def _saturated_requests(plan: Plan, rps_estimate: float) -> int:
    return min(int(rps_estimate * (plan.warmup + plan.duration) * 1.15) + 100, plan.max_requests)


def _tidepool(
    plan: Plan, workdir: Path, layout: str, rps_estimate: float, listeners: Listeners = None
) -> list[dict[str, Any]]:
    """Creates at saturation, then cancels of the orders they left resting (first at the
    plan's fixed rate in one process), against a fresh server of `layout`; with
    `listeners(server)` entered for the whole time if given."""
    workers = 2 if layout == WORKERS else 0
    rows: list[dict[str, Any]] = []
    argv = tidepool_argv(workdir / f"state-{layout}", workers)
    with contextlib.ExitStack() as stack:
        srv = stack.enter_context(
            Server(f"tidepool {layout}", argv, None if workers else SERVER_CPU)
        )
        faucet(srv.url, range(plan.accounts))
        if listeners is not None:
            stack.enter_context(listeners(srv))
        book = fixtures.CreateCancelBook(range(plan.accounts))
        n_sat = _saturated_requests(plan, rps_estimate)
        window = plan.warmup + plan.duration
        rates = [float(plan.rate), 0.0] if layout == SINGLE else [0.0]
        counts = [int(r * window * 1.02) + 100 if r else n_sat for r in rates]
        res = _rest_orders(srv, plan, workdir, book, n_sat, sum(counts))
        rows.append({"scenario": "creates", "layout": layout, **res})
        for rate, n in zip(rates, counts, strict=True):
            res = _measure(srv, plan, workdir, book.cancels(n)[0], rate)
            rows.append({"scenario": "cancels", "layout": layout, **res})
    return rows


@contextlib.contextmanager
def _frozen(srv: Server) -> Iterator[None]:
    """The server (and any child) stopped by SIGSTOP, so it takes no CPU at all meanwhile."""
    pids = [srv.pid, *_children(srv.pid)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def _btc_mark_and_mid(srv: Server) -> tuple[str, str]:
    data = httpx.get(f"{srv.url}/api/v1/info/prices", timeout=10.0).json()["data"]
    btc = next(p for p in data if p["symbol"] == "BTC")
    return btc["mark"], btc["mid"]


def _check_still_quoting(srv: Server, res: dict[str, Any]) -> None:
    """After a SIGCONT the maker's server answered every request of its run, and its walk and
    re-quotes go on: the mark moves, and the mid of the maker's best bid and ask with it."""
    if set(res["statuses_all"]) != {"200"}:
        raise RuntimeError(f"{srv.name} answered {res['statuses_all']}")
    mark, mid = _btc_mark_and_mid(srv)
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        now_mark, now_mid = _btc_mark_and_mid(srv)
        if now_mark != mark and now_mid != mid:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{srv.name}: no walk or no re-quote for 60 s after SIGCONT")


def maker_pair(plan: Plan, workdir: Path, rps_estimate: float) -> list[dict[str, Any]]:
    """Step 3: a plain server and one with MAKER_ARGS, started together; creates at saturation
    in each, then saturated cancels alternated between them, `plan.maker_rounds` each."""
    n_sat = _saturated_requests(plan, rps_estimate)
    rows: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        sides = []
        for label, extra in ((WITHOUT_MAKER, ()), (WITH_MAKER, MAKER_ARGS)):
            argv = [*tidepool_argv(workdir / f"state{label}"), *extra]
            srv = stack.enter_context(Server(f"tidepool{label}", argv))
            faucet(srv.url, range(plan.accounts))
            sides.append((label, srv, fixtures.CreateCancelBook(range(plan.accounts))))
        order = [0, 1] + [0, 1] * plan.maker_rounds
        for k, i in enumerate(order):
            label, srv, book = sides[i]
            # The other server sleeps in SIGSTOP: the maker's walk and re-quotes never take CPU 0
            # from the plain server's run; the plain server, idle, would cost nothing beside the
            # maker's, but both ways alike leave nothing to argue about.
            with _frozen(sides[1 - i][1]):
                if k < 2:
                    n = n_sat * plan.maker_rounds
                    res = _rest_orders(srv, plan, workdir, book, n_sat, n)
                else:
                    res = _measure(srv, plan, workdir, book.cancels(n_sat)[0])
            if label == WITH_MAKER:
                _check_still_quoting(srv, res)
            scenario = "creates" if k < 2 else "cancels"
            rows.append({"scenario": scenario + label, "layout": SINGLE, **res})
    return rows


def one_process_cancels(
    plan: Plan, workdir: Path, pool: list[bytes], listeners: Listeners = None
) -> list[dict[str, Any]]:
    """The runs the signed-cancel ratio is taken from: the verify ceiling, a one-process
    Tidepool's creates and cancels (while `listeners(server)` listen, if given), the verify
    ceiling again."""
    argv = ceiling_argv("verify")
    rows = [_saturate_ceiling("verify_ceiling", argv, SERVER_CPU, plan, workdir, pool)]
    verify_rps = max(100.0, rows[0]["throughput_rps"])
    rows += _tidepool(plan, workdir, SINGLE, verify_rps, listeners=listeners)
    rows.append(_saturate_ceiling("verify_ceiling", argv, SERVER_CPU, plan, workdir, pool))
    return rows


def run(quick: bool) -> dict[str, Any]:
    plan = Plan.make(quick)
    workdir = Path(tempfile.mkdtemp(prefix="tidepool-bench-http-"))
    try:
        pool = fixtures.sign_all(fixtures.cancel_pool(plan.ceiling_pool, range(plan.accounts)))
        http = ceiling_argv("http")
        rows = [_saturate_ceiling("http_ceiling", http, SERVER_CPU, plan, workdir, pool)]
        rows += one_process_cancels(plan, workdir, pool)
        verify_rps = max(100.0, rows[1]["throughput_rps"])
        rows += maker_pair(plan, workdir, verify_rps)
        two = ceiling_argv("verify", 2)
        rows.append(
            {
                **_saturate_ceiling("verify_ceiling", two, None, plan, workdir, pool),
                "layout": WORKERS,
            }
        )
        rows += _tidepool(plan, workdir, WORKERS, 2 * verify_rps)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"plan": plan.__dict__, "runs": rows}
