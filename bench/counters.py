"""CPU counters per engine command (`perf stat`), next to the timings of engine_bench.

On this shared VM the wall time of the same engine loop moves by up to 2x between minutes
(docs/benchmarks.md, speed probe), so a few percent gained or lost cannot be seen in µs.
Hardware counters barely move: the instructions a command executes do not depend on the
machine's speed, and the cache-miss events it causes depend only a little on the neighbours.
They also tell *why* a command costs more on a big book: instructions per cancel are the same
at 1k and 100k resting orders; what grows is cache misses (the book no longer fits the caches).

Each case runs in a child process under `perf stat --control`: the child builds the book,
then enables the counters around the loop of `Engine.apply` calls only (the same commands as
engine_bench.bench_book_sizes). Needs the `perf` tool and permission to count one's own
process (perf_event_paranoid <= 2); without them the piece reports why and is skipped.

    python -m bench.counters            # the table, standalone
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

EVENTS = ("instructions", "cycles", "cache-references", "cache-misses")
KINDS = ("create_resting", "cancel_by_id", "cancel_by_cloid")
ROOT = Path(__file__).resolve().parent.parent


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


def measure(size: int, kind: str, ops: int) -> dict[str, float]:
    """Counters per command for `ops` commands of `kind` on a book of `size` resting orders."""
    with tempfile.TemporaryDirectory() as tmp:
        ctl, ack, out = (os.path.join(tmp, n) for n in ("ctl", "ack", "out"))
        os.mkfifo(ctl)
        os.mkfifo(ack)
        cmd = ["perf", "stat", "-x,", "-e", ",".join(EVENTS)]
        cmd += ["--control", f"fifo:{ctl},{ack}", "-D", "-1", "-o", out, "--"]
        cmd += [sys.executable, "-m", "bench.counters", "--child", str(size), kind, str(ops)]
        env = {**os.environ, "COUNTERS_CTL": ctl, "COUNTERS_ACK": ack}
        subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
        counts: dict[str, float] = {}
        for line in Path(out).read_text().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].isdigit() and fields[2] in EVENTS:
                counts[fields[2]] = int(fields[0]) / ops
    return counts


def run(quick: bool) -> dict[str, Any]:
    why = unavailable()
    if why is not None:
        return {"available": False, "reason": why}
    sizes, ops = ([1000], 200) if quick else ([1000, 100_000], 20_000)
    rows = []
    for size in sizes:
        n = min(ops, size // 4)
        for kind in KINDS:
            rows.append({"book_size": size, "kind": kind, "ops": n, **measure(size, kind, n)})
    return {"available": True, "events": list(EVENTS), "rows": rows}


def _child(size: int, kind: str, ops: int) -> None:
    """Build the book, then count `ops` commands of `kind` between enable and disable."""
    from bench.engine_bench import Seq, acct, cancels_by_cloid, cancels_by_id, fill_book, rest
    from tidepool.runtime import gcpolicy

    gcpolicy.install()
    seq = Seq()
    engine = fill_book(size, seq)
    ids = random.Random(7).sample(range(1, size + 1), ops)
    if kind == "cancel_by_id":
        cmds = cancels_by_id(seq, ids)
    elif kind == "cancel_by_cloid":
        cmds = cancels_by_cloid(seq, ids)
    else:
        cmds = [rest(seq, size + i, acct(i)) for i in range(ops)]
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
        _child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    else:
        import json

        print(json.dumps(run("--quick" in sys.argv), indent=2))
