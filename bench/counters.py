"""CPU counters per engine command (`perf stat`), next to the timings of engine_bench.

On this shared VM the wall time of the same engine loop moves by up to 2x between minutes
(docs/benchmarks.md, speed probe), so a few percent gained or lost cannot be seen in µs.
Hardware counters barely move: the instructions a command executes do not depend on the
machine's speed, and the cache-miss events it causes depend only a little on the neighbours.
They also tell *why* a command costs more on a big book: a cancel executes no more
instructions at 100k resting orders than at 1k, but takes ~1.8x the cycles (memory stalls: the
book no longer fits the caches). Cycles count only while the process runs, so time the VM was
not scheduled does not show in them; memory contention from neighbours still does. perf's
generic `cache-misses` event on this AMD VM also counts misses served by L2; it moved with the
number of scattered lookups in side-by-side experiments, but does not measure DRAM traffic.

Each case runs in a child process under `perf stat --control`: the child builds the book,
then enables the counters around the loop of `Engine.apply` calls only (the same commands as
engine_bench.bench_book_sizes). Needs the `perf` tool and permission to count one's own
process (perf_event_paranoid <= 2); without them the piece reports why and is skipped.

`Attached` counts running server processes the same way for the HTTP piece (http_bench): the
cycles a server spends per request at saturation compare Tidepool with the verify ceiling
without the VM's speed of the minute in the ratio.

    python -m bench.counters            # the table, standalone
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

EVENTS = ("instructions", "cycles", "cache-references", "cache-misses")
KINDS = ("create_resting", "cancel_by_id", "cancel_by_cloid")
ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def unavailable() -> str | None:
    """Why counters cannot be read here, or None when they can."""
    if shutil.which("perf") is None:
        return "the perf tool is not installed"
    try:
        r = subprocess.run(
            ["perf", "stat", "-x,", "-e", "instructions", "--", "true"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"perf stat failed: {exc}"
    first = r.stderr.strip().splitlines()[-1:] or [""]
    if r.returncode != 0 or not first[0].split(",")[0].isdigit():
        return f"perf stat cannot count here: {first[0][:120]}"
    return None


def _parse(text: str, events: tuple[str, ...]) -> dict[str, int]:
    """Counts from `perf stat -x,` output (an event perf could not count is left out)."""
    counts: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].isdigit():
            name = fields[2].split(":")[0]  # "cycles:u" where only user space may be counted
            if name in events:
                counts[name] = int(fields[0])
    return counts


class Attached:
    """`perf stat -p` on processes that are already running, from `start()` to `stop()`.

    Threads or children they create later are not counted (Tidepool's servers and the ceilings
    create none while serving). Used only when `unavailable()` is None."""

    EVENTS = ("instructions", "cycles")

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self._dir = tempfile.TemporaryDirectory()
        self._out = os.path.join(self._dir.name, "out")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = ["perf", "stat", "-x,", "-e", ",".join(self.EVENTS), "-o", self._out]
        cmd += ["-p", ",".join(str(p) for p in self._pids)]
        self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> dict[str, int]:
        """The counts since `start()` (empty if perf failed)."""
        proc = self._proc
        if proc is None:
            return {}
        proc.send_signal(signal.SIGINT)  # perf stat prints its counts on SIGINT and exits
        try:
            proc.wait(timeout=30)
            return _parse(Path(self._out).read_text(), self.EVENTS)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            return {}
        finally:
            self._dir.cleanup()


def measure(size: int, kind: str, ops: int) -> dict[str, float]:
    """Counters per command for `ops` commands of `kind` on a book of `size` resting orders.

    Switching the counters on and off costs the child a fixed amount (~70k instructions and
    ~8k cache misses here: it blocks on perf's acknowledgement, and perf's work evicts its
    caches), which would be 30 misses per command over 250 commands. The same child with an
    empty window measures that cost, and it is subtracted."""
    full, empty = _window(size, kind, ops), _window(size, kind, ops, empty=True)
    return {event: (full[event] - empty.get(event, 0)) / ops for event in full}


def _window(size: int, kind: str, ops: int, empty: bool = False) -> dict[str, int]:
    """The counts of one child's counted window (`empty`: with no command in it)."""
    with tempfile.TemporaryDirectory() as tmp:
        ctl, ack, out = (os.path.join(tmp, n) for n in ("ctl", "ack", "out"))
        os.mkfifo(ctl)
        os.mkfifo(ack)
        cmd = ["perf", "stat", "-x,", "-e", ",".join(EVENTS)]
        cmd += ["--control", f"fifo:{ctl},{ack}", "-D", "-1", "-o", out, "--"]
        cmd += [sys.executable, "-m", "bench.counters", "--child", str(size), kind, str(ops)]
        cmd += ["--empty"] if empty else []
        env = {**os.environ, "COUNTERS_CTL": ctl, "COUNTERS_ACK": ack}
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
        return _parse(Path(out).read_text(), EVENTS)


def run(quick: bool) -> dict[str, Any]:
    why = unavailable()
    if why is not None:
        return {"available": False, "reason": why}
    sizes, ops = ([1000], 200) if quick else ([1000, 100_000], 20_000)
    rows = []
    for size in sizes:
        n = min(ops, size // 4)  # twice that many commands run: half of them to warm up
        for kind in KINDS:
            rows.append({"book_size": size, "kind": kind, "ops": n, **measure(size, kind, n)})
    return {"available": True, "events": list(EVENTS), "rows": rows}


def _child(size: int, kind: str, ops: int, empty: bool) -> None:
    """Build the book, run `ops` commands of `kind` uncounted (the first run of a code path
    costs more: specialisation, instruction cache), then count `ops` others between enable and
    disable."""
    from bench.engine_bench import Seq, cancels_by_cloid, cancels_by_id, creates, fill_book
    from tidepool.runtime import gcpolicy

    gcpolicy.install()
    seq = Seq()
    engine, _ = fill_book(size, seq)
    ids = random.Random(7).sample(range(1, size + 1), 2 * ops)
    if kind == "cancel_by_id":
        cmds = cancels_by_id(seq, ids)
    elif kind == "cancel_by_cloid":
        cmds = cancels_by_cloid(seq, ids)
    else:
        cmds = creates(seq, size, 2 * ops)
    warm_up, cmds = cmds[:ops], [] if empty else cmds[ops:]
    for c in warm_up:
        engine.apply(c)
    with open(os.environ["COUNTERS_CTL"], "w") as ctl, open(os.environ["COUNTERS_ACK"]) as ack:
        gcpolicy.freeze_now()
        apply = engine.apply
        ctl.write("enable\n")
        ctl.flush()
        ack.readline()
        for c in cmds:
            apply(c)
        ctl.write("disable\n")
        ctl.flush()
        ack.readline()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), "--empty" in sys.argv)
    else:
        import json

        print(json.dumps(run("--quick" in sys.argv), indent=2))
