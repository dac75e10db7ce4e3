"""Signed HTTP load on loopback: Tidepool and the two reference ceilings, side by side.

Every single-process server is pinned to CPU 0 (`taskset -c 0`); the load generator is one
process pinned to CPU 1: wrk (bench/wrk_client.py, bench/wrk_replay.lua) for saturation runs
when it is installed, bench/loadgen.py for fixed-rate runs and when wrk is not installed;
Tidepool with `--workers 2` (two gateway worker processes and the engine process) runs
unpinned, on both CPUs, so it competes with the load generator for CPU 1; the orchestrator only
waits while a run is measured. All request bodies are signed before the runs
(bench/fixtures.py). For each run the server's own CPU time (utime + stime from /proc/PID/stat)
is read before and after, which gives the server CPU cost per request independently of the
client; saturation runs also count the server's instructions and cycles per request with
`perf stat -p` when perf can count (bench/counters.py `Attached`).

Order of the runs:
1. HTTP ceiling, verify ceiling: saturation, then the fixed rates, replaying (in a loop) signed
   cancels of unknown client ids over 64 accounts; also what Tidepool replays in "cancel_unknown".
   Then the verify ceiling served by 2 processes (unpinned) at saturation: the reference for
   `--workers 2` (layout "workers" in the rows).
2. Tidepool (`tidepool serve --durability process --speedbump-ms 0`, journal on):
   - creates: signed ALO bids with unique client ids (they rest, building the book);
   - cancels: signed cancels, by client order id, of orders those creates left resting (a
     prefill tops the book up first if the creates did not leave enough);
   - cancel_unknown: the ceilings' bodies (cancels of unknown ids: the full parse + verify +
     engine + journal path, answered 400 "Order not found"), at saturation;
   - mix: 60/35/5 create/cancel/cancel_all on 16 other accounts;
   - profile: one more signed-cancel saturation run under `py-spy record` (if installed).
3. The same scenarios (but the profile) against a fresh `tidepool serve --workers 2`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import counters, fixtures, wrk_client
from bench.loadgen import save_requests

SERVER_CPU = 0
CLIENT_CPU = 1
SINGLE = "one_process"
WORKERS = "workers"
WORKER_PROCESSES = 2
_LISTENING = re.compile(r"listening on (http://[\d.]+:(\d+))")
CLK_TCK = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Plan:
    warmup: float
    duration: float
    sat_warmup: float
    sat_duration: float
    rates: tuple[int, ...]
    connections: int
    ceiling_pool: int
    accounts: int
    mix_accounts: int
    profile_seconds: float
    max_sat_requests: int
    quiet_wait: float

    @staticmethod
    def make(quick: bool) -> Plan:
        if quick:
            return Plan(0.2, 0.6, 0.2, 0.6, (200,), 8, 2000, 8, 4, 1.0, 3000, 0.0)
        return Plan(1.0, 5.0, 1.0, 4.0, (500, 1000, 2500), 32, 20_000, 64, 32, 6.0, 150_000, 20.0)


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy (all processes, all CPUs), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / CLK_TCK


def wait_until_quiet(max_wait: float, threshold: float = 0.2) -> float:
    """Before a measured run: wait (up to max_wait s) while other processes keep the machine
    busy (> threshold cores over 1 s; our servers are idle between runs). Returns seconds waited.
    """
    if max_wait <= 0:
        return 0.0
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_wait:
        b0 = busy_cpu_seconds()
        time.sleep(1.0)
        if busy_cpu_seconds() - b0 < threshold:
            break
    return time.monotonic() - t0


def _pin_prefix(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None and shutil.which("taskset") else []


def _process_cpu_seconds(pid: int) -> float:
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
        self.argv = [*_pin_prefix(cpu), *argv]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.port = 0

    def start(self, timeout: float = 60.0) -> Server:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = _LISTENING.search(line)
        if m is None:
            self.proc.kill()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"{self.name} did not start: {line!r} {err[-2000:]}")
        self.url, self.port = m.group(1), int(m.group(2))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/health", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} never answered")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """CPU used so far by the server and its child processes (gateway workers)."""
        return sum(_process_cpu_seconds(pid) for pid in (self.pid, *_children(self.pid)))

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _loadgen_argv(
    port: int,
    path: Path,
    rate: float,
    warmup: float,
    duration: float,
    connections: int,
    cycle: bool,
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--port",
        str(port),
        "--requests",
        str(path),
        "--rate",
        str(rate),
        "--warmup",
        str(warmup),
        "--duration",
        str(duration),
        "--connections",
        str(connections),
        "--cpu",
        str(CLIENT_CPU),
    ]
    if cycle:
        argv.append("--cycle")
    return argv


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
    client: str = "auto",
    wrk_threads: int = wrk_client.THREADS,
) -> dict[str, Any]:
    """One load-generator run against `server`; the client's JSON plus server CPU cost.

    `client`: "auto" runs saturation (closed-loop, rate 0) with wrk when it is installed
    (bench/wrk_client.py), so every saturation figure of a run comes from the same client, and
    fixed-rate runs with loadgen.py (wrk has no correct open loop); "python" always uses
    loadgen.py; "wrk" forces wrk (saturation only)."""
    if client == "wrk" and rate:
        raise ValueError("wrk runs only closed-loop (saturation) loads")
    use_wrk = client == "wrk" or (client == "auto" and not rate and wrk_client.available())
    if not use_wrk:
        path = workdir / "requests.msgpack"
        save_requests(path, requests)
    waited = wait_until_quiet(quiet_wait)
    # Saturation runs also count the server's instructions and cycles per request (perf, when
    # it can count): unlike req/s, that comparison with the ceilings does not move with how
    # fast the shared VM is at the minute (bench/counters.py).
    attached = None
    if not rate and counters.unavailable() is None:
        attached = counters.Attached([server.pid, *_children(server.pid)])
        attached.start()
        time.sleep(0.3)  # perf attaches while the server is idle: nothing is missed
    cpu0 = server.cpu_seconds()
    busy0 = busy_cpu_seconds()
    t0 = time.perf_counter()
    if use_wrk:
        out: dict[str, Any] = wrk_client.saturate(
            server.port,
            requests,
            workdir,
            warmup=warmup,
            duration=duration,
            connections=connections,
            cycle=cycle,
            threads=wrk_threads,
            pin=_pin_prefix(CLIENT_CPU),
        )
    else:
        r = subprocess.run(
            _loadgen_argv(server.port, path, rate, warmup, duration, connections, cycle),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if r.returncode != 0:
            raise RuntimeError(f"loadgen failed: {r.stderr[-3000:]}")
        out = json.loads(r.stdout)
        out["client"] = "python"
        # which requests were sent: loadgen.py takes them in order
        out["sent_ranges"] = None if cycle else [(0, min(out["sent"], len(requests)))]
    wall = time.perf_counter() - t0
    cpu1 = server.cpu_seconds()
    busy1 = busy_cpu_seconds()
    counts = attached.stop() if attached is not None else {}
    out["server_counters_per_request"] = (
        {event: n / out["completed"] for event, n in counts.items()}
        if counts and out["completed"]
        else None
    )
    out["server_cpu_s"] = cpu1 - cpu0
    out["server_cpu_us_per_request"] = (
        (cpu1 - cpu0) / out["completed"] * 1e6 if out["completed"] else None
    )
    out["loadgen_wall_s"] = wall
    out["waited_for_quiet_s"] = waited
    # CPU used by everything else on the machine during the run (other users' jobs, the kernel
    # outside our processes), in cores: how noisy the measurement was
    client_cpu = out["client_cpu_s"]
    out["client_cpu_us_per_request"] = (
        client_cpu / out["completed"] * 1e6 if out["completed"] else None
    )
    out["other_cpu_cores"] = max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - client_cpu) / wall
    out["loadavg"] = os.getloadavg()[0]
    return out


def _rate_count(rate: float, plan: Plan) -> int:
    return int(rate * (plan.warmup + plan.duration) * 1.02) + plan.connections + 10


def _sat_count(rps: float, plan: Plan) -> int:
    n = int(rps * (plan.sat_warmup + plan.sat_duration) * 1.15) + plan.connections + 10
    return min(n, plan.max_sat_requests)


def _sent_ops(ops: list[fixtures.Op], result: dict[str, Any]) -> list[fixtures.Op]:
    """The ops whose requests the client sent (a prefix for loadgen.py; one range per wrk
    thread, and per invocation: warm-up and measured, for wrk)."""
    return [op for lo, hi in result["sent_ranges"] for op in ops[lo:hi]]


def _row(scenario: str, result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"scenario": scenario, **extra, **result}


def ceiling_argv(app: str, processes: int = 1) -> list[str]:
    """The command line of a reference ceiling server (bench/ceilings.py) on a free port."""
    argv = [sys.executable, "-m", "bench.ceilings", "--app", app, "--port", "0"]
    return [*argv, "--processes", str(processes)] if processes > 1 else argv


def _ceiling_saturation(
    srv: Server, plan: Plan, workdir: Path, pool: list[bytes]
) -> dict[str, Any]:
    """A short unmeasured warm-up (imports, first allocations), then the saturation run."""
    load(srv, pool, workdir, rate=0, warmup=0.0, duration=0.3, connections=4, cycle=True)
    return load(
        srv,
        pool,
        workdir,
        rate=0,
        warmup=plan.sat_warmup,
        duration=plan.sat_duration,
        connections=plan.connections,
        cycle=True,
        quiet_wait=plan.quiet_wait,
    )


def run_ceilings(plan: Plan, workdir: Path, pool: list[bytes]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for app in ("http", "verify"):
        with Server(f"{app} ceiling", ceiling_argv(app)) as srv:
            sat = _ceiling_saturation(srv, plan, workdir, pool)
            rows.append(_row(f"{app}_ceiling", sat, server=f"{app} ceiling"))
            for rate in plan.rates:
                res = load(
                    srv,
                    pool,
                    workdir,
                    rate=rate,
                    warmup=plan.warmup,
                    duration=plan.duration,
                    connections=plan.connections,
                    cycle=True,
                    quiet_wait=plan.quiet_wait,
                )
                rows.append(_row(f"{app}_ceiling", res, server=f"{app} ceiling"))
    # The reference for `--workers 2`: the verify ceiling in WORKER_PROCESSES processes on the
    # shared socket, unpinned like Tidepool's workers (so sharing CPU 1 with the load generator).
    argv = ceiling_argv("verify", WORKER_PROCESSES)
    with Server("verify ceiling, 2 processes", argv, cpu=None) as srv:
        sat = _ceiling_saturation(srv, plan, workdir, pool)
        rows.append(_row("verify_ceiling", sat, server=srv.name, layout=WORKERS))
    return rows


def _faucet(url: str, accounts: range) -> None:
    with httpx.Client(timeout=10.0) as client:
        for k in accounts:
            r = client.post(
                f"{url}/sandbox/faucet",
                json={"account": fixtures.account(k), "amount": "1000000000"},
            )
            r.raise_for_status()


def _ok(result: dict[str, Any]) -> int:
    return int(result.get("statuses_all", {}).get("200", 0))


def _snapshots(state_dir: Path) -> set[str]:
    return {p.name for p in state_dir.glob("*.snapshot")}


class TidepoolRuns:
    def __init__(
        self, plan: Plan, workdir: Path, srv: Server, state_dir: Path, layout: str = SINGLE
    ) -> None:
        self.layout = layout
        self.plan = plan
        self.workdir = workdir
        self.srv = srv
        self.state_dir = state_dir
        self.rows: list[dict[str, Any]] = []
        self.signing_s = 0.0

    def sign(self, ops: list[fixtures.Op]) -> list[bytes]:
        t0 = time.perf_counter()
        out = fixtures.sign_all(ops)
        self.signing_s += time.perf_counter() - t0
        return out

    def run(
        self, scenario: str, reqs: list[bytes], rate: float, *, cycle: bool = False, **extra: Any
    ) -> dict[str, Any]:
        p = self.plan
        snaps = _snapshots(self.state_dir)
        res = load(
            self.srv,
            reqs,
            self.workdir,
            rate=rate,
            warmup=p.warmup if rate else p.sat_warmup,
            duration=p.duration if rate else p.sat_duration,
            connections=p.connections,
            cycle=cycle,
            quiet_wait=p.quiet_wait,
        )
        res["snapshots_written"] = len(_snapshots(self.state_dir) - snaps)
        row = _row(scenario, res, server="tidepool", layout=self.layout, **extra)
        self.rows.append(row)
        return row

    def creates(self, book: fixtures.CreateCancelBook, sat_estimate: float) -> float:
        sat = 0.0
        for rate in (*self.plan.rates, 0):
            n = _rate_count(rate, self.plan) if rate else _sat_count(sat_estimate, self.plan)
            ops = book.creates(n)
            row = self.run("creates", self.sign(ops), rate)
            book.rest(_sent_ops(ops, row))
            if not rate:
                sat = row["throughput_rps"]
        return sat

    def prefill(self, book: fixtures.CreateCancelBook, needed: int) -> int:
        missing = needed - len(book.resting)
        if missing <= 0:
            return 0
        ops = book.creates(missing)
        res = load(
            self.srv,
            self.sign(ops),
            self.workdir,
            rate=0,
            warmup=0.0,
            duration=600.0,
            connections=self.plan.connections,
            # runs until every request is answered, which only loadgen.py does (wrk would
            # keep idling for its whole duration once the list is exhausted)
            client="python",
        )
        book.rest(_sent_ops(ops, res))
        return missing

    def cancels(self, book: fixtures.CreateCancelBook, sat_estimate: float) -> None:
        p = self.plan
        counts = [_rate_count(r, p) for r in p.rates] + [_sat_count(sat_estimate, p)]
        self.prefill(book, sum(counts))
        for rate, n in zip((*p.rates, 0), counts, strict=True):
            ops, hits = book.cancels(n)
            self.run("cancels", self.sign(ops), rate, targets_resting=hits)

    def mix(self, mix: fixtures.Mix, sat_estimate: float) -> None:
        for rate in (*self.plan.rates, 0):
            n = _rate_count(rate, self.plan) if rate else _sat_count(sat_estimate, self.plan)
            ops = mix.ops(n)
            kinds = Counter(op.path.rsplit("/", 1)[1] for op in ops)
            self.run("mix", self.sign(ops), rate, kinds=dict(kinds))


def profile_cancels(
    runs: TidepoolRuns, book: fixtures.CreateCancelBook, sat_estimate: float, seconds: float
) -> dict[str, Any]:
    """py-spy record of the Tidepool server during a signed-cancel saturation run."""
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        return {"available": False, "note": "py-spy not installed (pip install py-spy)"}
    n = min(int(sat_estimate * (seconds + 2) * 1.15) + 100, runs.plan.max_sat_requests)
    runs.prefill(book, n)
    ops, hits = book.cancels(n)
    reqs = runs.sign(ops)
    raw = runs.workdir / "profile.txt"
    # py-spy runs on the client's CPU so it steals as little as possible from the server
    spy = subprocess.Popen(
        [
            *_pin_prefix(CLIENT_CPU),
            pyspy,
            "record",
            "--pid",
            str(runs.srv.pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    res = load(
        runs.srv,
        reqs,
        runs.workdir,
        rate=0,
        warmup=0.5,
        duration=seconds,
        connections=runs.plan.connections,
        quiet_wait=0.0,  # py-spy is already recording
    )
    try:
        _, err = spy.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        spy.kill()
        _, err = spy.communicate()
    if not raw.exists():
        return {"available": False, "note": f"py-spy failed: {err[-500:]}"}
    prof = summarize_profile(raw.read_text())
    prof.update(
        {
            "available": True,
            "tool": "py-spy record --nonblocking --rate 250 (raw collapsed stacks)",
            "throughput_rps_while_profiled": res["throughput_rps"],
            "targets_resting": hits,
        }
    )
    return prof


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    m = re.match(r"(.*) \((.*?):(\d+)\)$", frame.strip())
    if m is None:
        return frame.strip()
    func, path = m.group(1), m.group(2)
    for marker in ("site-packages/", "src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path})"


def summarize_profile(text: str, top: int = 25) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks."""
    total = 0
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    idle = 0
    for line in text.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not stack or not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += count
        self_c[frames[-1]] += count
        for name in set(frames):
            incl[name] += count
        if frames[-1].startswith(("run_forever", "_run_once", "select ", "poll ")):
            idle += count
    if total == 0:
        return {"samples": 0, "self": [], "inclusive": []}

    def rows(c: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": k, "pct": 100.0 * v / total} for k, v in c.most_common(top)]

    return {"samples": total, "self": rows(self_c), "inclusive": rows(incl)}


def _tidepool_argv(state_dir: Path, workers: int) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "tidepool",
        "serve",
        "--port",
        "0",
        "--state-dir",
        str(state_dir),
        "--durability",
        "process",
        "--speedbump-ms",
        "0",
        "--max-open-orders",
        "1000000",
        # Snapshots are measured on their own (journal piece). Here the forked snapshot child
        # would inherit the single-process server's pin to CPU 0 and take ~0.4 s of it per
        # 100k commands, which an unpinned server runs on another core.
        "--snapshot-every",
        "10000000",
        "--log-level",
        "warning",
    ]
    return [*argv, "--workers", str(workers)] if workers else argv


