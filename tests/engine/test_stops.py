"""Stop orders, position TP/SL and attached TP/SL legs, as ladders (spec §2.3, §2.4, §2.7).

Grid: 1 tick = $1, 1 lot = 1 unit, mark 100, 10x leverage; stop-market slippage 10 %.
"""

from __future__ import annotations

from enginekit import Driver, cancels, fills, kinds, leg

from tidepool.domain.errors import Code
from tidepool.engine.commands import CancelAllOrders
from tidepool.engine.engine import Engine


def driver() -> Driver:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account)
    return d


def long_position(d: Driver, account: str = "a", size: int = 5, price: int = 100) -> None:
    d.limit("c", "ask", price, size)
    d.limit(account, "bid", price, size)


def test_stop_market_rests_off_book_and_triggers_when_the_mark_rises() -> None:
    d = driver()
    d.limit("b", "ask", 104, 3)
    out = d.stop("a", "bid", 103, size=2)
    assert out.reject is None and out.order_id == 2
    assert d.pending("a") == [(2, "stop_market", "bid", 103)]
    assert d.ladder() == ["ask 104 x 3 (1)", "---"]  # not on the book
    assert d.engine.account_summary("a").stop_orders_count == 1
    assert [h.event_type for h in d.engine.order_history(2)] == ["stop_created"]
    assert kinds(d.mark("X", "102.9").events) == ["MarkPriceSet"]  # not yet
    out = d.mark("X", 103)
    assert kinds(out.events)[:3] == ["MarkPriceSet", "StopTriggered", "OrderFilled"]
    assert fills(out) == ["#1 -> #2: 2 @ 104"]
    assert d.pending("a") == []
    record = d.engine.order(2)
    assert record is not None
    assert (record.order_type, record.status) == ("stop_market", "filled")
    assert record.price_ticks == 113  # mark 103 + 10 % slippage
    assert [h.event_type for h in d.engine.order_history(2)] == [
        "fulfill_market",
        "stop_triggered",
        "stop_created",
    ]


def test_stop_limit_triggered_by_a_fall_rests_at_its_limit() -> None:
    d = driver()
    d.limit("b", "bid", 95, 1)
    d.stop("a", "ask", 97, limit=96, size=2)
    d.mark("X", 97)
    assert d.ladder() == ["ask 96 x 2 (1)", "---", "bid 95 x 1 (1)"]
    [order] = d.engine.open_orders("a")
    assert (order.order_type, order.pending, order.stop_ticks) == ("stop_limit", False, 97)


def test_a_stop_already_past_its_price_triggers_at_creation() -> None:
    d = driver()
    d.limit("b", "ask", 101, 1)
    out = d.stop("a", "bid", 99, size=1)  # mark 100 >= 99
    assert fills(out) == ["#1 -> #2: 1 @ 101"]


def test_last_trade_price_stops_trigger_on_trades_and_cascade() -> None:
    d = driver()
    d.limit("b", "ask", 102, 1)
    d.limit("b", "ask", 104, 1)
    d.stop("a", "bid", 102, size=1, trigger="last_trade_price")  # #3
    assert d.mark("X", 110).events[1:] == []  # the mark does not matter
    out = d.limit("c", "bid", 102, 1)  # trades at 102: #3 triggers and buys at 104
    assert fills(out) == ["#1 -> #4: 1 @ 102", "#2 -> #3: 1 @ 104"]


def test_cancel_stop_and_regular_cancel_do_not_mix() -> None:
    d = driver()
    d.stop("a", "bid", 110, size=1, cloid="s1")
    d.limit("a", "bid", 90, 1)
    assert d.cancel("a", order_id=1).reject is not None  # a stop is not a resting order
    assert d.cancel_stop("a", order_id=2).reject is not None  # and vice versa
    out = d.cancel_stop("a", cloid="s1")
    assert out.reject is None and cancels(out) == ["#1 cancel 1"]
    assert d.status(1) == ("cancelled", "cancel", 0, 1, 0)
    again = d.cancel_stop("a", order_id=1)
    assert again.reject is not None and again.reject.message == "Order not found"


