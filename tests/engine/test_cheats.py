"""The sandbox cheat commands in the engine: all or nothing, replayed exactly, and their store
(clock, snapshots) kept out of the state hash and out of the bytes of states that never used it."""

from __future__ import annotations

import gc
import itertools
from decimal import Decimal

from enginekit import Driver, market

from tidepool.engine import teardown
from tidepool.engine.commands import (
    Command,
    CreateOrder,
    Faucet,
    ResetState,
    RevertSnapshot,
    SetBalance,
    SetClock,
    SetMarkPrice,
    SetMarkPrices,
    TakeSnapshot,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.events import StateReplaced
from tidepool.engine.orders import Order


def _cheat_stream(d: Driver) -> list[Command]:
    """A little trading with every cheat in between; the commands as applied (stamped)."""
    applied: list[Command] = []
    original = d.engine.apply

    def keep(cmd: Command) -> object:
        applied.append(cmd)
        return original(cmd)

    d.engine.apply = keep  # type: ignore[method-assign]
    d.fund("a")
    d.fund("b")
    d.apply(SetClock, wall_ms=5, advance_ms=1_000)
    d.limit("a", "bid", 99, 5)
    d.apply(TakeSnapshot)
    d.limit("b", "ask", 99, 2)
    d.apply(SetMarkPrices, marks=[SetMarkPrice(symbol="X", price=Decimal(98))])
    d.apply(TakeSnapshot)
    d.apply(SetBalance, account="a", balance=Decimal("123.5"))
    d.apply(RevertSnapshot, snapshot_id=1)
    d.limit("b", "ask", 99, 1)
    d.apply(ResetState, fund=[Faucet(account="c", amount=Decimal(10))])
    d.limit("c", "bid", 90, 1, tif="ALO")
    return applied


def test_a_journal_with_every_cheat_replays_to_the_same_state_and_bytes() -> None:
    d = Driver()
    stream = _cheat_stream(d)
    replayed = Engine(list(d.engine.markets.values()), d.engine.config)
    for cmd in stream:
        replayed.replay(cmd)
    assert replayed.state_hash() == d.engine.state_hash()
    assert replayed.snapshot() == d.engine.snapshot()
    restored = Engine.restore(d.engine.snapshot())
    assert restored.snapshot() == d.engine.snapshot()
    assert restored.clock_mark() == d.engine.clock_mark()
    assert restored.snapshot_ids() == d.engine.snapshot_ids() == []  # the revert dropped 1, 2


def test_an_engine_that_never_used_the_sandbox_store_writes_the_bytes_it_always_wrote() -> None:
    d = Driver()
    d.fund("a")
    assert d.engine.snapshot()[:1] == b"\x8c"  # the 12-field map, no sandbox entry
    d.apply(TakeSnapshot)
    assert d.engine.snapshot()[:1] == b"\x8d"


def test_snapshots_and_the_clock_do_not_change_the_state_hash() -> None:
    d = Driver()
    d.fund("a")
    before = d.engine.state_hash()
    d.apply(TakeSnapshot)
    d.apply(SetClock, wall_ms=0, advance_ms=10, frozen=True)
    assert d.engine.state_hash() == before


def test_marks_are_all_or_nothing() -> None:
    d = Driver()
    before = d.engine.state_hash()
    outcome = d.apply(
        SetMarkPrices,
        marks=[
            SetMarkPrice(symbol="X", price=Decimal(101)),
            SetMarkPrice(symbol="Z", price=Decimal(1)),
        ],
    )
    assert outcome.reject is not None and outcome.reject.code == 3
    outcome = d.apply(
        SetMarkPrices,
        marks=[
            SetMarkPrice(symbol="X", price=Decimal(101)),
            SetMarkPrice(symbol="Y", price=Decimal(0)),
        ],
    )
    assert outcome.reject is not None and outcome.reject.code == 400
    assert d.engine.state_hash() == before


def test_the_clock_never_goes_back_and_keeps_frozen_unless_told() -> None:
    d = Driver()
    d.apply(SetClock, wall_ms=0, advance_ms=0, frozen=True)  # ts_ms 1000
    refused = d.apply(SetClock, wall_ms=0, set_ms=1_999)  # ts_ms 2000
    assert refused.reject is not None and "never goes backwards" in refused.reject.message
    d.apply(SetClock, wall_ms=7, set_ms=50_000)
    mark = d.engine.clock_mark()
    assert mark is not None and (mark.now_ms, mark.wall_ms, mark.frozen) == (50_000, 7, True)


def test_revert_and_reset_say_the_state_was_replaced_first() -> None:
    d = Driver()
    d.apply(TakeSnapshot)
    assert d.apply(RevertSnapshot, snapshot_id=1).events == [
        StateReplaced(seq=2, ts_ms=2_000, reason="revert")
    ]
    events = d.apply(ResetState, fund=[Faucet(account="a", amount=Decimal(5))]).events
    assert isinstance(events[0], StateReplaced) and events[0].reason == "reset"
    assert d.engine.balance("a") == Decimal(5)


def test_a_negative_balance_or_reset_credit_changes_nothing() -> None:
    d = Driver()
    d.fund("a")
    before = d.engine.state_hash()
    assert d.apply(SetBalance, account="a", balance=Decimal(-1)).reject is not None
    bad = [Faucet(account="a", amount=Decimal(1)), Faucet(account="b", amount=Decimal(0))]
    assert d.apply(ResetState, fund=bad).reject is not None
    assert d.engine.state_hash() == before


def _live_orders() -> int:
    return sum(type(o) is Order for o in gc.get_objects())


def test_a_replaced_state_waits_for_its_freeing_which_leaves_nothing_of_it() -> None:
    """The server's GC policy never collects what it froze (runtime/gcpolicy.py), so a state
    dropped by a revert or a reset must go by reference counting alone, resting orders (whose
    book links are cycles) included: with the collector off, nothing of it may stay. The engine
    parks it for the runtime, which frees it in pieces (Engine.take_replaced); one nobody took
    goes with the next revert or reset. Counted against the orders other tests of this process
    left alive."""
    gc.collect()
    others = _live_orders()
    d = Driver()
    d.fund("a")
    for price in range(90, 95):
        d.limit("a", "bid", price, 1)
        d.limit("a", "bid", price, 2)
    d.apply(TakeSnapshot)
    for price in range(80, 85):
        d.limit("a", "bid", price, 1)
    gc.collect()
    gc.disable()
    try:
        assert _live_orders() - others == 15
        d.apply(RevertSnapshot, snapshot_id=1)
        assert _live_orders() - others == 25  # the 10 restored, and the 15 replaced, parked
        pieces = d.engine.take_replaced()
        assert pieces is not None and d.engine.take_replaced() is None
        for _ in pieces:
            pass
        assert _live_orders() - others == 10
        d.apply(ResetState, fund=[Faucet(account="a", amount=Decimal(5))])
        assert _live_orders() - others == 10  # parked, and never taken:
        d.apply(ResetState, fund=[Faucet(account="a", amount=Decimal(5))])
        assert _live_orders() - others == 0  # freed by the next reset
    finally:
        gc.enable()


def test_a_large_replaced_state_is_freed_at_most_a_chunk_of_orders_per_piece() -> None:
    """2,500 resting orders over 50 levels: each piece frees at most CHUNK of them, and all of
    them in the end."""
    gc.collect()
    others = _live_orders()
    engine = Engine((market("X"),), EngineConfig(price_band=None, max_open_orders=5_000))
    engine.apply(Faucet(seq=1, ts_ms=1, account="a", amount=Decimal(10**9)))
    for i in range(2_500):
        seq = i + 2
        order = CreateOrder(
            seq=seq,
            ts_ms=seq,
            account="a",
            symbol="X",
            side="bid",
            price_ticks=50 + i % 50,
            size_lots=1,
            tif="ALO",
            reduce_only=False,
        )
        assert engine.apply(order).reject is None
    engine.apply(ResetState(seq=3_000, ts_ms=3_000, fund=[]))
    pieces = engine.take_replaced()
    assert pieces is not None
    gc.collect()
    gc.disable()
    try:
        alive = [_live_orders() - others]
        for _ in pieces:
            alive.append(_live_orders() - others)
        alive.append(_live_orders() - others)
    finally:
        gc.enable()
    freed = [before - after for before, after in itertools.pairwise(alive)]
    assert alive[0] == 2_500 and alive[-1] == 0
    assert len([f for f in freed if f]) >= 3
    assert max(freed) <= teardown.CHUNK
