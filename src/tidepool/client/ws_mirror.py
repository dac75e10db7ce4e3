"""The local mirror of a `WebSocketClient`: books and account state kept up to date from pushes.

Every state push carries the exchange's last order id `li` at the state it shows (spec A8), and
pushes of one channel arrive in engine order. Each mirror is rebuilt from the first snapshot of
each connection (what the server sends on subscribe), so nothing missed while disconnected
survives a reconnect; later pushes replace it unless they are older (a lower `li`). Equal `li`
is newer or the same: commands that make no order id (cancels) do not move it.

`Latest` keeps one full state: the book (the server pushes full books) or the positions.

`OpenOrders` reconciles two channels that arrive in no fixed order between them: the
`account_orders` snapshots and the `account_order_updates` items. An update is applied on top of
the snapshot when its `li` is not below the snapshot's; updates are also kept until a snapshot
at a higher `li` arrives, and applied again on top of each snapshot they may be newer than.
That is safe because applying an update sets the order to the state it reports, and the only
commands that share one `li` are the create that made it and cancels (end states), which are
re-applied in their order. A snapshot may lag the updates (Pacifica's FAQ: it "can be delayed
under high load"); the updates keep the orders current meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Generic, TypeVar

from tidepool.client.models import Snapshot
from tidepool.client.ws_models import AccountOrder, OrderUpdate

__all__ = ["Latest", "OpenOrders"]

T = TypeVar("T")
_ENDED = frozenset({"filled", "cancelled", "rejected"})


class Latest(Generic[T]):
    """The newest of a series of full states ordered by `li` (`order` reads it)."""

    def __init__(self, order: Callable[[T], int | None]) -> None:
        self._order = order
        self.value: T | None = None
        self.current = False  # holds a state of the current connection

    def reset(self) -> None:
        self.current = False

    def _li(self, value: T) -> int:
        return self._order(value) or 0

    def apply(self, value: T) -> None:
        if self.current and self.value is not None and self._li(value) < self._li(self.value):
            return
        self.value = value
        self.current = True


class OpenOrders:
    def __init__(self) -> None:
        self.orders: dict[int, AccountOrder] = {}
        self.li = 0
        self.current = False
        self._updates: list[OrderUpdate] = []  # in arrival (engine) order

    def reset(self) -> None:
        self.current = False
        self._updates.clear()

    def snapshot(self, snapshot: Snapshot[AccountOrder]) -> None:
        li = snapshot.last_order_id or 0
        if self.current and li < self.li:
            return
        self.orders = {order.order_id: order for order in snapshot}
        self.li = li
        self.current = True
        self._updates = [u for u in self._updates if u.last_order_id >= li]
        for update in self._updates:
            self._apply(update)

    def update(self, update: OrderUpdate) -> None:
        if self.current and update.last_order_id < self.li:
            return  # the snapshot already shows it
        self._updates.append(update)
        if self.current:
            self._apply(update)

    def _apply(self, u: OrderUpdate) -> None:
        if u.order_status in _ENDED:
            self.orders.pop(u.order_id, None)
            return
        known = self.orders.get(u.order_id)
        # An update does not carry the cancelled amount or the trigger type: they stay as the
        # last snapshot showed them (a new order has nothing cancelled yet).
        self.orders[u.order_id] = AccountOrder(
            order_id=u.order_id,
            client_order_id=u.client_order_id,
            symbol=u.symbol,
            side=u.side,
            price=u.initial_price,
            initial_amount=u.amount,
            filled_amount=u.filled_amount,
            cancelled_amount=Decimal(0) if known is None else known.cancelled_amount,
            created_at=u.created_at,
            trigger_price_type=None if known is None else known.trigger_price_type,
            order_type=u.order_type,
            stop_price=u.stop_price,
            reduce_only=u.reduce_only,
        )