def test_stop_creation_rejections_change_nothing() -> None:
    d = driver()
    d.stop("a", "bid", 110, size=1, cloid="s1")
    before = d.engine.state_hash()
    for out, code in (
        (d.stop("a", "bid", 110, size=1, cloid="s1"), Code.DUPLICATE_CLIENT_ORDER_ID),
        (d.stop("a", "bid", 110, size=1, symbol="NOPE"), Code.BOOK_NOT_FOUND),
        (d.stop("a", "bid", 0, size=1), 400),
        (d.stop("a", "bid", 110, limit=0), 400),
    ):
        assert out.reject is not None and out.reject.code == code
    assert d.engine.state_hash() == before


def test_position_tpsl_closes_the_position_and_the_other_leg_goes() -> None:
    d = driver()
    long_position(d)  # a long 5 @100
    d.limit("b", "bid", 108, 10)
    out = d.tpsl("a", "ask", tp=leg(108), sl=leg(95))
    assert out.reject is None and out.order_id is None
    assert d.pending("a") == [
        (4, "take_profit_market", "ask", 108),
        (5, "stop_loss_market", "ask", 95),
    ]
    out = d.mark("X", 108)
    assert fills(out) == ["#3 -> #4: 5 @ 108"]
    assert d.engine.positions("a") == []
    assert cancels(out) == ["#5 position_closed 0"]
    assert d.pending("a") == []


def test_position_tpsl_sized_leg_and_replacement() -> None:
    d = driver()
    long_position(d)
    d.tpsl("a", "ask", sl=leg(95, limit=94, size=2))  # #3
    out = d.tpsl("a", "ask", sl=leg(90, size=9))  # replaces #3; capped at the position
    assert cancels(out) == ["#3 replaced 2"]
    d.limit("b", "bid", 89, 10)
    d.mark("X", 90)
    assert [(p.side, p.size_lots) for p in d.engine.positions("a")] == []
    record = d.engine.order(4)
    assert record is not None and (record.initial_lots, record.filled_lots) == (5, 5)


def test_position_tpsl_rejections() -> None:
    d = driver()
    none = d.tpsl("a", "ask", tp=leg(110))
    assert none.reject is not None and none.reject.code == Code.POSITION_NOT_FOUND
    assert none.reject.message == "Position not found"
    long_position(d)
    same = d.tpsl("a", "bid", tp=leg(110))
    assert same.reject is not None and same.reject.code == Code.INVALID_STOP_ORDER_SIDE
    empty = d.tpsl("a", "ask")
    assert empty.reject is not None and empty.reject.code == 400


def test_attached_legs_wait_for_the_first_fill() -> None:
    d = driver()
    out = d.limit("a", "bid", 99, 4, tp=leg(110), sl=leg(90, limit=89))
    assert out.order_id == 1
    assert d.pending("a") == [
        (2, "take_profit_market", "ask", 110),
        (3, "stop_loss_limit", "ask", 90),
    ]
    assert d.mark("X", 85).events[1:] == []  # not armed: nothing triggers
    d.mark("X", 100)
    d.limit("b", "ask", 99, 1)  # the parent fills 1: legs armed
    assert [h.event_type for h in d.engine.order_history(2)] == [
        "stop_parent_order_filled",
        "stop_created",
    ]
    d.limit("c", "bid", 89, 5)
    out = d.mark("X", 90)  # SL triggers: sells the 1 lot at its limit 89
    assert fills(out) == ["#5 -> #3: 1 @ 89"]
    # it first meets the parent's own resting remainder (self-trade prevention), then the TP
    # goes with the closed position
    assert cancels(out) == ["#1 self_trade_prevented 3", "#2 position_closed 0"]
    assert d.engine.positions("a") == []


