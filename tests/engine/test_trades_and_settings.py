"""Trade records (account fills, public trades), order pages, and margin settings.

Grid: 1 tick = $1, 1 lot = 1 unit, mark 100, 10x leverage, fees maker 0.015 % / taker 0.04 %.
"""

from __future__ import annotations

from decimal import Decimal

from enginekit import Driver

from tidepool.domain.errors import Code
from tidepool.engine.engine import Engine


def driver() -> Driver:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account)
    return d


def fills_of(d: Driver, account: str) -> list[tuple[int, str, int, int, str, str, bool]]:
    page, _ = d.engine.fills_page(account, 100)
    spec = d.engine.markets["X"]
    return [
        (
            f.order_id,
            f.side,
            f.size_lots,
            f.price_ticks,
            str(f.entry_price(spec)),
            str(f.pnl),
            f.maker,
        )
        for f in page
    ]


def test_fills_record_sides_entry_pnl_and_fees_newest_first() -> None:
    d = driver()
    d.limit("b", "ask", 100, 10)
    d.limit("a", "bid", 100, 10)  # a opens long 10 @100 (taker)
    d.limit("a", "ask", 110, 4)
    d.limit("c", "bid", 110, 4)  # a closes 4 @110 (maker): pnl 40
    d.limit("c", "ask", 90, 8)
    d.limit("a", "bid", 95, 3)  # a adds 3 @90 to 6 @100: entry 870 / 9
    assert fills_of(d, "a") == [
        (6, "open_long", 3, 90, "96.666667", "0", False),
        (3, "close_long", 4, 110, "100", "40", True),
        (2, "open_long", 10, 100, "100", "0", False),
    ]
    assert fills_of(d, "c")[1] == (4, "open_long", 4, 110, "110", "0", False)
    page, _ = d.engine.fills_page("a", 100)
    assert page[1].fee == Decimal("0.06600")  # 440 x 0.015 %
    assert page[2].fee == Decimal("0.4000")  # 1000 x 0.04 %
    assert [h.history_id for h in page] == sorted((h.history_id for h in page), reverse=True)


def test_a_flip_is_labelled_as_a_close_with_the_old_entry() -> None:
    d = driver()
    d.limit("b", "ask", 100, 2)
    d.limit("a", "bid", 100, 2)  # a long 2 @100
    d.limit("b", "bid", 104, 5)
    d.limit("a", "ask", 104, 5)  # a sells 5: closes 2 (+8) and opens short 3
    [flip, _] = fills_of(d, "a")
    assert flip == (4, "close_long", 5, 104, "100", "8", False)
    assert [(p.side, p.size_lots) for p in d.engine.positions("a")] == [("ask", 3)]


def test_public_trades_are_the_takers_sides_newest_first() -> None:
    d = driver()
    d.limit("a", "ask", 101, 1)
    d.limit("a", "ask", 102, 1)
    d.limit("b", "bid", 102, 2)
    trades = d.engine.recent_trades("X", 10)
    assert [(t.price_ticks, t.side, t.maker, t.account) for t in trades] == [
        (102, "open_long", False, "b"),
        (101, "open_long", False, "b"),
    ]
    assert [t.price_ticks for t in d.engine.recent_trades("X", 1)] == [102]
    assert d.engine.recent_trades("Y", 10) == []
    ts = trades[0].created_at
    assert len(d.engine.trades_between("X", ts, ts + 1)) == 2
    assert d.engine.trades_between("X", ts + 1, ts + 100) == []


def test_fills_page_filters_and_pages() -> None:
    d = driver()
    for _ in range(3):
        d.limit("a", "ask", 100, 1)
        d.limit("b", "bid", 100, 1)
        d.limit("a", "ask", 100, 1, symbol="Y")
        d.limit("b", "bid", 100, 1, symbol="Y")
    first, more = d.engine.fills_page("b", 2, symbol="X")
    assert more and [f.symbol for f in first] == ["X", "X"]
    rest, more = d.engine.fills_page("b", 2, symbol="X", before_history_id=first[-1].history_id)
    assert not more and len(rest) == 1
    assert rest[0].history_id < first[-1].history_id
    late, _ = d.engine.fills_page("b", 10, start_ms=first[0].created_at)
    assert [f.symbol for f in late] == ["Y", "X"]