def run_tidepool(
    plan: Plan,
    workdir: Path,
    pool: list[bytes],
    v_rps: float,
    layout: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every Tidepool scenario against a fresh server of one layout: `SINGLE` (one process
    pinned to CPU 0, like the ceilings) or `WORKERS` (the engine process and WORKER_PROCESSES
    gateway workers, unpinned: they share both CPUs with the load generator)."""
    workers = WORKER_PROCESSES if layout == WORKERS else 0
    state_dir = workdir / f"state-{layout}"
    argv = _tidepool_argv(state_dir, workers)
    info: dict[str, Any] = {"argv": argv[1:]}
    with Server(f"tidepool {layout}", argv, cpu=None if workers else SERVER_CPU) as srv:
        _faucet(srv.url, range(plan.accounts + plan.mix_accounts))
        runs = TidepoolRuns(plan, workdir, srv, state_dir, layout)
        book = fixtures.CreateCancelBook(range(plan.accounts))
        c_rps = runs.creates(book, v_rps)
        cancel_est = min(v_rps * (2 if workers else 1), 2.5 * max(c_rps, 100.0))
        runs.cancels(book, cancel_est)
        if layout == SINGLE:
            # The VM's speed drifts over minutes (docs/benchmarks.md), and the first ceiling run
            # was minutes ago: measure the verify ceiling again right after the cancels it is
            # compared with (Tidepool idles meanwhile). The report uses the mean of both runs.
            again = "verify ceiling, again after Tidepool's cancels"
            with Server(again, ceiling_argv("verify")) as ceiling:
                sat = _ceiling_saturation(ceiling, plan, workdir, pool)
            runs.rows.append(_row("verify_ceiling", sat, server=ceiling.name, again=True))
        runs.run("cancel_unknown", pool, 0, cycle=True)
        mix = fixtures.Mix(range(plan.accounts, plan.accounts + plan.mix_accounts))
        runs.mix(mix, cancel_est)
        if layout == SINGLE:
            cancel_sat = [
                r for r in runs.rows if r["scenario"] == "cancels" and not r["target_rate"]
            ]
            prof_est = cancel_sat[0]["throughput_rps"] if cancel_sat else cancel_est
            info["profile"] = profile_cancels(runs, book, prof_est, plan.profile_seconds)
        info["signing_s"] = runs.signing_s
        info["resting_orders_left"] = len(book.resting)
        info["journal_bytes"] = sum(p.stat().st_size for p in state_dir.glob("*.journal"))
    return runs.rows, info


def run(quick: bool) -> dict[str, Any]:
    plan = Plan.make(quick)
    workdir = Path(tempfile.mkdtemp(prefix="tidepool-bench-http-"))
    t_start = time.perf_counter()
    try:
        accounts = range(plan.accounts)
        t0 = time.perf_counter()
        pool = fixtures.sign_all(fixtures.cancel_pool(plan.ceiling_pool, accounts))
        pool_signing = time.perf_counter() - t0
        ceilings = run_ceilings(plan, workdir, pool)
        verify_sat = next(r for r in ceilings if r["scenario"] == "verify_ceiling")
        v_rps = max(1.0, float(verify_sat["throughput_rps"]))
        rows = list(ceilings)
        tidepool: dict[str, Any] = {}
        for layout in (SINGLE, WORKERS):
            layout_rows, tidepool[layout] = run_tidepool(plan, workdir, pool, v_rps, layout)
            rows += layout_rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "plan": plan.__dict__,
        "pinning": {
            "server_cpu": SERVER_CPU,
            "client_cpu": CLIENT_CPU,
            "how": "taskset -c" if shutil.which("taskset") else "none (taskset missing)",
            "workers_layout": f"{WORKER_PROCESSES} gateway workers + engine process, unpinned",
        },
        "ceiling_pool_signing_s": pool_signing,
        "runs": rows,
        "tidepool": tidepool,
        "elapsed_s": time.perf_counter() - t_start,
    }


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), indent=2))