def test_a_parent_cancelled_without_fill_cancels_its_legs_and_edit_keeps_them() -> None:
    d = driver()
    d.limit("a", "bid", 99, 4, tp=leg(110))
    d.edit("a", 98, order_id=1)  # #3 replaces #1 and takes the leg
    record = d.engine.order(2)
    assert record is not None and record.parent_id == 3 and record.pending
    out = d.cancel("a", order_id=3)
    assert cancels(out) == ["#2 parent_cancelled 0", "#3 cancel 4"]
    # post-only rejection and a market order that fills nothing behave the same way
    d.limit("b", "ask", 101, 1)
    out = d.limit("a", "bid", 101, 1, "ALO", tp=leg(120))
    assert cancels(out) == ["#6 parent_cancelled 0", "#5 post_only_rejected 1"]


def test_market_order_with_attached_legs() -> None:
    d = driver()
    d.limit("b", "ask", 101, 2)
    out = d.apply_market_with_legs("a", "bid", 2, tp=leg(105), sl=leg(95))
    assert fills(out) == ["#1 -> #2: 2 @ 101"]
    assert [p[1] for p in d.pending("a")] == ["take_profit_market", "stop_loss_market"]


def test_cancel_all_takes_stops_and_keeps_reduce_only_legs_when_asked() -> None:
    d = driver()
    long_position(d)
    d.limit("a", "bid", 90, 1)  # #3
    d.stop("a", "bid", 120, size=1)  # #4
    d.tpsl("a", "ask", tp=leg(130))  # #5 (reduce-only)
    d.stop("a", "ask", 80, size=1, reduce_only=True)  # #6
    out = d.cancel_all("a", exclude_reduce_only=True)
    assert out.cancelled_count == 2 and cancels(out) == ["#3 cancel 1", "#4 cancel 1"]
    assert [p[0] for p in d.pending("a")] == [5, 6]
    out = d.cancel_all("a", symbol="X")
    assert out.cancelled_count == 2 and d.engine.open_orders("a") == []


def test_reduce_only_stop_with_no_position_left_is_cancelled_at_trigger() -> None:
    d = driver()
    d.stop("a", "ask", 95, reduce_only=True)
    out = d.mark("X", 95)
    assert kinds(out.events) == ["MarkPriceSet", "StopTriggered", "OrderCancelled"]
    assert d.status(1) == ("cancelled", "no_position", 0, 0, 0)


def test_non_reduce_only_stop_without_margin_is_rejected_at_trigger() -> None:
    d = Driver()
    d.fund("a", 10)
    d.fund("b")
    d.limit("b", "ask", 101, 5)
    d.stop("a", "bid", 101, size=5)
    d.mark("X", 101)
    assert d.status(2)[:2] == ("rejected", "trigger_rejected")


def test_stops_survive_snapshot_and_restore() -> None:
    d = driver()
    d.limit("a", "bid", 99, 4, tp=leg(110))
    d.stop("b", "ask", 90, size=1)
    long_position(d, "c", 2)
    d.tpsl("c", "ask", sl=leg(95, trigger="last_trade_price"))
    restored = Engine.restore(d.engine.snapshot())
    restored.check_invariants()
    assert restored.state_hash() == d.engine.state_hash()
    assert restored.open_orders("a") == d.engine.open_orders("a")


def test_a_triggered_stop_rests_after_younger_orders_and_cancel_all_stays_in_id_order() -> None:
    """Found by the reference machine: resting order indexes are not in id order any more."""
    d = driver()
    d.stop("a", "ask", 97, limit=105, size=1)  # #1
    d.limit("a", "ask", 106, 1)  # #2 rests first
    d.mark("X", 97)  # #1 triggers and rests after #2
    restored = Engine.restore(d.engine.snapshot())
    out = d.cancel_all("a")
    assert cancels(out) == ["#1 cancel 1", "#2 cancel 1"]
    assert restored.apply(out_cmd(d)).events == out.events


def out_cmd(d: Driver) -> CancelAllOrders:
    return CancelAllOrders(
        seq=d.seq, ts_ms=1_000 * d.seq, account="a", symbol=None, exclude_reduce_only=False
    )
