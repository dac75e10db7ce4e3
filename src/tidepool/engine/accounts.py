"""Accounts: collateral balance, perp positions, agent wallets and open-order indexes.

Invariants:
- `balance` is exact Decimal; it changes only by faucet credits, fees and realised PnL.
- A position is kept iff `size_lots != 0` (signed: > 0 long, < 0 short). `cost_units` is its
  signed cost basis in units (ticks x lots): long > 0, short < 0, same sign as size. Entry price
  is `cost_units / size_lots` ticks (volume-weighted).
- Reducing q of |s| lots removes `round_half_even(cost_units * q / |s|)` units of cost (exactly
  `cost_units` when closing), so `cash_flows == realised - cost` holds exactly for every account;
  summed over accounts, realised PnL + unrealised PnL at any common mark is exactly 0 (I9).
- `open_ids` maps the account's resting order ids, in ASCENDING id order, to their market
  (cancel_all walks it as is, and can stop part-way when chunked; a one-market cancel_all
  skips the other markets' entries by that value without touching their orders). Orders
  normally come to rest in id order; a triggered stop rests after younger orders, and then
  the index is rebuilt in order (rare, O(orders of the account)). There is no second index
  per market: removing an entry from it too cost a cancel on a 100k-order book about 10 % more
  (measured with CPU counters in an earlier benchmark run), while the skipping it saves is ~15 ns
  per entry, over at most `max_open_orders` entries (1000 by default).
  `order_units[symbol]` is the remaining notional in units of its open non-reduce-only orders
  (the margin they hold). These indexes make cancel_all O(resting orders of the account) and
  margin checks O(markets).
- `stop_ids` holds the account's untriggered stop/TP/SL orders (not on a book, holding no
  margin), ascending (stops are indexed when created, or in id order on restore).
- `order_ids` holds every order id the account ever had, ascending (history pages).
- `cloids` maps each client order id the account ever used to its newest order (spec A4).
- `settings` lists only markets whose leverage or margin mode differ from the default.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from tidepool.engine.orders import Order


class Position:
    __slots__ = ("cost_units", "created_at", "realized_pnl", "size_lots", "updated_at")

    def __init__(
        self,
        size_lots: int = 0,
        cost_units: int = 0,
        realized_pnl: Decimal = Decimal(0),
        created_at: int = 0,
        updated_at: int = 0,
    ) -> None:
        self.size_lots = size_lots
        self.cost_units = cost_units
        self.realized_pnl = realized_pnl
        self.created_at = created_at
        self.updated_at = updated_at


def apply_fill(position: Position, signed_lots: int, price_ticks: int) -> int:
    """Trade `signed_lots` (> 0 buy) at `price_ticks` into `position`; returns realised units.

    Covers open, increase, reduce, close and flip. Timestamps are the caller's business.
    """
    size = position.size_lots
    realised = 0
    if size != 0 and (size > 0) != (signed_lots > 0):
        closing = min(abs(signed_lots), abs(size))
        if closing == abs(size):
            removed = position.cost_units
        else:
            removed = round(Fraction(position.cost_units * closing, abs(size)))
        signed_close = closing if signed_lots > 0 else -closing
        realised = -signed_close * price_ticks - removed
        position.size_lots += signed_close
        position.cost_units -= removed
        signed_lots -= signed_close
    if signed_lots != 0:
        position.size_lots += signed_lots
        position.cost_units += signed_lots * price_ticks
    return realised


class MarginSetting:
    """A market where the account left the default (cross margin, the market's max leverage)."""

    __slots__ = ("created_at", "isolated", "leverage", "updated_at")

    def __init__(self, leverage: int, isolated: bool, created_at: int, updated_at: int) -> None:
        self.leverage = leverage
        self.isolated = isolated
        self.created_at = created_at
        self.updated_at = updated_at


class Account:
    __slots__ = (
        "address",
        "agents",
        "balance",
        "balance_quanta",
        "cloids",
        "open_ids",
        "order_ids",
        "order_units",
        "positions",
        "settings",
        "stop_ids",
    )

    def __init__(self, address: str, balance: Decimal = Decimal(0)) -> None:
        self.address = address
        self.balance = balance
        # derived (EngineState.balance_quanta): the balance object it was computed from, and
        # that balance in fixed point; never the same object as a real balance at first
        self.balance_quanta: tuple[Decimal | None, int, int] = (None, 0, 1)
        self.agents: set[str] = set()
        self.positions: dict[str, Position] = {}
        self.open_ids: dict[int, str] = {}  # resting order id -> its symbol
        self.order_units: dict[str, int] = {}
        self.stop_ids: dict[int, None] = {}
        self.order_ids: list[int] = []
        self.cloids: dict[str, int] = {}  # client order id -> the newest order using it
        self.settings: dict[str, MarginSetting] = {}

    @property
    def open_count(self) -> int:
        """Open orders for the open-order limit: resting ones and untriggered stops."""
        return len(self.open_ids) + len(self.stop_ids)

    def position_size(self, symbol: str) -> int:
        position = self.positions.get(symbol)
        return 0 if position is None else position.size_lots

    def reducible_lots(self, symbol: str, is_bid: bool) -> int:
        """How many lots an order on this side can trade without increasing |position|."""
        size = self.position_size(symbol)
        if is_bid:
            return -size if size < 0 else 0
        return size if size > 0 else 0

    def index_open(self, order: Order) -> None:
        order_id = order.order_id
        open_ids = self.open_ids
        if open_ids and order_id < next(reversed(open_ids)):
            self.open_ids = dict(sorted((*open_ids.items(), (order_id, order.symbol))))
        else:
            open_ids[order_id] = order.symbol
        if not order.reduce_only:
            units = order.remaining_lots * order.price_ticks
            self.order_units[order.symbol] = self.order_units.get(order.symbol, 0) + units

    def release_units(self, order: Order, lots: int, off_book: bool) -> None:
        """`lots` of a resting order stopped holding margin (filled or cancelled); `off_book`:
        the order left its book, and the open-order index (one call for both: every cancel)."""
        if off_book:
            del self.open_ids[order.order_id]
        if order.reduce_only or lots == 0:
            return
        left = self.order_units[order.symbol] - lots * order.price_ticks
        if left:
            self.order_units[order.symbol] = left
        else:
            del self.order_units[order.symbol]
