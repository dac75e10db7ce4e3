"""Positions and collateral through fills: open, increase, reduce, close, flip, with fees.

Grid: 1 tick = $1, 1 lot = 1 unit; fees maker 0.015 %, taker 0.04 %; mark 100; 10x leverage.
"""

from __future__ import annotations

from decimal import Decimal

from enginekit import Driver, kinds

from tidepool.engine.events import BalanceChanged, OrderFilled, PositionChanged


def position(d: Driver, account: str) -> tuple[str, int, str, str] | None:
    """(side, size, entry price, realised pnl) of the account's X position."""
    for p in d.engine.positions(account):
        if p.symbol == "X":
            return p.side, p.size_lots, str(p.entry_price), str(p.realized_pnl)
    return None


def test_open_increase_reduce_close_flip_with_fees_and_pnl() -> None:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account)

    # open: a takes 10 @100 from b
    d.limit("b", "ask", 100, 10)
    out = d.limit("a", "bid", 100, 10)
    assert kinds(out.events) == [
        "OrderAccepted",
        "OrderFilled",
        "PositionChanged",
        "BalanceChanged",
        "PositionChanged",
        "BalanceChanged",
    ]
    assert position(d, "a") == ("bid", 10, "100", "0")
    assert position(d, "b") == ("ask", 10, "100", "0")
    fees = [e for e in out.events if isinstance(e, BalanceChanged)]
    assert [(e.account, e.delta) for e in fees] == [
        ("b", Decimal("-0.15000")),
        ("a", Decimal("-0.4000")),
    ]

    # increase: 10 more @110 -> VWAP 105
    d.limit("b", "ask", 110, 10)
    d.limit("a", "bid", 110, 10)
    assert position(d, "a") == ("bid", 20, "105", "0")
    assert position(d, "b") == ("ask", 20, "105", "0")

    # reduce: a sells 5 @120 to c (a is the maker): realises (120-105) x 5 = 75
    d.limit("a", "ask", 120, 5)
    out = d.limit("c", "bid", 120, 5)
    changed = [e for e in out.events if isinstance(e, PositionChanged)]
    assert [(e.account, e.size_lots, e.realized_pnl) for e in changed] == [
        ("a", 15, Decimal(75)),
        ("c", 5, Decimal(0)),
    ]
    assert position(d, "a") == ("bid", 15, "105", "75")

    # close: a sells 15 @100 to b: a realises -75, b (short 20 @105) realises +75
    d.limit("a", "ask", 100, 15)
    d.limit("b", "bid", 100, 15)
    assert position(d, "a") is None
    assert position(d, "b") == ("ask", 5, "105", "75")

    # flip: b buys 8 @90 from c (long 5 @120): c realises -150 and goes short 3,
    # b realises +75 and goes long 3; flipped positions start afresh.
    d.limit("c", "ask", 90, 8)
    d.limit("b", "bid", 90, 8)
    assert position(d, "b") == ("bid", 3, "90", "0")
    assert position(d, "c") == ("ask", 3, "90", "0")
    flipped = d.engine.positions("b")[0]
    assert flipped.created_at == flipped.updated_at == 1_000 * d.seq

    assert d.engine.balance("a") == Decimal("99998.845")
    assert d.engine.balance("b") == Decimal("100148.797")
    assert d.engine.balance("c") == Decimal("99849.652")
    assert d.engine.open_interest("X") == Decimal(3)


def test_rounded_cost_basis_keeps_collateral_exact() -> None:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account)
    d.limit("b", "ask", 100, 2)
    d.limit("b", "ask", 101, 1)
    d.limit("a", "bid", 101, 3)  # long 3, cost 301
    assert position(d, "a") == ("bid", 3, "100.333333", "0")
    d.limit("c", "bid", 101, 1)
    d.limit("a", "ask", 101, 1)  # removes round(301 / 3) = 100 of cost: realises 1
    assert position(d, "a") == ("bid", 2, "100.5", "1")
    d.mark("X", "97.5")
    d.engine.check_invariants()  # I9 holds exactly despite the rounded share


def test_margin_and_summary_follow_the_mark() -> None:
    d = Driver()
    d.fund("a", 1_000)
    d.fund("b", 1_000)
    d.limit("b", "ask", 100, 50)
    d.limit("a", "bid", 100, 50)
    d.mark("X", 110)
    p = d.engine.positions("a")[0]
    assert p.margin == Decimal(550) and p.isolated is False
    s = d.engine.account_summary("a")
    assert s.balance == Decimal("998") and s.equity == Decimal("1498")
    assert s.available_to_spend == Decimal("948")
    assert (s.positions_count, s.orders_count) == (1, 0)
    d.limit("a", "bid", 50, 10)
    s = d.engine.account_summary("a")
    assert s.order_margin == Decimal(50) and s.orders_count == 1


def test_resting_reduce_only_order_never_increases_the_position() -> None:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account)
    d.limit("b", "ask", 100, 5)
    d.limit("a", "bid", 100, 5)  # a long 5
    d.limit("a", "ask", 120, 5, reduce_only=True)  # order 3 rests
    d.limit("c", "bid", 110, 3)
    d.limit("a", "ask", 110, 3)  # a long 2: order 3 may only sell 2 more
    out = d.limit("c", "bid", 120, 5)
    fills = [(e.maker_order_id, e.size_lots) for e in out.events if isinstance(e, OrderFilled)]
    assert fills == [(3, 2)]
    assert d.status(3) == ("cancelled", "reduce_only", 2, 3, 0)
    assert position(d, "a") is None
    assert d.ladder() == ["---", "bid 120 x 3 (1)"]


def test_reduce_only_taker_closes_exactly() -> None:
    d = Driver()
    for account in ("a", "b"):
        d.fund(account)
    d.limit("b", "bid", 100, 5)
    d.limit("a", "ask", 100, 5)  # a short 5
    d.limit("b", "ask", 99, 10)
    d.limit("a", "bid", 99, 5, "IOC", reduce_only=True)
    assert position(d, "a") is None and position(d, "b") is None
