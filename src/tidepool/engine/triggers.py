"""Where pending stop orders wait: per-market trigger indexes, and the indexes of pending
orders per account and per parent.

Layout:
- `TriggerIndex` holds the ARMED pending stops of one market and one trigger price type
  (`mark_price` or `last_trade_price`) in two sorted lists of (stop_ticks, order_id): `rises`
  trigger when the price reaches stop_ticks from below (price >= stop), `falls` from above
  (price <= stop). Finding the due stops is a bisect; adding and removing one is O(n) memmove.
- The direction is fixed when the stop is created (stops.py): a plain bid stop rises, an ask
  stop falls; a take-profit rises when it sells (it closes a long) and falls when it buys; a
  stop-loss the reverse.

Invariants (checked by invariants.py):
- A pending stop is in its account's `stop_ids`; it is in exactly one trigger index iff it is
  armed, else in `state.legs[parent_id]` (a TP/SL leg waiting for its parent's first fill).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import TYPE_CHECKING

from tidepool.engine.orders import Order

if TYPE_CHECKING:
    from tidepool.engine.state import EngineState

TRIGGER_TYPES = ("mark_price", "last_trade_price")


class TriggerIndex:
    __slots__ = ("falls", "rises")

    def __init__(self) -> None:
        self.rises: list[tuple[int, int]] = []
        self.falls: list[tuple[int, int]] = []

    def _side(self, order: Order) -> list[tuple[int, int]]:
        return self.rises if order.rises else self.falls

    def add(self, order: Order) -> None:
        assert order.stop_ticks is not None
        insort(self._side(order), (order.stop_ticks, order.order_id))

    def remove(self, order: Order) -> None:
        assert order.stop_ticks is not None
        side = self._side(order)
        del side[bisect_left(side, (order.stop_ticks, order.order_id))]

    def due(self, floor_ticks: int, ceil_ticks: int) -> list[int]:
        """Ids of the stops a price between floor_ticks and ceil_ticks (one tick apart at most,
        equal when the price is on the grid) has reached."""
        up = self.rises[: bisect_right(self.rises, (floor_ticks, 1 << 62))]
        down = self.falls[bisect_left(self.falls, (ceil_ticks, 0)) :]
        return [order_id for _, order_id in up + down]

    def ids(self) -> list[int]:
        return sorted(order_id for _, order_id in self.rises + self.falls)


def index_pending(state: EngineState, order: Order) -> None:
    """Register a pending stop (new, or restored from a snapshot)."""
    state.accounts[order.account].stop_ids[order.order_id] = None
    if order.armed:
        state.triggers[(order.symbol, _type(order))].add(order)
    else:
        assert order.parent_id is not None
        state.legs.setdefault(order.parent_id, []).append(order.order_id)


def unindex_pending(state: EngineState, order: Order) -> None:
    """Forget a pending stop that triggers or is cancelled."""
    del state.accounts[order.account].stop_ids[order.order_id]
    if order.armed:
        state.triggers[(order.symbol, _type(order))].remove(order)
    else:
        assert order.parent_id is not None
        legs = state.legs[order.parent_id]
        legs.remove(order.order_id)
        if not legs:
            del state.legs[order.parent_id]


def arm(state: EngineState, order: Order) -> None:
    """A leg whose parent filled: from `state.legs` into its trigger index."""
    order.armed = True
    state.triggers[(order.symbol, _type(order))].add(order)


def _type(order: Order) -> str:
    assert order.trigger is not None
    return order.trigger
