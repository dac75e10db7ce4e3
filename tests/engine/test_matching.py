"""Matching scenarios, each a ladder: book before, command, book and events after."""

from __future__ import annotations

import pytest
from enginekit import Driver, cancels, fills, kinds


@pytest.fixture
def d() -> Driver:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account)
    return d


def test_gtc_bid_into_empty_book_rests_and_logs_make(d: Driver) -> None:
    out = d.limit("a", "bid", 100, 3)
    assert out.reject is None and out.order_id == 1
    assert kinds(out.events) == ["OrderAccepted"]
    assert d.ladder() == ["---", "bid 100 x 3 (1)"]
    assert d.status(1) == ("open", None, 0, 0, 3)
    assert [h.event_type for h in d.engine.order_history(1)] == ["make"]
    assert d.engine.last_order_id == 1


def test_partial_fill_leaves_maker_remainder_on_the_book(d: Driver) -> None:
    d.limit("a", "ask", 101, 5)
    assert d.ladder() == ["ask 101 x 5 (1)", "---"]
    out = d.limit("b", "bid", 101, 3)
    assert fills(out) == ["#1 -> #2: 3 @ 101"]
    assert d.ladder() == ["ask 101 x 2 (1)", "---"]
    assert d.status(1) == ("partially_filled", None, 3, 0, 2)
    assert d.status(2) == ("filled", None, 3, 0, 0)
    assert [h.event_type for h in d.engine.order_history(2)] == ["fulfill_limit"]
    maker_history = d.engine.order_history(1)
    assert [(h.event_type, h.order_status) for h in maker_history] == [
        ("fulfill_limit", "partially_filled"),
        ("make", "open"),
    ]


