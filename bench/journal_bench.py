"""Journal cost per durability mode, and recovery, through Tidepool's own store and sequencer,
on a temporary state dir (fsync cost is that disk's).

- store append: `FileStore.append` (durability `process`: one `os.write`), the same plus `sync`
  per command (an un-grouped fsync), `MemoryStore.append` (`none`);
- sequencer submit per mode: a request's path minus HTTP (stamp, apply, append, durability
  wait), one at a time and, for `fsync`, 64 in flight (group commit); the journal's share is
  submit minus the engine alone on the same commands;
- recovery: N journaled commands (engine_bench.command_stream) recovered from genesis by
  `journal.recovery.recover` in a fresh process with the server's GC policy, as start-up does;
- start-up: `Sequencer.open` of a state dir written through `submit` with a snapshot every
  100,000 commands and no final snapshot (as kill -9 leaves it).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.engine_bench import CONFIG, TS, acct, cloid, command_stream, faucet, fresh_engine, rest
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import CancelOrder, Command
from tidepool.engine.engine import Engine
from tidepool.journal.recovery import recover
from tidepool.journal.store import FileStore, MemoryStore
from tidepool.runtime import gcpolicy
from tidepool.runtime.clock import ManualClock, SystemClock
from tidepool.runtime.sequencer import Durability, Sequencer

ROOT = Path(__file__).resolve().parent.parent


def _us(fn: Callable[[Command], object], cmds: list[Command]) -> float:
    """µs per command of `fn` over `cmds`."""
    t0 = time.perf_counter()
    for c in cmds:
        fn(c)
    return (time.perf_counter() - t0) / len(cmds) * 1e6


def store_append(root: Path, n: int, n_fsync: int) -> dict[str, Any]:
    cmds = list(command_stream(n + n_fsync, 100))
    head, tail = cmds[:n], cmds[n:]
    store, _, _ = FileStore.open(root / "append", Engine.restore, fresh_engine)
    mem = MemoryStore(fresh_engine(), Engine.restore)

    def fsynced(c: Command) -> None:
        store.append(c)
        store.sync()

    try:
        return {
            "process_us": _us(store.append, head),
            "fsync_us": _us(fsynced, tail),
            "none_us": _us(mem.append, head),
        }
    finally:
        store.close()


def _pairs(n: int) -> list[Command]:
    """A faucet, then create-and-cancel pairs of one account (the sequencer restamps them)."""
    out: list[Command] = [faucet(1, acct(0))]
    for i in range(n // 2):
        out.append(rest(2 * i + 2, acct(0), i))
        out.append(
            CancelOrder(
                seq=2 * i + 3, ts_ms=TS, account=acct(0), symbol="BTC", client_order_id=cloid(i)
            )
        )
    return out


def sequencer(root: Path, n: int, n_fsync: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    plan: list[tuple[Durability, int, int]] = [
        ("none", 1, n),
        ("process", 1, n),
        ("fsync", 1, n_fsync),
        ("fsync", 64, n),
    ]
    for mode, in_flight, count in plan:
        cmds = _pairs(count)
        alone = _us(fresh_engine().apply, cmds)
        seqr = Sequencer.open(
            root / f"seq-{mode}-{in_flight}",
            DEFAULT_MARKETS,
            CONFIG,
            SystemClock(),
            mode,
            snapshot_every=10**9,
            gc_policy=False,
        )

        async def go(s: Sequencer = seqr, cs: list[Command] = cmds, k: int = in_flight) -> float:
            t0 = time.perf_counter()
            try:
                for i in range(0, len(cs), k):  # one at a time: no gather, no task
                    if k == 1:
                        await s.submit(cs[i])
                    else:
                        await asyncio.gather(*(s.submit(c) for c in cs[i : i + k]))
                return time.perf_counter() - t0
            finally:
                await s.close()

        submit_us = asyncio.run(go()) / len(cmds) * 1e6
        rows.append(
            {
                "durability": mode,
                "in_flight": in_flight,
                "submit_us": submit_us,
                "engine_only_us": alone,
                "journal_us": submit_us - alone,
                "commands_per_fsync": len(cmds) / seqr.fsync_count if seqr.fsync_count else None,
            }
        )
    return rows


def recovery(root: Path, n: int) -> dict[str, Any]:
    state_dir = root / "recovery"
    store, _, _ = FileStore.open(state_dir, Engine.restore, fresh_engine)
    try:
        for c in command_stream(n, 1000):
            store.append(c)
    finally:
        store.close()
    argv = [sys.executable, "-m", "bench.journal_bench", "--recover", str(state_dir)]
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=1800)
    child: dict[str, Any] = json.loads(r.stdout)
    journal_bytes = sum(p.stat().st_size for p in state_dir.glob("*.journal"))
    return {
        "commands": n,
        **child,
        "commands_per_s": child["replayed"] / child["seconds"],
        "bytes_per_command": journal_bytes / n,
    }


def _recover_child(state_dir: Path) -> dict[str, Any]:
    gcpolicy.install()  # as Sequencer.open does before recovering
    t0 = time.perf_counter()
    _, report = recover(state_dir, Engine.restore, fresh_engine, repair=False, state_hash=False)
    return {"seconds": time.perf_counter() - t0, "replayed": report.records_replayed}


def startup(root: Path, n: int, snapshot_every: int) -> dict[str, Any]:
    state_dir = root / "startup"
    clock = ManualClock(TS)
    seqr = Sequencer.open(
        state_dir, DEFAULT_MARKETS, CONFIG, clock, "process", snapshot_every, gc_policy=False
    )

    async def fill() -> None:
        for cmd in command_stream(n, 1000):
            clock.set(cmd.ts_ms)
            await seqr.submit(cmd)
        await seqr.wait_snapshot()

    asyncio.run(fill())
    seqr._store.close()  # as kill -9 leaves it: no final snapshot
    del seqr
    t0 = time.perf_counter()
    seqr = Sequencer.open(state_dir, DEFAULT_MARKETS, CONFIG, clock, "process", snapshot_every)
    seconds = time.perf_counter() - t0
    gcpolicy.uninstall()  # this process goes on benchmarking other things
    store = seqr._store
    assert isinstance(store, FileStore)
    tail = seqr.last_seq - store.snapshot_seq
    store.close()
    return {"commands": n, "snapshot_every": snapshot_every, "tail": tail, "seconds": seconds}


def run(quick: bool) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="tidepool-bench-journal-"))
    n, n_fsync, big = (2000, 100, 5000) if quick else (50_000, 2000, 1_000_000)
    try:
        return {
            "store": store_append(root, n, n_fsync),
            "sequencer": sequencer(root, n, n_fsync),
            "recovery": recovery(root, big),
            "startup": startup(root, big, 1000 if quick else 100_000),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--recover"]:
        print(json.dumps(_recover_child(Path(sys.argv[2]))))
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
