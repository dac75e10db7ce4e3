"""The engine's flattened hot paths against the general code they short-cut.

`matching._create_plain` (a limit order without TP/SL legs) repeats `risk.check_create`,
`lifecycle.accept`, `execution.execute` and `stops.run_triggers` in one frame, with the same
Decimal operations in the same order. Here the same command streams run through an engine
that uses it and one forced onto the general path (`_create_with_legs`, which also handles
orders without legs); every outcome (encoded bytes: events, rejections and their messages)
and the final state hash must be identical. Streams: the determinism test's 5,000 random
commands, and hypothesis-drawn streams with thin collateral, 3x leverage (rounded margin
quotients), positions, mark moves, reduce-only orders and every tif.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import msgspec
from enginekit import market
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_determinism import MARKETS, record_stream

from tidepool.engine import cancels, matching
from tidepool.engine import engine as engine_module
from tidepool.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    Command,
    CreateOrder,
    CreateStopOrder,
    Faucet,
    SetMarkPrice,
    StopLeg,
    UpdateLeverage,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.events import OrderCancelled, Outcome


@contextmanager
def general_paths() -> Iterator[None]:
    """Route CreateOrder through the general path while the block runs."""
    handlers = engine_module._HANDLERS
    saved = handlers[CreateOrder]
    handlers[CreateOrder] = matching._create_with_legs
    try:
        yield
    finally:
        handlers[CreateOrder] = saved


def _run(engine: Engine, cmds: list[Command]) -> tuple[list[bytes], str]:
    out = [msgspec.msgpack.encode(engine.apply(c)) for c in cmds]
    return out, engine.state_hash()


def _both(make: object, cmds: list[Command]) -> None:
    assert callable(make)
    fast = _run(make(), cmds)
    with general_paths():
        general = _run(make(), cmds)
    for i, (a, b) in enumerate(zip(fast[0], general[0], strict=True)):
        assert a == b, f"command {i} {cmds[i]!r}: outcomes differ"
    assert fast[1] == general[1]


def test_determinism_stream_same_on_both_paths() -> None:
    cmds, _, _ = record_stream(20240611, 5_000)
    _both(lambda: Engine(MARKETS), cmds)


# Thin collateral, leverage 3 and 7 (non-terminating quotients), small grids so orders cross.
FAST_MARKETS = (
    market("X", max_order_size=Decimal(3_000)),
    market("Y", tick_size=Decimal("0.5"), lot_size=Decimal("0.1"), max_leverage=3),
)
ACCOUNTS = ("a", "b", "c")


@st.composite
def command(draw: st.DrawFn) -> Command:
    kind = draw(st.integers(0, 9))
    acct = draw(st.sampled_from(ACCOUNTS))
    symbol = draw(st.sampled_from(("X", "Y", "Z")) if kind == 0 else st.sampled_from(("X", "Y")))
    if kind == 1:
        amount = draw(st.decimals(Decimal("0.001"), Decimal(500), places=3))
        return Faucet(seq=0, ts_ms=0, account=acct, amount=amount)
    if kind == 2:
        return UpdateLeverage(
            seq=0, ts_ms=0, account=acct, symbol=symbol, leverage=draw(st.sampled_from((1, 3, 7)))
        )
    if kind == 3:
        mark = draw(st.decimals(Decimal(90), Decimal(110), places=1))
        return SetMarkPrice(seq=0, ts_ms=0, symbol=symbol, price=mark)
    if kind == 4:
        return CancelOrder(
            seq=0, ts_ms=0, account=acct, symbol=symbol, order_id=draw(st.integers(1, 40))
        )
    return CreateOrder(
        seq=0,
        ts_ms=0,
        account=acct,
        symbol=symbol,
        side=draw(st.sampled_from(("bid", "ask"))),
        price_ticks=draw(st.integers(-1, 6)) + (97 if symbol != "Y" else 197),
        size_lots=draw(st.integers(0, 30)) * (1 if symbol != "Y" else 10),
        tif=draw(st.sampled_from(("GTC", "IOC", "ALO", "TOB"))),
        reduce_only=draw(st.booleans()),
        client_order_id=draw(st.none() | st.sampled_from(("c1", "c2", "c3"))),
    )


def stamp(cmds: list[Command]) -> list[Command]:
    """The commands as a sequencer would number and time them: seq 1.., ts 1000.."""
    return [msgspec.structs.replace(c, seq=i + 1, ts_ms=1000 + i) for i, c in enumerate(cmds)]


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(command(), min_size=1, max_size=60))
def test_random_streams_same_on_both_paths(cmds: list[Command]) -> None:
    stamped = stamp(cmds)
    _both(lambda: Engine(FAST_MARKETS, EngineConfig(max_open_orders=6)), stamped)


# ---- cancel_all of every resting order (lifecycle.cancel_every_resting) ----------------------


@contextmanager
def per_order_cancel_all() -> Iterator[None]:
    """Route every CancelAllOrders through cancel_resting, one order at a time."""
    saved = cancels._every_resting
    cancels._every_resting = lambda cmd: False
    try:
        yield
    finally:
        cancels._every_resting = saved


def _bulk_vs_per_order(make: object, cmds: list[Command]) -> list[bytes]:
    assert callable(make)
    bulk = _run(make(), cmds)
    with per_order_cancel_all():
        per_order = _run(make(), cmds)
    for i, (a, b) in enumerate(zip(bulk[0], per_order[0], strict=True)):
        assert a == b, f"command {i} {cmds[i]!r}: outcomes differ"
    assert bulk[1] == per_order[1]
    return bulk[0]


def test_determinism_streams_same_with_bulk_cancel_all() -> None:
    for seed in (20240611, 5):
        cmds, _, _ = record_stream(seed, 5_000)
        outcomes = _bulk_vs_per_order(lambda: Engine(MARKETS), cmds)
        bulk = [
            msgspec.msgpack.decode(o, type=Outcome)
            for o, c in zip(outcomes, cmds, strict=True)
            if isinstance(c, CancelAllOrders) and cancels._every_resting(c)
        ]
        assert sum(o.cancelled_count or 0 for o in bulk) > 50  # the bulk path ran


def test_bulk_cancel_all_takes_unfilled_parents_legs_and_pending_stops() -> None:
    """Resting parents with TP/SL legs (unfilled: the legs go with them; partly filled: armed
    legs stay), plain orders at shared levels, a pending stop, another account's orders."""
    leg_tp = StopLeg(stop_ticks=110, limit_ticks=109)
    leg_sl = StopLeg(stop_ticks=90, trigger="last_trade_price")
    cmds: list[Command] = [
        Faucet(seq=0, ts_ms=0, account="a", amount=Decimal(50_000)),
        Faucet(seq=0, ts_ms=0, account="b", amount=Decimal(50_000)),
    ]
    for k in range(12):
        legs = {"take_profit": leg_tp, "stop_loss": leg_sl} if k % 3 else {}
        cmds.append(_limit("a", "bid", 95 + k % 4, 5 + k, **legs))
        cmds.append(_limit("b", "ask", 104 - k % 3, 3, **({"stop_loss": leg_sl} if k % 2 else {})))
    cmds.append(_limit("b", "ask", 97, 4))  # partly fills a's best bids: their legs arm
    cmds.append(
        CreateStopOrder(
            seq=0, ts_ms=0, account="a", symbol="X", side="ask", reduce_only=False, stop=leg_sl
        )
    )
    for acct in ("a", "b"):
        cmds.append(
            CancelAllOrders(seq=0, ts_ms=0, account=acct, symbol=None, exclude_reduce_only=False)
        )
    stamped = stamp(cmds)
    outcomes = _bulk_vs_per_order(lambda: Engine(MARKETS), stamped)
    final = [msgspec.msgpack.decode(o, type=Outcome) for o in outcomes[-2:]]
    reasons = [e.reason for o in final for e in o.events if isinstance(e, OrderCancelled)]
    assert "parent_cancelled" in reasons and reasons.count("cancel") > 20
    engine = Engine(MARKETS)
    for c in stamped:
        engine.apply(c)
    engine.check_invariants()
    assert engine.open_orders("a") == engine.open_orders("b") == []


def _limit(acct: str, side: str, price: int, lots: int, **legs: StopLeg) -> CreateOrder:
    return CreateOrder(
        seq=0,
        ts_ms=0,
        account=acct,
        symbol="X",
        side="bid" if side == "bid" else "ask",
        price_ticks=price,
        size_lots=lots,
        tif="GTC",
        reduce_only=False,
        client_order_id=None,
        **legs,
    )


@st.composite
def cancel_all(draw: st.DrawFn) -> Command:
    return CancelAllOrders(
        seq=0,
        ts_ms=0,
        account=draw(st.sampled_from(ACCOUNTS)),
        symbol=draw(st.none() | st.sampled_from(("X", "Y"))),
        exclude_reduce_only=draw(st.booleans()),
    )


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(st.one_of(command(), command(), cancel_all()), min_size=1, max_size=60))
def test_random_streams_same_with_bulk_cancel_all(cmds: list[Command]) -> None:
    stamped = stamp(cmds)
    _bulk_vs_per_order(lambda: Engine(FAST_MARKETS, EngineConfig(max_open_orders=6)), stamped)