def test_taker_sweeps_levels_at_resting_prices_and_rests_remainder(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    d.limit("a", "ask", 102, 3)
    d.limit("a", "ask", 104, 5)
    assert d.ladder() == ["ask 104 x 5 (1)", "ask 102 x 3 (1)", "ask 101 x 2 (1)", "---"]
    out = d.limit("b", "bid", 103, 6)
    assert fills(out) == ["#1 -> #4: 2 @ 101", "#2 -> #4: 3 @ 102"]
    assert d.ladder() == ["ask 104 x 5 (1)", "---", "bid 103 x 1 (1)"]
    record = d.engine.order(4)
    assert record is not None and record.status == "partially_filled"
    assert str(record.avg_fill_price) == "101.6"  # (2*101 + 3*102) / 5


def test_fifo_within_a_level(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    d.limit("b", "ask", 101, 2)
    d.limit("a", "ask", 101, 2)
    assert d.ladder() == ["ask 101 x 6 (3)", "---"]
    out = d.limit("c", "bid", 101, 3)
    assert fills(out) == ["#1 -> #4: 2 @ 101", "#2 -> #4: 1 @ 101"]
    assert d.ladder() == ["ask 101 x 3 (2)", "---"]
    out = d.limit("c", "bid", 101, 2)
    assert fills(out) == ["#2 -> #5: 1 @ 101", "#3 -> #5: 1 @ 101"]


def test_better_price_fills_first_regardless_of_arrival(d: Driver) -> None:
    d.limit("a", "bid", 99, 2)
    d.limit("b", "bid", 100, 2)
    out = d.limit("c", "ask", 95, 3)
    assert fills(out) == ["#2 -> #3: 2 @ 100", "#1 -> #3: 1 @ 99"]
    assert d.ladder() == ["---", "bid 99 x 1 (1)"]


def test_ioc_fills_what_crosses_and_cancels_the_remainder(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    out = d.limit("b", "bid", 101, 5, "IOC")
    assert fills(out) == ["#1 -> #2: 2 @ 101"]
    assert cancels(out) == ["#2 ioc_remainder 3"]
    assert d.ladder() == ["---"]
    assert d.status(2) == ("cancelled", "ioc_remainder", 2, 3, 0)
    assert [h.event_type for h in d.engine.order_history(2)] == ["cancel", "fulfill_limit"]


def test_ioc_without_a_cross_is_cancelled_whole_and_full_ioc_is_filled(d: Driver) -> None:
    out = d.limit("b", "bid", 100, 5, "IOC")
    assert cancels(out) == ["#1 ioc_remainder 5"]
    assert d.status(1) == ("cancelled", "ioc_remainder", 0, 5, 0)
    d.limit("a", "ask", 101, 5)
    out = d.limit("b", "bid", 101, 5, "IOC")
    assert cancels(out) == [] and d.status(3) == ("filled", None, 5, 0, 0)


def test_alo_that_would_take_is_accepted_then_rejected_and_nothing_rests(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    out = d.limit("b", "bid", 101, 2, "ALO")
    assert out.reject is None and out.order_id == 2
    assert kinds(out.events) == ["OrderAccepted", "OrderCancelled"]
    assert cancels(out) == ["#2 post_only_rejected 2"]
    assert d.ladder() == ["ask 101 x 2 (1)", "---"]
    assert d.status(2) == ("rejected", "post_only_rejected", 0, 2, 0)
    assert [h.event_type for h in d.engine.order_history(2)] == ["post_only_rejected"]


def test_alo_that_does_not_cross_rests(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    out = d.limit("b", "bid", 100, 2, "ALO")
    assert out.reject is None and d.ladder() == ["ask 101 x 2 (1)", "---", "bid 100 x 2 (1)"]


def test_tob_that_would_cross_is_repriced_one_tick_inside(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    d.limit("a", "bid", 95, 2)
    out = d.limit("b", "bid", 105, 2, "TOB")
    assert fills(out) == []
    assert d.ladder() == ["ask 101 x 2 (1)", "---", "bid 100 x 2 (1)", "bid 95 x 2 (1)"]
    record = d.engine.order(3)
    assert record is not None and record.price_ticks == 100 and record.status == "open"
    d.limit("c", "ask", 90, 2, "TOB")
    assert d.ladder() == [
        "ask 101 x 4 (2)",
        "---",
        "bid 100 x 2 (1)",
        "bid 95 x 2 (1)",
    ]


def test_tob_without_a_cross_rests_at_its_own_price(d: Driver) -> None:
    d.limit("a", "ask", 110, 2)
    d.limit("b", "bid", 100, 2, "TOB")
    assert d.ladder() == ["ask 110 x 2 (1)", "---", "bid 100 x 2 (1)"]


def test_tob_bid_with_no_room_below_the_best_ask_is_post_only_rejected() -> None:
    d = Driver()
    d.fund("a")
    d.fund("b")
    d.limit("a", "ask", 1, 20)
    out = d.limit("b", "bid", 5, 20, "TOB")
    assert d.status(2) == ("rejected", "post_only_rejected", 0, 20, 0)
    assert out.order_id == 2 and d.ladder() == ["ask 1 x 20 (1)", "---"]


def test_self_trade_cancels_the_resting_order_and_matching_continues(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    d.limit("b", "ask", 101, 3)
    assert d.ladder() == ["ask 101 x 5 (2)", "---"]
    out = d.limit("a", "bid", 101, 4)
    assert kinds(out.events)[:3] == ["OrderAccepted", "OrderCancelled", "OrderFilled"]
    assert cancels(out) == ["#1 self_trade_prevented 2"]
    assert fills(out) == ["#2 -> #3: 3 @ 101"]
    assert d.ladder() == ["---", "bid 101 x 1 (1)"]
    assert d.status(1) == ("rejected", "self_trade_prevented", 0, 2, 0)
    assert d.engine.order_history(1)[0].event_type == "self_trade_prevented"


def test_every_event_carries_its_command_seq_and_ts(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    out = d.limit("b", "bid", 101, 2)
    assert {(e.seq, e.ts_ms) for e in out.events} == {(d.seq, 1_000 * d.seq)}
