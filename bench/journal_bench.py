"""Journal cost per durability mode, snapshot stall, recovery rate and bytes per command.

Everything goes through Tidepool's own journal (tidepool.journal.FileStore, MemoryStore) and
sequencer (tidepool.runtime.sequencer.Sequencer), on a temporary state dir on the same disk as
the repository.

- record encoding: `framing.encode_record` alone;
- store append: `FileStore.append` (encode + one `os.write` on an O_APPEND fd: durability
  `process`), `FileStore.append` + `sync` per command (an un-grouped `fsync` commit), and
  `MemoryStore.append` (`none`);
- sequencer submit, per mode: the real path of a request minus HTTP (seq, apply, append,
  durability wait), one request at a time and, for `fsync`, 64 in flight (group commit); the
  journal's share is submit minus the engine alone on the same commands;
- snapshot, with N resting orders in the engine: the in-place `write_snapshot` (what the
  sequencer did every `snapshot_every` commands until it forked, and still does once at clean
  shutdown; the event loop is blocked meanwhile), and the background snapshot the sequencer
  does now (`FileStore.start_snapshot`): the event loop pays the roll and the fork
  (`background_parent_ms`); the child's encode + fsyncs + write + compaction run beside it
  (`background_child_ms`, until it has exited);
- recovery, two different numbers, both for N = 1,000,000 journaled commands (60 % creates,
  35 % cancels, 5 % cancel_all over 1 000 accounts):
  (a) pure replay: the whole journal replayed from the genesis snapshot by
      `journal.recovery.recover`, with the GC policy the server installs before recovering
      (`commands_per_s`), and the same with CPython's default GC for comparison
      (`default_gc_commands_per_s`); plus reading + checksumming + decoding alone, and the
      state hash of the result, which the server computes on demand, not at start-up;
  (b) real start-up: a state dir written through `Sequencer.submit` with the default snapshot
      policy (a background snapshot every 100,000 commands; killed without a final snapshot, as
      by kill -9), then `Sequencer.open` timed as the server boots: GC policy, newest snapshot
      restored, the journal tail after it replayed, state frozen (`startup`).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    Command,
    CreateOrder,
    Faucet,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.journal.framing import RecordScanner, encode_record
from tidepool.journal.layout import SEGMENT_SUFFIX
from tidepool.journal.recovery import recover
from tidepool.journal.store import FileStore, MemoryStore
from tidepool.runtime import gcpolicy
from tidepool.runtime.clock import ManualClock, SystemClock
from tidepool.runtime.sequencer import Durability, Sequencer

CONFIG = EngineConfig(max_open_orders=10_000_000)
TS = 1_750_000_000_000
ROOT = Path(__file__).resolve().parent.parent


def _fresh() -> Engine:
    return Engine(DEFAULT_MARKETS, CONFIG)


def _cloid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def _create(seq: int, account: str, i: int) -> CreateOrder:
    side = "bid" if i % 2 == 0 else "ask"
    off = 1 + (i * 7919) % 2000
    return CreateOrder(
        seq=seq,
        ts_ms=TS + seq,
        account=account,
        symbol="BTC",
        side="bid" if side == "bid" else "ask",
        price_ticks=100_000 - off if side == "bid" else 100_000 + off,
        size_lots=100,
        tif="ALO",
        reduce_only=False,
        client_order_id=_cloid(i),
    )


def command_stream(n: int, n_accounts: int, seed: int = 3) -> Iterator[Command]:
    """n journaled commands: faucets for every account, then the 60/35/5 mix (seq from 1)."""
    rng = random.Random(seed)
    seq = 0
    accounts = [f"acct{i:05d}" for i in range(n_accounts)]
    for a in accounts[: min(n, n_accounts)]:
        seq += 1
        yield Faucet(seq=seq, ts_ms=TS + seq, account=a, amount=Decimal(10**12))
    live: dict[str, list[int]] = {a: [] for a in accounts}
    made = 0
    while seq < n:
        seq += 1
        a = accounts[rng.randrange(n_accounts)]
        r = rng.random()
        if r < 0.60 or not live[a]:
            live[a].append(made)
            yield _create(seq, a, made)
            made += 1
        elif r < 0.95:
            i = live[a].pop(rng.randrange(len(live[a])))
            yield CancelOrder(
                seq=seq, ts_ms=TS + seq, account=a, symbol="BTC", client_order_id=_cloid(i)
            )
        else:
            live[a].clear()
            yield CancelAllOrders(
                seq=seq, ts_ms=TS + seq, account=a, symbol=None, exclude_reduce_only=False
            )


def _per_op(fn: Callable[[], None], n: int) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) / n * 1e6


def bench_store_append(root: Path, n: int, n_fsync: int) -> dict[str, Any]:
    cmds = list(command_stream(n, 100))
    out: dict[str, Any] = {"records": n}

    def encode_all() -> None:
        for c in cmds:
            encode_record(c)

    out["encode_record_us"] = _per_op(encode_all, n)
    store, _, _ = FileStore.open(root / "append", Engine.restore, _fresh)
    try:

        def append_all() -> None:
            for c in cmds:
                store.append(c)

        out["process_append_us"] = _per_op(append_all, n)
        more = list(command_stream(n + n_fsync, 100))[n:]

        def append_fsync() -> None:
            for c in more:
                store.append(c)
                store.sync()

        out["fsync_append_and_fsync_us"] = _per_op(append_fsync, n_fsync)
    finally:
        store.close()
    mem = MemoryStore(_fresh(), Engine.restore)

    def mem_all() -> None:
        for c in cmds:
            mem.append(c)

    out["none_memory_append_us"] = _per_op(mem_all, n)
    size = sum(p.stat().st_size for p in (root / "append").glob(f"*{SEGMENT_SUFFIX}"))
    out["bytes_per_record"] = size / (n + n_fsync)
    out["record_bytes_min_max"] = [
        min(len(encode_record(c)) for c in cmds),
        max(len(encode_record(c)) for c in cmds),
    ]
    return out


def _pair_builders(n: int) -> list[Callable[[int, int], Command]]:
    """n command builders for the sequencer: alternately create a resting order and cancel it."""
    builders: list[Callable[[int, int], Command]] = [
        lambda seq, ts: Faucet(seq=seq, ts_ms=ts, account="acct00000", amount=Decimal(10**12))
    ]
    for i in range(n // 2):
        cl = _cloid(i)

        def create(seq: int, ts: int, i: int = i) -> Command:
            return _create(seq, "acct00000", i)

        def cancel(seq: int, ts: int, cl: str = cl) -> Command:
            return CancelOrder(
                seq=seq, ts_ms=ts, account="acct00000", symbol="BTC", client_order_id=cl
            )

        builders += [create, cancel]
    return builders


def _engine_only_us(builders: list[Callable[[int, int], Command]]) -> float:
    engine = _fresh()
    cmds = [b(i + 1, TS) for i, b in enumerate(builders)]
    gc.collect()
    t0 = time.perf_counter()
    for c in cmds:
        engine.apply(c)
    return (time.perf_counter() - t0) / len(cmds) * 1e6


async def _submit_all(
    seq: Sequencer, builders: list[Callable[[int, int], Command]], in_flight: int
) -> float:
    gc.collect()
    t0 = time.perf_counter()
    if in_flight == 1:
        for b in builders:
            await seq.submit(b(0, TS))  # the sequencer stamps seq and time
    else:
        for i in range(0, len(builders), in_flight):
            await asyncio.gather(*(seq.submit(b(0, TS)) for b in builders[i : i + in_flight]))
    return time.perf_counter() - t0


def bench_sequencer(root: Path, n: int, n_fsync: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    plan: list[tuple[Durability, int, int]] = [
        ("none", 1, n),
        ("process", 1, n),
        ("fsync", 1, n_fsync),
        ("fsync", 64, n),
    ]
    for mode, in_flight, count in plan:
        builders = _pair_builders(count)
        engine_us = _engine_only_us(builders)
        state_dir = root / f"seq-{mode}-{in_flight}"
        seq = Sequencer.open(
            state_dir, DEFAULT_MARKETS, CONFIG, SystemClock(), mode, snapshot_every=10**9
        )

        async def go(seq: Sequencer = seq, builders: Any = builders, k: int = in_flight) -> float:
            try:
                return await _submit_all(seq, builders, k)
            finally:
                await seq.close()

        elapsed = asyncio.run(go())
        submit_us = elapsed / len(builders) * 1e6
        rows.append(
            {
                "durability": mode,
                "in_flight": in_flight,
                "commands": len(builders),
                "submit_us": submit_us,
                "engine_only_us": engine_us,
                "journal_us": submit_us - engine_us,
                "fsyncs": seq.fsync_count,
                "commands_per_fsync": len(builders) / seq.fsync_count if seq.fsync_count else None,
            }
        )
    return {"rows": rows}


def bench_snapshot(root: Path, resting: int) -> dict[str, Any]:
    """The snapshot stall with `resting` orders on the book: in place vs background."""
    store, engine, _ = FileStore.open(root / "snap", Engine.restore, _fresh)
    try:
        n_acc = max(1, resting // 1000)
        seq = 0

        def put(cmd: Command) -> None:
            engine.apply(cmd)
            store.append(cmd)

        for i in range(n_acc):
            seq += 1
            put(Faucet(seq=seq, ts_ms=TS, account=f"acct{i:05d}", amount=Decimal(10**12)))
        for i in range(resting):
            seq += 1
            put(_create(seq, f"acct{i % n_acc:05d}", i))
        gc.collect()
        t0 = time.perf_counter()
        data = engine.snapshot()
        t_encode = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.write_snapshot(engine, seq)
        t_write = time.perf_counter() - t0
        for i in range(10):  # something new to snapshot
            seq += 1
            put(_create(seq, f"acct{i % n_acc:05d}", resting + i))
        gc.collect()
        t0 = time.perf_counter()
        job = store.start_snapshot(engine, seq)
        t_parent = time.perf_counter() - t0
        assert job is not None
        _, status = os.waitpid(job.pid, 0)
        t_child = time.perf_counter() - t0
        ok = store.finish_snapshot(job, os.waitstatus_to_exitcode(status))
        t0 = time.perf_counter()
        restored = Engine.restore(data)
        t_restore = time.perf_counter() - t0
        del restored
    finally:
        store.close()
    return {
        "resting_orders": resting,
        "snapshot_bytes": len(data),
        "encode_ms": t_encode * 1e3,
        "write_snapshot_ms": t_write * 1e3,
        "background_parent_ms": t_parent * 1e3,
        "background_child_ms": t_child * 1e3,
        "background_ok": ok,
        "restore_ms": t_restore * 1e3,
        "note": "write_snapshot (encode + hash + roll + write + fsyncs) in place blocks the event "
        "loop that long (only at clean shutdown now); the sequencer's periodic snapshots are "
        "background ones: the event loop pays background_parent_ms (roll without fsync + fork)",
    }


def _write_recovery_journal(state_dir: Path, n: int) -> float:
    store, _, _ = FileStore.open(state_dir, Engine.restore, _fresh)
    t0 = time.perf_counter()
    try:
        for c in command_stream(n, 1000):
            store.append(c)
    finally:
        store.close()
    return time.perf_counter() - t0


def bench_recovery(root: Path, n: int) -> dict[str, Any]:
    """(a) pure replay of n journaled commands from genesis, as the server's recovery runs it."""
    state_dir = root / "recovery"
    t_write = _write_recovery_journal(state_dir, n)
    journal_bytes = sum(p.stat().st_size for p in state_dir.glob(f"*{SEGMENT_SUFFIX}"))
    # sanity: how many of these commands does the engine reject? (replay applies them all)
    probe = _fresh()
    sample = min(n, 20_000)
    rejects = sum(1 for c in command_stream(sample, 1000) if probe.apply(c).reject is not None)
    del probe
    # the read + checksum + msgpack-decode share of recovery, without applying anything
    gc.collect()
    t0 = time.perf_counter()
    decoded = 0
    for path in sorted(state_dir.glob(f"*{SEGMENT_SUFFIX}")):
        for _ in RecordScanner(path.read_bytes()):
            decoded += 1
    t_decode = time.perf_counter() - t0

    # Each replay runs in a fresh process, as the server's start-up does. Both used to run in
    # this process, the policy's second, after the first 1M-command state was freed: it then
    # read slower than the default GC (134k vs 164k and 185k vs 209k commands/s in two recorded
    # runs), while in fresh processes it costs fewer cycles (25-26 G vs 31.6-31.8 G for the
    # whole process, 2 pairs): the second replay ran in the scattered memory the first freed.
    default = _recover_in_child(state_dir, policy=False)
    timed = _recover_in_child(state_dir, policy=True)
    elapsed, default_s = timed["seconds"], default["seconds"]
    return {
        "what": "pure replay: every command from the genesis snapshot (no snapshot in the dir)",
        "commands": n,
        "replayed": timed["replayed"],
        "seconds": elapsed,
        "commands_per_s": timed["replayed"] / elapsed if elapsed else 0.0,
        "gc": "tidepool.runtime.gcpolicy installed, as Sequencer.open does; fresh process",
        "default_gc_seconds": default_s,
        "default_gc_commands_per_s": default["replayed"] / default_s if default_s else 0.0,
        "journal_bytes": journal_bytes,
        "bytes_per_command": journal_bytes / n,
        "write_seconds": t_write,
        # on demand (GET /sandbox/state_hash), not at start-up
        "state_hash_seconds": timed["state_hash_seconds"],
        "decode_only_seconds": t_decode,
        "decode_only_commands_per_s": decoded / t_decode if t_decode else 0.0,
        "rejected_in_first_20k": rejects,
        "resting_after": timed["resting_after"],
    }


