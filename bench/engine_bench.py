"""Engine micro-benchmarks: `Engine.apply` in-process, no HTTP, no journal.

Commands are built before the clock starts; each timed section is a loop of `apply` calls
measured as a whole (µs per op = total / ops), split in three chunks of which the fastest is
reported (on a shared machine noise only ever adds time). The engine runs under the server's GC
policy (runtime/gcpolicy.py: young collections only, survivors frozen): before each timed
section the young generations are collected and frozen, as the server does after recovery. An
explicit full `gc.collect()` there instead would walk the whole heap and evict the engine's
working set from the CPU caches, which the server never does (side by side: cancel by id on a
100k-order book 3.9–4.3 µs after a full collection, 3.5–3.6 µs under the policy).

cancel_all is one command: its total time is how long the engine (and so the whole event loop)
is blocked; `cancel_all_chunked` runs the same removal in chunks of 1 000 orders
(CancelAllOrders `up_to_order_id` + `limit`) and reports the longest chunk.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    Command,
    CreateOrder,
    Faucet,
    SetMarkPrice,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.runtime import gcpolicy

MARK = 100_000  # BTC mark price in ticks (tick = 1 USD)
LOTS = 100  # 0.001 BTC, ~100 USD notional: above the 10 USD minimum
BIG_LIMITS = EngineConfig(max_open_orders=10_000_000)


@dataclass
class Seq:
    n: int = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def acct(i: int) -> str:
    return f"acct{i:05d}"


def _funded_engine(n_accounts: int, seq: Seq) -> Engine:
    engine = Engine(DEFAULT_MARKETS, BIG_LIMITS)
    for i in range(n_accounts):
        engine.apply(Faucet(seq=seq(), ts_ms=1, account=acct(i), amount=Decimal(10**12)))
    return engine


def rest(seq: Seq, i: int, account: str, *, side: str = "bid", spread: int = 2000) -> CreateOrder:
    """A post-only order that rests: bids below the mark, asks above, over `spread` levels."""
    offset = 1 + (i * 7919) % spread
    price = MARK - offset if side == "bid" else MARK + offset
    return CreateOrder(
        seq=seq(),
        ts_ms=2,
        account=account,
        symbol="BTC",
        side="bid" if side == "bid" else "ask",
        price_ticks=price,
        size_lots=LOTS,
        tif="ALO",
        reduce_only=False,
        client_order_id=f"00000000-0000-4000-8000-{i:012d}",
    )


def creates(seq: Seq, start: int, n: int, n_accounts: int = 100) -> list[Command]:
    """`rest` orders start..start+n-1 from `n_accounts` accounts in turn."""
    return [rest(seq, start + i, acct(i % n_accounts)) for i in range(n)]


def fill_book(size: int, seq: Seq, n_accounts: int = 100) -> tuple[Engine, float]:
    """An engine with `size` resting bids (order ids 1..size, `creates`): order id i belongs to
    account (i - 1) % n_accounts; and the seconds the creates took to apply."""
    engine = _funded_engine(n_accounts, seq)
    seconds, outs = _timed(engine, creates(seq, 0, size, n_accounts))
    _check_ok(outs, "fill")
    return engine, seconds


def cancels_by_id(seq: Seq, ids: Sequence[int], n_accounts: int = 100) -> list[Command]:
    """Cancels of orders of a `fill_book` book, by order id."""
    return [
        CancelOrder(
            seq=seq(), ts_ms=3, account=acct((oid - 1) % n_accounts), symbol="BTC", order_id=oid
        )
        for oid in ids
    ]


def cancels_by_cloid(seq: Seq, ids: Sequence[int], n_accounts: int = 100) -> list[Command]:
    """Cancels of orders of a `fill_book` book, by the client order id `rest` gave them."""
    return [
        CancelOrder(
            seq=seq(),
            ts_ms=3,
            account=acct((oid - 1) % n_accounts),
            symbol="BTC",
            client_order_id=f"00000000-0000-4000-8000-{oid - 1:012d}",
        )
        for oid in ids
    ]


def _timed(engine: Engine, cmds: Sequence[Command]) -> tuple[float, list[Any]]:
    """Total seconds to apply `cmds`, and the outcomes."""
    gcpolicy.freeze_now()
    apply = engine.apply
    out: list[Any] = []
    append = out.append
    t0 = time.perf_counter()
    for c in cmds:
        append(apply(c))
    return time.perf_counter() - t0, out


def _timed_min(engine: Engine, cmds: Sequence[Command], parts: int = 3) -> tuple[float, list[Any]]:
    """Apply `cmds` in `parts` consecutive chunks, each timed; the lowest seconds per command
    of the chunks (noise on a shared machine only ever adds time), and all outcomes."""
    size = max(1, len(cmds) // parts)
    best = float("inf")
    outs: list[Any] = []
    for i in range(0, len(cmds), size):
        chunk = cmds[i : i + size]
        t, o = _timed(engine, chunk)
        best = min(best, t / len(chunk))
        outs += o
    return best, outs


def _check_ok(outcomes: list[Any], what: str) -> None:
    bad = [o.reject for o in outcomes if o.reject is not None]
    if bad:
        raise RuntimeError(f"{what}: {len(bad)} rejected, first {bad[0]!r}")


def bench_book_sizes(sizes: Sequence[int], sample: int, n_accounts: int = 100) -> dict[str, Any]:
    """Create, cancel by id and cancel by client id, at several book sizes.

    For each size B: a fresh engine gets B resting bids from `n_accounts` accounts over 2 000
    price levels; then `sample` more creates are timed (create at size B), then `sample` random
    resting orders are cancelled by order id, then `sample` others by client order id.
    """
    rows: list[dict[str, Any]] = []
    rng = random.Random(7)
    for size in sizes:
        seq = Seq()
        engine, t_fill = fill_book(size, seq, n_accounts)
        k = min(sample, max(1, size // 4))
        more = creates(seq, size, k, n_accounts)
        t_create, outs = _timed_min(engine, more)
        _check_ok(outs, "create")
        ids = rng.sample(range(1, size + 1), 2 * k)
        by_id = cancels_by_id(seq, ids[:k], n_accounts)
        t_cancel, outs = _timed_min(engine, by_id)
        _check_ok(outs, "cancel by id")
        by_cloid = cancels_by_cloid(seq, ids[k:], n_accounts)
        t_cloid, outs = _timed_min(engine, by_cloid)
        _check_ok(outs, "cancel by client id")
        unknown = [
            CancelOrder(seq=seq(), ts_ms=3, account=acct(0), symbol="BTC", order_id=10**9 + i)
            for i in range(k)
        ]
        t_unknown, outs = _timed_min(engine, unknown)
        rows.append(
            {
                "book_size": size,
                "ops": k,
                "fill_create_us": t_fill / size * 1e6,
                "create_resting_us": t_create * 1e6,
                "cancel_by_id_us": t_cancel * 1e6,
                "cancel_by_cloid_us": t_cloid * 1e6,
                "cancel_unknown_id_us": t_unknown * 1e6,
            }
        )
        del engine, more, by_id, by_cloid, unknown, outs
    return {"rows": rows, "accounts": n_accounts, "price_levels": 2000}


def bench_cancel_all(
    sizes: Sequence[int], background: int = 10_000, repeats: int = 3
) -> dict[str, Any]:
    """cancel_all of one account holding N resting orders, next to `background` orders of 50
    other accounts (which must stay untouched): total time (= how long the engine is blocked)
    and µs per order removed; the best of `repeats` fills and cancel_alls."""
    rows: list[dict[str, Any]] = []
    for size in sizes:
        seq = Seq()
        engine = _funded_engine(51, seq)
        bg = [rest(seq, i, acct(1 + i % 50), side="ask") for i in range(background)]
        _check_ok(_timed(engine, bg)[1], "background")
        best = empty = float("inf")
        for rep in range(repeats):
            base = background + rep * size
            mine = [rest(seq, base + i, acct(0)) for i in range(size)]
            _check_ok(_timed(engine, mine)[1], "fill")
            cmd = CancelAllOrders(
                seq=seq(), ts_ms=4, account=acct(0), symbol=None, exclude_reduce_only=False
            )
            elapsed, outs = _timed(engine, [cmd])
            removed = outs[0].cancelled_count
            if removed != size:
                raise RuntimeError(f"cancel_all removed {removed}, expected {size}")
            best = min(best, elapsed)
            # and cancel_all on an account with nothing open: the fixed cost
            again = CancelAllOrders(
                seq=seq(), ts_ms=4, account=acct(0), symbol=None, exclude_reduce_only=False
            )
            empty = min(empty, _timed(engine, [again])[0])
        rows.append(
            {
                "orders_removed": size,
                "total_ms": best * 1e3,
                "us_per_order": best / size * 1e6,
                "empty_cancel_all_us": empty * 1e6,
                "repeats": repeats,
            }
        )
        del engine, bg
    return {"rows": rows, "background_orders": background}


def bench_cancel_all_chunked(size: int, chunk: int, background: int = 10_000) -> dict[str, Any]:
    """The same cancel_all as `bench_cancel_all`, chunked as a sequencer would run it: repeated
    CancelAllOrders(up_to_order_id=last id, limit=chunk) until `more` is False. Reports the
    longest chunk (how long the engine is blocked at a time) and the total."""
    seq = Seq()
    engine = _funded_engine(51, seq)
    bg = [rest(seq, i, acct(1 + i % 50), side="ask") for i in range(background)]
    _check_ok(_timed(engine, bg)[1], "background")
    mine = [rest(seq, background + i, acct(0)) for i in range(size)]
    _check_ok(_timed(engine, mine)[1], "fill")
    up_to = engine.last_order_id
    gcpolicy.freeze_now()
    times: list[float] = []
    removed = 0
    more = True
    while more:
        cmd = CancelAllOrders(
            seq=seq(),
            ts_ms=4,
            account=acct(0),
            symbol=None,
            exclude_reduce_only=False,
            up_to_order_id=up_to,
            limit=chunk,
        )
        t0 = time.perf_counter()
        out = engine.apply(cmd)
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
        "median_chunk_ms": sorted(times)[len(times) // 2] * 1e3,
        "total_ms": sum(times) * 1e3,
        "us_per_order": sum(times) / size * 1e6,
    }


def bench_matching_mix(n_ops: int, n_accounts: int = 20, seed: int = 11) -> dict[str, Any]:
    """A matching-heavy mix on one market around a 100 000 mark:
    45 % crossing GTC takers that sweep 1-3 resting orders, 10 % IOC takers, 35 % new resting
    makers (refill), 10 % cancels of live makers. Reports µs per op and fills per op."""
    rng = random.Random(seed)
    seq = Seq()
    engine = _funded_engine(n_accounts, seq)
    engine.apply(SetMarkPrice(seq=seq(), ts_ms=1, symbol="BTC", price=Decimal(MARK)))
    # a two-sided book of 2 000 makers within 50 ticks of the mark
    pre: list[Command] = []
    for i in range(2000):
        side = "bid" if i % 2 == 0 else "ask"
        price = MARK - 1 - rng.randrange(50) if side == "bid" else MARK + 1 + rng.randrange(50)
        pre.append(_maker(seq, i, acct(i % n_accounts), side, price))
    _check_ok(_timed(engine, pre)[1], "pre-book")
    cmds: list[Command] = []
    next_cl = 2000
    live: list[tuple[str, str]] = []  # (account, cloid) of makers sent during the mix
    for _ in range(n_ops):
        r = rng.random()
        who = acct(rng.randrange(n_accounts))
        if r < 0.55:
            side = "bid" if rng.random() < 0.5 else "ask"
            price = MARK + 60 if side == "bid" else MARK - 60  # crosses the whole top
            cmds.append(
                CreateOrder(
                    seq=seq(),
                    ts_ms=5,
                    account=who,
                    symbol="BTC",
                    side="bid" if side == "bid" else "ask",
                    price_ticks=price,
                    size_lots=LOTS * rng.randint(1, 3),
                    tif="GTC" if r < 0.45 else "IOC",
                    reduce_only=False,
                )
            )
        elif r < 0.90:
            side = "bid" if rng.random() < 0.5 else "ask"
            price = MARK - 1 - rng.randrange(50) if side == "bid" else MARK + 1 + rng.randrange(50)
            c = _maker(seq, next_cl, who, side, price)
            next_cl += 1
            live.append((who, c.client_order_id or ""))
            cmds.append(c)
        elif live:
            a, cl = live.pop(rng.randrange(len(live)))
            cmds.append(
                CancelOrder(seq=seq(), ts_ms=5, account=a, symbol="BTC", client_order_id=cl)
            )
    per_op, outs = _timed_min(engine, cmds)
    fills = sum(1 for o in outs for e in o.events if type(e).__name__ == "OrderFilled")
    rejects = sum(1 for o in outs if o.reject is not None)
    return {
        "ops": len(cmds),
        "us_per_op": per_op * 1e6,
        "fills": fills,
        "fills_per_op": fills / len(cmds),
        "rejected_ops": rejects,
        "note": "cancels of makers already filled are rejected (order not found), as in a real mix",
    }


def _maker(seq: Seq, i: int, account: str, side: str, price: int) -> CreateOrder:
    return CreateOrder(
        seq=seq(),
        ts_ms=2,
        account=account,
        symbol="BTC",
        side="bid" if side == "bid" else "ask",
        price_ticks=price,
        size_lots=LOTS,
        tif="GTC",
        reduce_only=False,
        client_order_id=f"00000000-0000-4000-9000-{i:012d}",
    )


def run(quick: bool) -> dict[str, Any]:
    if quick:
        sizes, sample, ca_sizes, mix = [200, 1000], 100, [100, 1000], 2000
    else:
        sizes, sample, ca_sizes, mix = (
            [1000, 10_000, 100_000],
            5000,
            [1000, 10_000, 100_000],
            50_000,
        )
    t0 = time.perf_counter()
    gcpolicy.install()
    try:
        out = {
            "book_sizes": bench_book_sizes(sizes, sample),
            "cancel_all": bench_cancel_all(ca_sizes, background=1000 if quick else 10_000),
            "cancel_all_chunked": bench_cancel_all_chunked(
                ca_sizes[-1], chunk=1000, background=1000 if quick else 10_000
            ),
            "matching_mix": bench_matching_mix(mix),
        }
    finally:
        gcpolicy.uninstall()
    out["gc"] = "Tidepool's GC policy (runtime/gcpolicy.py)"
    out["elapsed_s"] = time.perf_counter() - t0
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv), indent=2))
