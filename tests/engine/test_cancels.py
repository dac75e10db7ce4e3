"""Cancel and cancel-all scenarios: what leaves the book, and what is "Order not found"."""

from __future__ import annotations

from typing import Any

import pytest
from enginekit import Driver, cancels

from tidepool.domain.errors import ORDER_NOT_FOUND_ON_CANCEL

CLOID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"


@pytest.fixture
def d() -> Driver:
    d = Driver()
    for account in ("a", "b"):
        d.fund(account)
    return d


def assert_not_found(d: Driver, **kw: Any) -> None:
    before = d.engine.state_hash()
    out = d.cancel(**kw)
    assert out.reject == ORDER_NOT_FOUND_ON_CANCEL and out.events == []
    assert d.engine.state_hash() == before


def test_cancel_by_order_id(d: Driver) -> None:
    d.limit("a", "bid", 100, 3)
    d.limit("a", "bid", 99, 1)
    out = d.cancel("a", order_id=1)
    assert out.reject is None and out.order_id == 1
    assert cancels(out) == ["#1 cancel 3"]
    assert d.ladder() == ["---", "bid 99 x 1 (1)"]
    assert d.status(1) == ("cancelled", "cancel", 0, 3, 0)
    assert [h.event_type for h in d.engine.order_history(1)] == ["cancel", "make"]
    assert [o.order_id for o in d.engine.open_orders("a")] == [2]


def test_cancel_by_client_order_id(d: Driver) -> None:
    d.limit("a", "bid", 100, 3, cloid=CLOID)
    out = d.cancel("a", cloid=CLOID)
    assert out.order_id == 1 and cancels(out) == ["#1 cancel 3"]
    assert d.ladder() == ["---"]


def test_cancel_of_someone_elses_order_is_not_found(d: Driver) -> None:
    d.limit("a", "bid", 100, 3, cloid=CLOID)
    assert_not_found(d, account="b", order_id=1)
    assert_not_found(d, account="b", cloid=CLOID)
    assert d.ladder() == ["---", "bid 100 x 3 (1)"]


def test_cancel_with_the_wrong_symbol_or_unknown_ids_is_not_found(d: Driver) -> None:
    d.limit("a", "bid", 100, 3)
    assert_not_found(d, account="a", order_id=1, symbol="Y")
    assert_not_found(d, account="a", order_id=999)
    assert_not_found(d, account="a", cloid=CLOID)


def test_cancel_of_a_filled_order_is_not_found(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    d.limit("b", "bid", 101, 2)
    assert_not_found(d, account="a", order_id=1)
    assert_not_found(d, account="b", order_id=2)


def test_cancel_twice_second_is_not_found_and_changes_nothing(d: Driver) -> None:
    d.limit("a", "bid", 100, 3)
    assert d.cancel("a", order_id=1).reject is None
    assert_not_found(d, account="a", order_id=1)
    assert d.status(1) == ("cancelled", "cancel", 0, 3, 0)


def test_cancel_keeps_fifo_of_the_rest_of_the_level(d: Driver) -> None:
    d.limit("a", "ask", 101, 1)
    d.limit("a", "ask", 101, 1)
    d.limit("a", "ask", 101, 1)
    d.cancel("a", order_id=2)
    out = d.limit("b", "bid", 101, 2)
    assert [e.maker_order_id for e in out.events if hasattr(e, "maker_order_id")] == [1, 3]


def seed_orders(d: Driver) -> None:
    d.limit("a", "bid", 90, 1)  # 1 X
    d.limit("a", "bid", 91, 1, symbol="Y")  # 2 Y
    d.limit("b", "bid", 92, 1)  # 3 X, other account
    d.limit("a", "ask", 120, 1)  # 4 X


def test_cancel_all_one_symbol(d: Driver) -> None:
    seed_orders(d)
    out = d.cancel_all("a", "X")
    assert out.reject is None and out.cancelled_count == 2
    assert cancels(out) == ["#1 cancel 1", "#4 cancel 1"]
    assert [o.order_id for o in d.engine.open_orders("a")] == [2]
    assert [o.order_id for o in d.engine.open_orders("b")] == [3]


def test_cancel_all_symbols_then_again_returns_zero(d: Driver) -> None:
    seed_orders(d)
    assert d.cancel_all("a").cancelled_count == 3
    assert d.engine.open_orders("a") == []
    before = d.engine.state_hash()
    again = d.cancel_all("a")
    assert again.reject is None and again.cancelled_count == 0 and again.events == []
    assert d.engine.state_hash() == before
    assert d.cancel_all("nobody").cancelled_count == 0


def test_cancel_all_exclude_reduce_only_keeps_reduce_only_orders(d: Driver) -> None:
    d.limit("b", "ask", 100, 5)
    d.limit("a", "bid", 100, 5)  # a is long 5
    d.limit("a", "ask", 130, 2, reduce_only=True)  # 3
    d.limit("a", "bid", 80, 1)  # 4
    out = d.cancel_all("a", None, exclude_reduce_only=True)
    assert out.cancelled_count == 1 and cancels(out) == ["#4 cancel 1"]
    assert [o.order_id for o in d.engine.open_orders("a")] == [3]
    assert d.cancel_all("a", None).cancelled_count == 1


def test_cancel_all_unknown_symbol_is_book_not_found(d: Driver) -> None:
    out = d.cancel_all("a", "NOPE")
    assert out.reject is not None and out.reject.code == 3
