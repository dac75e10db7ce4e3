"""Engine benchmarks: `Engine.apply` and `Engine.replay` in-process, no HTTP, no journal.

Only the engine's public surface is used (`Engine(markets, config)`, `.apply`, `.replay`,
`.last_order_id`, the command structs), so `python -m bench.engine_bench --ab` also measures
another source tree put first on PYTHONPATH (bench/against.py).

Commands are built before the clock starts. Timed loops run under the server's GC policy
(runtime/gcpolicy.py: young collections only, survivors frozen); a full `gc.collect()` before
a loop would evict the engine's working set from the caches, which the server never does. Each
loop is split in three chunks and the fastest chunk's µs per command is kept: on a shared
machine noise only ever adds time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import tidepool
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import CancelAllOrders, CancelOrder, Command, CreateOrder, Faucet
from tidepool.engine.config import EngineConfig
from tidepool.engine.engine import Engine
from tidepool.runtime import gcpolicy

MARK = 100_000  # BTC mark price in ticks (tick = 1 USD)
LOTS = 100  # 0.001 BTC: above the 10 USD minimum notional
TS = 1_750_000_000_000
CONFIG = EngineConfig(max_open_orders=10_000_000)


def acct(i: int) -> str:
    return f"acct{i:05d}"


def cloid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def fresh_engine() -> Engine:
    return Engine(DEFAULT_MARKETS, CONFIG)


def faucet(seq: int, account: str) -> Faucet:
    return Faucet(seq=seq, ts_ms=TS + seq, account=account, amount=Decimal(10**12))


def rest(seq: int, account: str, i: int, side: str = "bid") -> CreateOrder:
    """Post-only order i: bids below the mark, asks above, over 2 000 price levels; it rests."""
    off = 1 + (i * 7919) % 2000
    return CreateOrder(
        seq=seq,
        ts_ms=TS + seq,
        account=account,
        symbol="BTC",
        side="bid" if side == "bid" else "ask",
        price_ticks=MARK - off if side == "bid" else MARK + off,
        size_lots=LOTS,
        tif="ALO",
        reduce_only=False,
        client_order_id=cloid(i),
    )


class Book:
    """An engine with funded accounts, and the next seq to stamp."""

    def __init__(self, n_accounts: int) -> None:
        self.engine = fresh_engine()
        self.seq = 0
        for i in range(n_accounts):
            self.engine.apply(faucet(self.next(), acct(i)))

    def next(self) -> int:
        self.seq += 1
        return self.seq


def _timed(engine: Engine, cmds: Sequence[Command]) -> tuple[float, list[Any]]:
    gcpolicy.freeze_now()
    apply = engine.apply
    t0 = time.perf_counter()
    outs = [apply(c) for c in cmds]
    return time.perf_counter() - t0, outs


def _best_us(engine: Engine, cmds: Sequence[Command], what: str) -> float:
    """µs per command of the fastest of three consecutive chunks; every command must pass."""
    size = max(1, len(cmds) // 3)
    best = float("inf")
    for i in range(0, len(cmds), size):
        chunk = cmds[i : i + size]
        seconds, outs = _timed(engine, chunk)
        _check_ok(outs, what)
        best = min(best, seconds / len(chunk))
    return best * 1e6


def _check_ok(outcomes: list[Any], what: str) -> None:
    bad = [o.reject for o in outcomes if o.reject is not None]
    if bad:
        raise RuntimeError(f"{what}: {len(bad)} rejected, first {bad[0]!r}")


def book_size(size: int, sample: int, n_accounts: int = 100) -> dict[str, Any]:
    """With `size` resting bids (order id i belongs to account (i-1) % n_accounts): `sample`
    more creates, then cancels of `sample` random resting orders by id, and of `sample` others
    by client order id."""
    b = Book(n_accounts)
    _check_ok(
        _timed(b.engine, [rest(b.next(), acct(i % n_accounts), i) for i in range(size)])[1], "fill"
    )
    k = min(sample, max(1, size // 4))
    more = [rest(b.next(), acct(i % n_accounts), i) for i in range(size, size + k)]
    ids = random.Random(7).sample(range(1, size + 1), 2 * k)
    by_id = [
        CancelOrder(
            seq=b.next(), ts_ms=TS, account=acct((o - 1) % n_accounts), symbol="BTC", order_id=o
        )
        for o in ids[:k]
    ]
    by_cloid = [
        CancelOrder(
            seq=b.next(),
            ts_ms=TS,
            account=acct((o - 1) % n_accounts),
            symbol="BTC",
            client_order_id=cloid(o - 1),
        )
        for o in ids[k:]
    ]
    return {
        "book_size": size,
        "ops": k,
        "create_resting_us": _best_us(b.engine, more, "create"),
        "cancel_by_id_us": _best_us(b.engine, by_id, "cancel by id"),
        "cancel_by_cloid_us": _best_us(b.engine, by_cloid, "cancel by client id"),
    }


def cancel_all_chunked(size: int, chunk: int, background: int) -> dict[str, Any]:
    """One account's cancel_all of `size` orders next to `background` orders of 50 others, in
    chunks of `chunk` (CancelAllOrders `up_to_order_id` + `limit`, as the gateway sends it):
    the longest chunk is how long the engine, and so every other request, waits at a time."""
    b = Book(51)
    bg = [rest(b.next(), acct(1 + i % 50), i, side="ask") for i in range(background)]
    mine = [rest(b.next(), acct(0), i) for i in range(background, background + size)]
    _check_ok(_timed(b.engine, bg + mine)[1], "fill")
    up_to = b.engine.last_order_id
    gcpolicy.freeze_now()
    times: list[float] = []
    removed, more = 0, True
    while more:
        cmd = CancelAllOrders(
            seq=b.next(),
            ts_ms=TS,
            account=acct(0),
            symbol=None,
            exclude_reduce_only=False,
            up_to_order_id=up_to,
            limit=chunk,
        )
        t0 = time.perf_counter()
        out = b.engine.apply(cmd)
        times.append(time.perf_counter() - t0)
        removed += out.cancelled_count or 0
        more = out.more
    if removed != size:
        raise RuntimeError(f"chunked cancel_all removed {removed}, expected {size}")
    return {
        "orders_removed": size,
        "chunk": chunk,
        "chunks": len(times),
        "max_chunk_ms": max(times) * 1e3,
        "us_per_order": sum(times) / size * 1e6,
    }


def command_stream(n: int, n_accounts: int, seed: int = 3) -> Iterator[Command]:
    """n commands from seq 1: a faucet per account, then 60 % creates that rest, 35 % cancels by
    client id of a live order of the same account, 5 % cancel_all (the journal's workload)."""
    rng = random.Random(seed)
    seq = 0
    accounts = [acct(i) for i in range(n_accounts)]
    for a in accounts[: min(n, n_accounts)]:
        seq += 1
        yield faucet(seq, a)
    live: dict[str, list[int]] = {a: [] for a in accounts}
    made = 0
    while seq < n:
        seq += 1
        a = accounts[rng.randrange(n_accounts)]
        r = rng.random()
        if r < 0.60 or not live[a]:
            live[a].append(made)
            yield rest(seq, a, made, side="ask" if made % 2 else "bid")
            made += 1
        elif r < 0.95:
            i = live[a].pop(rng.randrange(len(live[a])))
            yield CancelOrder(
                seq=seq, ts_ms=TS + seq, account=a, symbol="BTC", client_order_id=cloid(i)
            )
        else:
            live[a].clear()
            yield CancelAllOrders(
                seq=seq, ts_ms=TS + seq, account=a, symbol=None, exclude_reduce_only=False
            )


def replay_rate(n: int, batch: int = 10_000) -> dict[str, Any]:
    """Commands/s of `Engine.replay` over `command_stream(n, 1000)` from an empty engine, as
    recovery replays a journal; commands are built in batches, outside the clock."""
    engine = fresh_engine()
    stream = command_stream(n, 1000)
    seconds = 0.0
    done = 0
    while done < n:
        cmds = [c for _, c in zip(range(batch), stream, strict=False)]
        replay = engine.replay
        t0 = time.perf_counter()
        for c in cmds:
            replay(c)
        seconds += time.perf_counter() - t0
        done += len(cmds)
    return {"commands": done, "seconds": seconds, "commands_per_s": done / seconds}


def run(quick: bool) -> dict[str, Any]:
    sizes, sample, ca = ([200, 1000], 100, 1000) if quick else ([1000, 100_000], 5000, 100_000)
    gcpolicy.install()
    try:
        return {
            "book_sizes": [book_size(s, sample) for s in sizes],
            "cancel_all": cancel_all_chunked(ca, 1000, 1000 if quick else 10_000),
        }
    finally:
        gcpolicy.uninstall()


def ab(book: int, sample: int, replay: int) -> dict[str, Any]:
    """What bench/against.py compares between trees, for the tidepool found on sys.path."""
    gcpolicy.install()
    out: dict[str, Any] = {"tidepool": tidepool.__file__}
    if book:
        out.update(book_size(book, sample))
    if replay:
        out["replay"] = replay_rate(replay)
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ab", action="store_true", help="only the cross-tree measurements")
    p.add_argument("--book", type=int, default=0)
    p.add_argument("--sample", type=int, default=5000)
    p.add_argument("--replay", type=int, default=0)
    p.add_argument("--cpu", type=int, default=-1)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    if args.cpu >= 0:
        os.sched_setaffinity(0, {args.cpu})
    out = ab(args.book, args.sample, args.replay) if args.ab else run(args.quick)
    print(json.dumps(out))
