"""The WebSocket client's mirror reconciles snapshots with `li`-ordered updates (ws_mirror.py):
pushes of the two account channels arrive in no fixed order between them, snapshots may lag,
and a reconnect starts over from the new connection's snapshot."""

from __future__ import annotations

from decimal import Decimal

from tidepool.client import AccountOrder, Book, OrderUpdate, Snapshot
from tidepool.client.ws_mirror import Latest, OpenOrders


def order(order_id: int, filled: str = "0") -> AccountOrder:
    return AccountOrder(
        order_id=order_id,
        client_order_id=None,
        symbol="BTC",
        side="bid",
        price=Decimal("90000"),
        initial_amount=Decimal("1"),
        filled_amount=Decimal(filled),
        cancelled_amount=Decimal("0"),
        created_at=1,
        order_type="limit",
        reduce_only=False,
    )


def update(order_id: int, status: str, li: int, filled: str = "0") -> OrderUpdate:
    return OrderUpdate(
        order_id=order_id,
        client_order_id=None,
        account="A",
        symbol="BTC",
        side="bid",
        average_filled_price=Decimal("90000"),
        initial_price=Decimal("90000"),
        last_filled_price=None,
        amount=Decimal("1"),
        filled_amount=Decimal(filled),
        event_type="make",
        order_status=status,
        order_type="limit",
        reduce_only=False,
        created_at=1,
        updated_at=2,
        last_order_id=li,
    )


def snapshot(li: int, *orders: AccountOrder) -> Snapshot[AccountOrder]:
    return Snapshot(items=list(orders), last_order_id=li)


def shown(mirror: OpenOrders) -> dict[int, Decimal]:
    return {o.order_id: o.filled_amount for o in mirror.orders.values()}


def test_updates_that_arrive_before_the_snapshot_are_applied_when_newer_than_it() -> None:
    mirror = OpenOrders()
    mirror.update(update(9, "open", li=9))  # older than the snapshot, which shows a fill since
    mirror.update(update(11, "open", li=11))
    mirror.update(update(10, "partially_filled", li=12, filled="0.5"))
    assert not mirror.current
    mirror.snapshot(snapshot(10, order(9, filled="0.3"), order(10)))
    assert mirror.current
    assert shown(mirror) == {9: Decimal("0.3"), 10: Decimal("0.5"), 11: Decimal(0)}


def test_a_lagging_snapshot_does_not_undo_newer_updates() -> None:
    mirror = OpenOrders()
    mirror.snapshot(snapshot(10, order(10)))
    mirror.update(update(11, "open", li=11))
    mirror.update(update(10, "cancelled", li=11))  # a cancel makes no order id: same li
    assert shown(mirror) == {11: Decimal(0)}
    # Built after the create and before the cancel, it arrives after both updates.
    mirror.snapshot(snapshot(11, order(10), order(11)))
    assert shown(mirror) == {11: Decimal(0)}
    mirror.snapshot(snapshot(10, order(10)))  # older than what the mirror shows: ignored
    assert shown(mirror) == {11: Decimal(0)}
    mirror.update(update(11, "filled", li=12, filled="1"))
    assert shown(mirror) == {}


def test_after_a_reconnect_the_open_orders_are_rebuilt_from_the_new_snapshot() -> None:
    mirror = OpenOrders()
    mirror.snapshot(snapshot(20, order(20)))
    mirror.update(update(21, "open", li=21))
    mirror.reset()
    assert not mirror.current
    # A server restored to an older state answers with a lower li: it is the truth now.
    mirror.snapshot(snapshot(15, order(15)))
    assert mirror.current and shown(mirror) == {15: Decimal(0)}


def book(li: int, bid: str) -> Book:
    return Book(symbol="BTC", levels=([], []), timestamp=int(bid), last_order_id=li)


def test_a_book_never_goes_back_to_an_older_li_but_takes_the_first_after_a_reconnect() -> None:
    latest: Latest[Book] = Latest(lambda b: b.last_order_id)
    latest.apply(book(5, "1"))
    latest.apply(book(5, "2"))  # a cancel changed the book without a new order id
    latest.apply(book(4, "3"))
    assert latest.value is not None and latest.value.timestamp == 2
    latest.reset()
    latest.apply(book(3, "4"))
    assert latest.current and latest.value.timestamp == 4