def test_orders_page_newest_first_with_cursor() -> None:
    d = driver()
    for price in (95, 96, 97, 98, 99):
        d.limit("a", "bid", price, 1)
    d.cancel("a", order_id=2)
    page, more = d.engine.orders_page("a", 2)
    assert [o.order_id for o in page] == [5, 4] and more
    page, more = d.engine.orders_page("a", 2, before_order_id=4)
    assert [(o.order_id, o.status) for o in page] == [(3, "open"), (2, "cancelled")] and more
    page, more = d.engine.orders_page("a", 2, before_order_id=2)
    assert [o.order_id for o in page] == [1] and not more
    assert d.engine.orders_page("nobody", 5) == ([], False)


def test_fills_and_pages_survive_snapshot_and_restore() -> None:
    d = driver()
    d.limit("a", "ask", 100, 3)
    d.limit("b", "bid", 100, 3)
    d.leverage("a", 4, "Y")
    restored = Engine.restore(d.engine.snapshot())
    assert restored.fills_page("a", 10) == d.engine.fills_page("a", 10)
    assert restored.recent_trades("X", 5) == d.engine.recent_trades("X", 5)
    assert restored.orders_page("b", 5) == d.engine.orders_page("b", 5)
    assert restored.margin_settings("a") == d.engine.margin_settings("a")


def test_leverage_sets_the_margin_and_cannot_drop_under_a_position() -> None:
    d = Driver()
    d.fund("a", 100)
    d.fund("b", 10_000)
    assert d.limit("a", "bid", 100, 11).reject is not None  # 1100 > 100 x 10
    out = d.leverage("a", 2)
    assert out.reject is None
    assert [(m.symbol, m.leverage, m.isolated) for m in d.engine.margin_settings("a")] == [
        ("X", 2, False)
    ]
    assert d.limit("a", "bid", 100, 3).reject is not None  # 300 / 2 > 100
    assert d.limit("a", "bid", 100, 2).reject is None
    d.limit("b", "ask", 100, 2)  # a is long 2
    assert d.leverage("a", 3).reject is None  # raising is fine
    lower = d.leverage("a", 1)
    assert lower.reject is not None and lower.reject.code == Code.INVALID_LEVERAGE
    assert lower.reject.message == "Cannot decrease leverage with open position.: 1"
    for bad in (0, 11):
        out = d.leverage("a", bad, "Y")
        assert out.reject is not None and out.reject.code == Code.INVALID_LEVERAGE
    unknown = d.leverage("a", 2, "NOPE")
    assert unknown.reject is not None and unknown.reject.code == Code.BOOK_NOT_FOUND
    d.leverage("b", 10)  # the default: not listed
    assert d.engine.margin_settings("b") == []


def test_margin_mode_is_recorded_and_locked_while_a_position_is_open() -> None:
    d = driver()
    assert d.margin_mode("a", True).reject is None
    d.limit("b", "ask", 100, 2)
    d.limit("a", "bid", 100, 2)
    [position] = d.engine.positions("a")
    assert position.isolated
    out = d.margin_mode("a", False)
    assert out.reject is not None and out.reject.code == Code.CANNOT_UPDATE_MARGIN
    assert out.reject.message == "Cannot update margin with open position for a: isolated false"
    assert d.margin_mode("a", True, "Y").reject is None
    d.limit("a", "ask", 99, 2)
    d.limit("c", "bid", 99, 2)  # a is flat again
    assert d.margin_mode("a", False).reject is None
    assert [m.symbol for m in d.engine.margin_settings("a")] == ["Y"]
