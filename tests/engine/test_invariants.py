"""check_invariants() names the invariant a corrupted state breaks (the state is tampered with
through private attributes on purpose: the public API cannot break it)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from enginekit import Driver

from tidepool.engine.engine import Engine, InvariantBroken
from tidepool.engine.orders import Order
from tidepool.engine.state import EngineState


def trading_driver() -> Driver:
    d = Driver()
    d.fund("a")
    d.fund("b")
    d.limit("a", "bid", 99, 3)
    d.limit("a", "ask", 105, 2)
    d.limit("b", "ask", 99, 1)  # a long 1, b short 1
    return d


def state_of(engine: Engine) -> EngineState:
    state: EngineState = engine._state
    return state


def test_a_healthy_engine_passes_and_invariant_broken_is_an_assertion_error() -> None:
    trading_driver().engine.check_invariants()
    assert issubclass(InvariantBroken, AssertionError)


def test_crossed_book_is_i1() -> None:
    d = trading_driver()
    state = state_of(d.engine)
    rogue = Order(
        order_id=99, account="b", symbol="X", side="ask", price_ticks=90, initial_lots=1,
        tif="GTC", reduce_only=False, client_order_id=None, created_at=0,
    )  # fmt: skip
    state.books["X"].add(rogue)
    with pytest.raises(InvariantBroken, match="I1 no crossed book"):
        d.engine.check_invariants()


def test_level_size_drift_is_i2() -> None:
    d = trading_driver()
    level = state_of(d.engine).books["X"].bids.best()
    assert level is not None
    level.size_lots += 1
    with pytest.raises(InvariantBroken, match="I2 level consistency"):
        d.engine.check_invariants()


def test_quantity_leak_is_i3() -> None:
    d = trading_driver()
    state_of(d.engine).orders[3].filled_lots += 1  # filled order now over-filled
    with pytest.raises(InvariantBroken, match="I3 quantity conservation"):
        d.engine.check_invariants()


def test_unbalanced_positions_are_i4() -> None:
    d = trading_driver()
    state_of(d.engine).accounts["a"].positions["X"].size_lots += 1
    with pytest.raises(InvariantBroken, match="I4 positions net to zero"):
        d.engine.check_invariants()


def test_minted_collateral_is_i9() -> None:
    d = trading_driver()
    state_of(d.engine).accounts["b"].balance += Decimal("0.000001")
    with pytest.raises(InvariantBroken, match="I9 collateral conservation"):
        d.engine.check_invariants()


def test_lost_client_order_id_is_i11() -> None:
    d = trading_driver()
    d.limit("a", "bid", 90, 1, cloid="k")
    state_of(d.engine).accounts["a"].cloids.clear()
    with pytest.raises(InvariantBroken, match="I11 client order id"):
        d.engine.check_invariants()
