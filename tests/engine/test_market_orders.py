"""Market orders (spec §2.2): IOC against the book, bounded by slippage from the mark.

Grid: 1 tick = $1, 1 lot = 1 unit, mark 100, 10x leverage, min notional $10.
"""

from __future__ import annotations

from enginekit import Driver, cancels, fills

from tidepool.domain.errors import Code


def driver() -> Driver:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account)
    return d


def test_market_buy_sweeps_up_to_the_slippage_limit_and_cancels_the_rest() -> None:
    d = driver()
    d.limit("a", "ask", 101, 2)
    d.limit("a", "ask", 103, 2)
    d.limit("a", "ask", 106, 2)  # beyond mark 100 + 5 %
    assert d.ladder() == ["ask 106 x 2 (1)", "ask 103 x 2 (1)", "ask 101 x 2 (1)", "---"]
    out = d.market("b", "bid", 5, "5")
    assert out.reject is None and out.order_id == 4
    assert fills(out) == ["#1 -> #4: 2 @ 101", "#2 -> #4: 2 @ 103"]
    assert cancels(out) == ["#4 ioc_remainder 1"]
    assert d.ladder() == ["ask 106 x 2 (1)", "---"]
    record = d.engine.order(4)
    assert record is not None
    assert (record.order_type, record.tif, record.price_ticks) == ("market", "IOC", 105)
    assert (record.status, record.filled_lots) == ("cancelled", 4)
    assert [h.event_type for h in d.engine.order_history(4)] == [
        "cancel",
        "fulfill_market",
        "fulfill_market",
    ]


def test_market_sell_limit_rounds_up_to_the_tick() -> None:
    d = driver()
    d.mark("X", "100.5")
    d.limit("a", "bid", 99, 1)
    d.limit("a", "bid", 98, 1)
    # 100.5 x 0.985 = 98.9925 -> the limit rounds up to 99: the 98 bid is out of reach.
    out = d.market("b", "ask", 2, "1.5")
    assert fills(out) == ["#1 -> #3: 1 @ 99"]
    assert d.ladder() == ["---", "bid 98 x 1 (1)"]


def test_nothing_within_the_band_is_error_25_and_changes_nothing() -> None:
    d = driver()
    d.limit("a", "ask", 110, 2)
    before = d.engine.state_hash()
    out = d.market("b", "bid", 1, "5")
    assert out.reject is not None and out.reject.code == Code.NO_REASONABLE_PRICE
    assert out.reject.message == "No reasonable price found" and out.reject.http_status == 422
    assert d.engine.state_hash() == before and d.engine.last_order_id == 1
    empty = d.market("b", "ask", 1, "5")
    assert empty.reject is not None and empty.reject.code == Code.NO_REASONABLE_PRICE


def test_market_order_validation_comes_before_the_book() -> None:
    d = driver()
    d.limit("a", "ask", 101, 2)
    low = d.market("b", "bid", 0, "1")
    assert low.reject is not None and low.reject.code == 400
    tiny = d.market("b", "bid", 1, "1", symbol="Y")  # valid, but the Y book is empty
    assert tiny.reject is not None and tiny.reject.code == Code.NO_REASONABLE_PRICE
    reduce = d.market("b", "bid", 1, "1", reduce_only=True)
    assert (
        reduce.reject is not None and reduce.reject.code == Code.NO_POSITION_FOR_REDUCE_ONLY_ORDER
    )
    assert d.market("b", "bid", 1, "-1").reject is not None


def test_size_limits_use_the_mark_and_margin_the_limit() -> None:
    d = Driver()
    d.fund("a")
    d.fund("b", 101)  # at 10x: 1010 of notional
    d.limit("a", "ask", 100, 20)
    # 10 lots at mark 100 = 1000 notional, but the 1 % limit is 101: 1010 / 10 = 101 of margin.
    assert d.market("b", "bid", 10, "1").reject is None
    d.fund("c", 100)
    out = d.market("c", "bid", 10, "1")
    assert out.reject is not None and out.reject.code == Code.INSUFFICIENT_BALANCE
    # min notional at the mark: 1 lot x mark 100 >= 10 even though the limit would matter less
    d.mark("X", 9)
    out = d.market("c", "bid", 1, "1")
    assert out.reject is not None and out.reject.code == Code.ORDER_AMOUNT_TOO_LOW


def test_reduce_only_market_closes_a_position() -> None:
    d = driver()
    d.limit("a", "ask", 100, 3)
    d.limit("b", "bid", 100, 3)  # b long 3
    d.limit("c", "bid", 99, 5)
    out = d.market("b", "ask", 3, "2", reduce_only=True)
    assert fills(out) == ["#3 -> #4: 3 @ 99"]
    assert d.engine.positions("b") == []
    too_big = d.market("a", "bid", 4, "2", reduce_only=True)  # a is short 3
    assert too_big.reject is not None
    assert too_big.reject.code == Code.INVALID_REDUCE_ONLY_ORDER_AMOUNT


def test_market_order_against_own_orders_cancels_them() -> None:
    d = driver()
    d.limit("a", "ask", 101, 1)
    d.limit("b", "ask", 102, 1)
    out = d.market("a", "bid", 2, "5")
    assert cancels(out) == ["#1 self_trade_prevented 1", "#3 ioc_remainder 1"]
    assert fills(out) == ["#2 -> #3: 1 @ 102"]
