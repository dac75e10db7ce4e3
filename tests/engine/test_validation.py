"""Create rejections: each one changes nothing and consumes no order id."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from enginekit import Driver, market

from tidepool.domain.errors import Code
from tidepool.engine.engine import EngineConfig
from tidepool.engine.events import Outcome

CLOID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"


@pytest.fixture
def d() -> Driver:
    d = Driver()
    d.fund("a", 10_000)
    d.fund("b", 10_000)
    return d


def rejected(d: Driver, out_fn: Callable[[], Outcome], code: int) -> Outcome:
    before, last = d.engine.state_hash(), d.engine.last_order_id
    out = out_fn()
    assert out.reject is not None, out
    assert out.reject.code == code, out.reject
    assert out.events == [] and out.order_id is None
    assert d.engine.state_hash() == before and d.engine.last_order_id == last
    return out


def test_unknown_symbol(d: Driver) -> None:
    out = rejected(d, lambda: d.limit("a", "bid", 100, 1, symbol="NOPE"), Code.BOOK_NOT_FOUND)
    assert out.reject is not None and out.reject.message == "Book not found: NOPE"


def test_notional_below_minimum(d: Driver) -> None:
    out = rejected(d, lambda: d.limit("a", "bid", 9, 1), Code.ORDER_AMOUNT_TOO_LOW)
    assert out.reject is not None
    assert out.reject.message == "Order amount too low for a: 9 < 10"
    assert out.reject.error_id == "invalid_amount" and out.reject.http_status == 422
    assert d.limit("a", "bid", 10, 1).reject is None  # exactly the minimum is fine


def test_notional_above_maximum(d: Driver) -> None:
    out = rejected(d, lambda: d.limit("a", "bid", 1001, 100), Code.ORDER_AMOUNT_TOO_HIGH)
    assert out.reject is not None
    assert out.reject.message == "Order amount too high for a: 100100 > 100000"


def test_insufficient_margin(d: Driver) -> None:
    # 10,000 collateral at 10x covers 100,000 of notional; one more dollar does not fit.
    assert d.limit("a", "bid", 100, 1000).reject is None
    out = rejected(d, lambda: d.limit("a", "bid", 10, 1), Code.INSUFFICIENT_BALANCE)
    assert out.reject is not None
    assert out.reject.message == "Insufficient balance for a: 1 (account value: 0)"
    assert d.engine.account_summary("a").order_margin == Decimal(10_000)


def test_margin_counts_positions_at_mark_and_unrealised_pnl(d: Driver) -> None:
    d.limit("b", "ask", 100, 500)
    d.limit("a", "bid", 100, 500)  # a long 500 @100: margin 5,000, fees 20
    summary = d.engine.account_summary("a")
    assert summary.margin_used == Decimal(5_000)
    assert summary.available_to_spend == Decimal("4980")
    d.mark("X", 90)  # unrealised -5,000, margin 4,500
    summary = d.engine.account_summary("a")
    assert summary.equity == Decimal("4980") and summary.available_to_spend == Decimal("480")
    rejected(d, lambda: d.limit("a", "bid", 100, 49), Code.INSUFFICIENT_BALANCE)
    assert d.limit("a", "bid", 100, 48).reject is None


def test_account_without_collateral_cannot_open(d: Driver) -> None:
    rejected(d, lambda: d.limit("nobody", "bid", 100, 1), Code.INSUFFICIENT_BALANCE)
    assert d.engine.balance("nobody") == 0


def test_duplicate_client_order_id_while_open_after_cancel_and_after_fill(d: Driver) -> None:
    assert d.limit("a", "bid", 100, 1, cloid=CLOID).reject is None
    out = rejected(d, lambda: d.limit("a", "bid", 99, 1, cloid=CLOID), 36)
    assert out.reject is not None and out.reject.message == f"Duplicate client order id: {CLOID}"
    d.cancel("a", cloid=CLOID)
    rejected(d, lambda: d.limit("a", "bid", 99, 1, cloid=CLOID), 36)
    assert d.limit("b", "bid", 99, 1, cloid=CLOID).reject is None  # per account
    other = "0b7e2c2e-0000-4000-8000-000000000001"
    d.limit("a", "ask", 150, 1, cloid=other)
    d.limit("b", "bid", 150, 1)
    rejected(d, lambda: d.limit("a", "bid", 99, 1, cloid=other), 36)


def test_rejected_alo_keeps_its_client_order_id(d: Driver) -> None:
    d.limit("b", "ask", 101, 1)
    assert d.limit("a", "bid", 101, 1, "ALO", cloid=CLOID).order_id == 2
    rejected(d, lambda: d.limit("a", "bid", 100, 1, cloid=CLOID), 36)


def test_open_order_limit() -> None:
    d = Driver(config=EngineConfig(max_open_orders=2))
    d.fund("a")
    d.limit("a", "bid", 100, 1)
    d.limit("a", "bid", 99, 1)
    out = rejected(d, lambda: d.limit("a", "bid", 98, 1), Code.OPEN_ORDER_LIMIT_REACHED)
    assert out.reject is not None and out.reject.message == "Open order limit reached for a: 2"
    d.cancel("a", order_id=1)
    assert d.limit("a", "bid", 98, 1).reject is None


def test_reduce_only_needs_a_position(d: Driver) -> None:
    out = rejected(
        d,
        lambda: d.limit("a", "ask", 100, 1, reduce_only=True),
        Code.NO_POSITION_FOR_REDUCE_ONLY_ORDER,
    )
    assert out.reject is not None
    assert out.reject.message == "No position found for reduce-only order: a X"


def test_reduce_only_side_and_amount(d: Driver) -> None:
    d.limit("b", "ask", 100, 5)
    d.limit("a", "bid", 100, 5)  # a long 5
    rejected(
        d,
        lambda: d.limit("a", "bid", 100, 1, reduce_only=True),
        Code.INVALID_REDUCE_ONLY_ORDER_SIDE,
    )
    out = rejected(
        d,
        lambda: d.limit("a", "ask", 100, 6, reduce_only=True),
        Code.INVALID_REDUCE_ONLY_ORDER_AMOUNT,
    )
    assert out.reject is not None
    assert out.reject.message == ("Invalid reduce-only order amount: 6 exceeds position amount 5")
    assert d.limit("a", "ask", 110, 5, reduce_only=True).reject is None


def test_reduce_only_needs_no_margin(d: Driver) -> None:
    d.limit("b", "ask", 100, 900)
    d.limit("a", "bid", 100, 900)  # a long 900, margin 9,000 of ~9,964 equity
    d.limit("a", "bid", 90, 10)  # holds 90 more
    assert d.limit("a", "ask", 110, 900, reduce_only=True).reject is None


def test_non_positive_sizes_and_prices_are_invalid(d: Driver) -> None:
    rejected(d, lambda: d.limit("a", "bid", 0, 1), 400)
    rejected(d, lambda: d.limit("a", "bid", 100, 0), 400)


def test_fractional_grid_messages_use_decimal_amounts() -> None:
    spec = market("B", tick_size=Decimal("0.5"), lot_size=Decimal("0.001"))
    d = Driver((spec,))
    d.fund("a")
    out = d.limit("a", "bid", 200, 50, symbol="B")  # 100 x 0.05 = 5
    assert out.reject is not None
    assert out.reject.message == "Order amount too low for a: 5 < 10"


def test_price_band_around_the_mark() -> None:
    d = Driver(config=EngineConfig(price_band=Decimal("0.2")))
    d.fund("a", 10_000)
    out = rejected(d, lambda: d.limit("a", "bid", 121, 1), Code.PRICE_TOO_FAR_FROM_MARK)
    assert out.reject is not None and out.reject.message == "Price too far from mark: 121 100"
    rejected(d, lambda: d.limit("a", "ask", 79, 1), Code.PRICE_TOO_FAR_FROM_MARK)
    assert d.limit("a", "bid", 80, 1).reject is None  # the band's edge is inside
    assert d.limit("a", "ask", 120, 1).reject is None
    rejected(d, lambda: d.edit("a", 79, order_id=1), Code.PRICE_TOO_FAR_FROM_MARK)
    d.mark("X", 70)
    assert d.limit("a", "bid", 60, 1).reject is None  # the band follows the mark
    off = Driver(config=EngineConfig(price_band=None))
    off.fund("a", 10_000)
    assert off.limit("a", "bid", 1000, 1).reject is None