def _recover_in_child(state_dir: Path, policy: bool) -> dict[str, Any]:
    """`_recover_child` in a new interpreter: its JSON."""
    argv = [sys.executable, "-m", "bench.journal_bench", "--recover", str(state_dir)]
    argv += ["--gc-policy"] if policy else []
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True, timeout=1800)
    result: dict[str, Any] = json.loads(r.stdout)
    return result


def _recover_child(state_dir: Path, policy: bool) -> dict[str, Any]:
    """Recover `state_dir` as start-up does (`policy`: with the server's GC policy installed
    first, as `Sequencer.open` does; else CPython's default GC), timed; then the state hash the
    server computes only on demand, timed, and how many orders rest."""
    if policy:
        gcpolicy.install()
    gc.collect()
    t0 = time.perf_counter()
    engine, report = recover(state_dir, Engine.restore, _fresh, repair=False, state_hash=False)
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.state_hash()
    hash_s = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "replayed": report.records_replayed,
        "state_hash_seconds": hash_s,
        "resting_after": sum(len(engine.open_orders(f"acct{i:05d}")) for i in range(1000)),
    }


def bench_startup(root: Path, n: int, snapshot_every: int) -> dict[str, Any]:
    """(b) real start-up of a state dir holding n journaled commands, default snapshot policy."""
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

    t0 = time.perf_counter()
    asyncio.run(fill())
    t_fill = time.perf_counter() - t0
    seqr._store.close()  # as kill -9 leaves it: no final snapshot
    del seqr
    gc.collect()
    t0 = time.perf_counter()
    seqr = Sequencer.open(state_dir, DEFAULT_MARKETS, CONFIG, clock, "process", snapshot_every)
    elapsed = time.perf_counter() - t0
    gcpolicy.uninstall()  # this process goes on benchmarking other things
    store = seqr._store
    assert isinstance(store, FileStore)
    snapshot_seq = store.snapshot_seq
    snapshot_bytes = sum(p.stat().st_size for p in state_dir.glob("*.snapshot"))
    last_seq = seqr.last_seq
    store.close()
    return {
        "what": "real start-up: Sequencer.open on a state dir written with a snapshot every "
        f"{snapshot_every:,} commands (newest snapshot restored + journal tail replayed)",
        "commands": n,
        "snapshot_every": snapshot_every,
        "last_seq": last_seq,
        "snapshot_seq": snapshot_seq,
        "tail_replayed": last_seq - snapshot_seq,
        "snapshot_files_bytes": snapshot_bytes,
        "seconds": elapsed,
        "fill_seconds": t_fill,
    }


def run(quick: bool, recovery_commands: int | None = None) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="tidepool-bench-journal-"))
    t0 = time.perf_counter()
    try:
        n = 2000 if quick else 50_000
        n_fsync = 100 if quick else 2000
        recovery_n = recovery_commands or (5000 if quick else 1_000_000)
        out = {
            "store": bench_store_append(root, n, n_fsync),
            "sequencer": bench_sequencer(root, n, n_fsync),
            "snapshot": bench_snapshot(root, 2000 if quick else 100_000),
            "recovery": bench_recovery(root, recovery_n),
            "startup": bench_startup(root, recovery_n, 1000 if quick else 100_000),
            "state_dir_fs": str(root),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out["elapsed_s"] = time.perf_counter() - t0
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--recover"]:
        print(json.dumps(_recover_child(Path(sys.argv[2]), "--gc-policy" in sys.argv)))
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
