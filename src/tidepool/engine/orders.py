"""Orders: one mutable `Order` per accepted order, for its whole life (open or terminal).

Invariants:
- `initial_lots == filled_lots + cancelled_lots + remaining_lots`, all >= 0 (I3).
  `remaining_lots` is stored, not derived: it is read several times by every create, fill and
  cancel, and an attribute is ~6x cheaper than a property. Only `add_fill`, `close` and
  `size` change it (and a restore, from the other three).
- `filled_lots` never decreases; `remaining_lots` never increases; a cancel moves the whole
  remainder to `cancelled_lots`.
- Status is `open` (resting, nothing filled), `partially_filled` (resting, something filled) or
  terminal: `filled` (remaining 0 by fills), `cancelled`, `rejected`. Terminal is absorbing.
- An order is on a book iff it is not terminal; then `level` is its price level and
  `prev`/`next` its neighbours in that level's FIFO (the intrusive list `book.py` maintains).
- `history` is the order's lifecycle entries oldest first, with strictly increasing
  `history_id`; kept on the order (not in a map by id) so the hot paths find it with the order.
- `filled_units` is the exact sum of price_ticks x lots over its fills (average fill price).
- A stop order (`stop_ticks` set) is `pending` until it triggers: status `open`, not on a book,
  holding no margin; `initial_lots` may be 0 (sized from the position at trigger) and a
  stop-market has `price_ticks` 0 until the trigger gives it a limit. `armed` is False only for
  a TP/SL leg attached to an order that has not filled yet (it cannot trigger before).
- `order_type` is Pacifica's: limit, market, stop_limit, stop_market, take_profit_limit,
  take_profit_market, stop_loss_limit, stop_loss_market; it never changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tidepool.domain.markets import MarketSpec
from tidepool.engine.commands import Side
from tidepool.engine.money import average_price
from tidepool.engine.views import HistoryEntry, OrderRecord, OrderStatus

if TYPE_CHECKING:
    from tidepool.engine.book import PriceLevel

TERMINAL: frozenset[str] = frozenset({"filled", "cancelled", "rejected"})


class Order:
    __slots__ = (
        "account",
        "armed",
        "cancelled_lots",
        "client_order_id",
        "created_at",
        "filled_lots",
        "filled_units",
        "history",
        "initial_lots",
        "level",
        "next",
        "order_id",
        "order_type",
        "parent_id",
        "prev",
        "price_ticks",
        "reason",
        "reduce_only",
        "remaining_lots",
        "rises",
        "side",
        "status",
        "stop_ticks",
        "symbol",
        "tif",
        "tpsl",
        "trigger",
        "triggered",
        "updated_at",
    )

    # Only what a new order is given; every other field starts at its initial value. A stop
    # order's fields are set by stops.new_stop; a snapshot restore bypasses __init__. Keyword
    # parameters with defaults here cost half the construction (~0.3 µs of every create).
    def __init__(
        self,
        order_id: int,
        account: str,
        symbol: str,
        side: Side,
        price_ticks: int,
        initial_lots: int,
        tif: str,
        reduce_only: bool,
        client_order_id: str | None,
        created_at: int,
        order_type: str = "limit",
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.side: Side = side
        self.price_ticks = price_ticks
        self.initial_lots = initial_lots
        self.tif = tif
        self.reduce_only = reduce_only
        self.client_order_id = client_order_id
        self.created_at = created_at
        self.updated_at = created_at
        self.remaining_lots = initial_lots
        self.filled_lots = 0
        self.filled_units = 0
        self.cancelled_lots = 0
        self.status: OrderStatus = "open"
        self.reason: str | None = None
        self.order_type = order_type
        self.stop_ticks: int | None = None
        self.trigger: str | None = None
        self.rises = False
        self.triggered = False
        self.armed = True
        self.parent_id: int | None = None
        self.tpsl: str | None = None
        # This order's lifecycle entries, oldest first (EngineState.history_log has them too,
        # all orders together). A tuple: entries are few, and a tuple of untracked entries
        # drops out of the garbage collector's view.
        self.history: tuple[HistoryEntry, ...] = ()
        self.level: PriceLevel | None = None
        self.prev: Order | None = None
        self.next: Order | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL

    @property
    def pending(self) -> bool:
        """An open stop order that has not triggered (it is not on a book)."""
        return self.stop_ticks is not None and not self.triggered and self.is_open

    @property
    def on_book(self) -> bool:
        return self.is_open and not self.pending

    @property
    def is_bid(self) -> bool:
        return self.side == "bid"

    def size(self, lots: int) -> None:
        """Give a triggered stop order its size (nothing of it has filled or been cancelled)."""
        self.initial_lots = self.remaining_lots = lots

    def add_fill(self, lots: int, price_ticks: int, ts_ms: int) -> None:
        self.remaining_lots -= lots
        self.filled_lots += lots
        self.filled_units += lots * price_ticks
        self.updated_at = ts_ms
        self.status = "filled" if self.remaining_lots == 0 else "partially_filled"

    def close(self, status: OrderStatus, reason: str, ts_ms: int) -> int:
        """Move the remainder to cancelled and make the order terminal; returns the lots moved."""
        lots = self.remaining_lots
        self.cancelled_lots += lots
        self.remaining_lots = 0
        self.status = status
        self.reason = reason
        self.updated_at = ts_ms
        return lots

    def record(self, spec: MarketSpec) -> OrderRecord:
        # positional, in OrderRecord's field order (see there)
        return OrderRecord(
            self.order_id,
            self.client_order_id,
            self.account,
            self.symbol,
            self.side,
            self.price_ticks,
            self.initial_lots,
            self.filled_lots,
            self.cancelled_lots,
            self.tif,
            self.reduce_only,
            self.order_type,
            self.status,
            self.reason,
            self.created_at,
            self.updated_at,
            average_price(spec, self.filled_units, self.filled_lots),
            self.stop_ticks,
            self.trigger,
            self.parent_id,
            self.pending,
        )
