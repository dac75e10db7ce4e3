"""Edit (spec §2.8): cancel-and-replace with a new id, posted as ALO, at the back of its level."""

from __future__ import annotations

from enginekit import Driver, cancels, kinds

from tidepool.domain.errors import Code

CLOID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"


def driver() -> Driver:
    d = Driver()
    for account in ("a", "b", "c"):
        d.fund(account, 1_000)
    return d


def test_edit_gives_a_new_id_and_joins_the_back_of_the_level() -> None:
    d = driver()
    d.limit("a", "bid", 99, 2, cloid=CLOID)
    d.limit("b", "bid", 99, 3)
    assert d.ladder() == ["---", "bid 99 x 5 (2)"]
    out = d.edit("a", 99, 4, cloid=CLOID)
    assert out.reject is None and out.order_id == 3
    assert kinds(out.events) == ["OrderCancelled", "OrderAccepted"]
    assert cancels(out) == ["#1 edit 2"]
    assert d.ladder() == ["---", "bid 99 x 7 (2)"]
    new = d.engine.order(3)
    assert new is not None
    assert (new.side, new.tif, new.client_order_id, new.initial_lots) == ("bid", "ALO", CLOID, 4)
    assert d.status(1) == ("cancelled", "edit", 0, 2, 0)
    assert [h.event_type for h in d.engine.order_history(1)] == ["cancel", "make"]
    # FIFO: b's order (id 2) is now ahead of the edited one.
    d.limit("c", "ask", 99, 3)
    assert d.status(2)[0] == "filled" and d.status(3)[0] == "open"
    # the client id names the new order: cancel by it finds #3
    assert d.cancel("a", cloid=CLOID).order_id == 3


def test_edit_keeps_the_remaining_size_when_amount_is_omitted() -> None:
    d = driver()
    d.limit("a", "ask", 101, 5)
    d.limit("b", "bid", 101, 2)
    out = d.edit("a", 102, order_id=1)
    assert out.order_id == 3
    assert d.ladder() == ["ask 102 x 3 (1)", "---"]


def test_edit_that_would_take_is_post_only_rejected_and_the_old_order_is_gone() -> None:
    d = driver()
    d.limit("a", "bid", 99, 2)
    d.limit("b", "ask", 101, 2)
    out = d.edit("a", 101, order_id=1)
    assert out.reject is None and cancels(out) == ["#1 edit 2", "#3 post_only_rejected 2"]
    assert d.ladder() == ["ask 101 x 2 (1)", "---"]
    assert d.status(3) == ("rejected", "post_only_rejected", 0, 2, 0)


def test_unknown_other_accounts_and_dead_orders_are_order_not_found() -> None:
    d = driver()
    d.limit("a", "bid", 99, 2)
    d.limit("b", "ask", 99, 2)  # fills #1
    d.limit("a", "bid", 98, 1)
    before = d.engine.state_hash()
    for out in (
        d.edit("a", 97, order_id=1),  # filled
        d.edit("b", 97, order_id=3),  # someone else's
        d.edit("a", 97, order_id=3, symbol="Y"),  # other symbol
        d.edit("a", 97, order_id=99),
        d.edit("a", 97, cloid=CLOID),
    ):
        assert out.reject is not None
        assert (out.reject.code, out.reject.message, out.reject.http_status) == (
            Code.ORDER_NOT_FOUND,
            "Order not found",
            422,
        )
    assert d.engine.state_hash() == before


def test_edit_margin_counts_the_old_order_as_released() -> None:
    d = Driver()
    d.fund("a", 100)  # 10x: 1000 of notional
    d.limit("a", "bid", 100, 10)  # uses it all
    assert d.limit("a", "bid", 100, 1).reject is not None
    assert d.edit("a", 90, 11, order_id=1).reject is None  # 990 fits once 1000 is released
    before = d.engine.state_hash()
    out = d.edit("a", 90, 12, order_id=2)  # 1080 does not
    assert out.reject is not None and out.reject.code == Code.INSUFFICIENT_BALANCE
    assert d.engine.state_hash() == before
    low = d.edit("a", 5, 1, order_id=2)
    assert low.reject is not None and low.reject.code == Code.ORDER_AMOUNT_TOO_LOW
