"""The engine's whole mutable state in one container, plus the order-history log.

Invariants:
- `orders` holds every accepted order ever (open and terminal), by id; `last_order_id` is the
  largest id handed out (ids are 1, 2, 3... with no gaps; rejected commands consume none).
- Each account's `cloids` maps its client order ids to the order that used it, for ever
  (spec A4); per account, so a lookup needs no (account, cloid) key tuple, nor one per order.
- Each order's `history` lists its lifecycle entries oldest first, with strictly increasing
  `history_id` drawn from `last_history_id` (exchange-wide). `history_log` holds the same
  entries, all orders together, in history-id order.
- `books`, `marks` and `long_lots` have exactly one entry per market; `long_lots[s]` is the sum
  of the positive position sizes in `s` (open interest), equal to the sum of the negative ones.
- `fills` is every fill side ever, in history-id order (full, not bounded: trade history and
  klines are exact after replay); `fills_by_account` and `trades` (the taker sides per market,
  i.e. the public trades) index the same records.
- `triggers[(symbol, trigger type)]` holds the armed pending stop orders, `legs[parent id]`
  the pending TP/SL legs still waiting for their parent's first fill (see triggers.py).
- `api_keys` maps each active API config key to its account, in creation order (apikeys.py).
- `faucet_total` is every faucet credit; `fees_collected` every fee charged. Together with
  balances and PnL they satisfy collateral conservation (I9, see `invariants.py`).
- `replaced` is None or a state that no longer takes commands (engine/teardown.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tidepool.domain.markets import MarketSpec
from tidepool.engine.accounts import Account
from tidepool.engine.book import OrderBook
from tidepool.engine.config import EngineConfig
from tidepool.engine.fixedpoint import MarketQuanta, MarkTerms, Scale
from tidepool.engine.money import ENGINE_CONTEXT
from tidepool.engine.orders import Order
from tidepool.engine.sandbox import SandboxBook
from tidepool.engine.triggers import TRIGGER_TYPES, TriggerIndex
from tidepool.engine.views import FillRecord, HistoryEntry


class EngineState:
    def __init__(self, markets: Sequence[MarketSpec], config: EngineConfig) -> None:
        self.markets: dict[str, MarketSpec] = {}
        for spec in markets:
            if spec.symbol in self.markets:
                raise ValueError(f"duplicate market {spec.symbol}")
            self.markets[spec.symbol] = spec
        self.config = config
        self.books: dict[str, OrderBook] = {s: OrderBook(s) for s in self.markets}
        self.marks: dict[str, Decimal] = {s: m.initial_mark_price for s, m in self.markets.items()}
        self.long_lots: dict[str, int] = dict.fromkeys(self.markets, 0)
        self.orders: dict[int, Order] = {}
        # The same entries once more, exchange-wide in history-id order (ids are drawn in
        # append order): the state hash and snapshots read it as is, instead of gathering every
        # order's entries and sorting them (most of a hash's Python time on a large state).
        self.history_log: list[HistoryEntry] = []
        self.accounts: dict[str, Account] = {}
        self.last_order_id = 0
        self.last_history_id = 0
        self.fees_collected = Decimal(0)
        self.faucet_total = Decimal(0)
        self.triggers: dict[tuple[str, str], TriggerIndex] = {
            (s, t): TriggerIndex() for s in self.markets for t in TRIGGER_TYPES
        }
        # Derived, never mutated: the create path reads these instead of rebuilding the tuple
        # keys on every order (not part of the snapshot).
        self.trigger_pairs: dict[str, tuple[TriggerIndex, TriggerIndex]] = {
            s: (self.triggers[(s, "mark_price")], self.triggers[(s, "last_trade_price")])
            for s in self.markets
        }
        # one unit (tick x lot) in USD, per market: what margins of open orders are counted in
        self.unit_values: dict[str, Decimal] = {
            # in the engine's context, not the caller's: a constructor is not wrapped
            s: ENGINE_CONTEXT.multiply(m.tick_size, m.lot_size)
            for s, m in self.markets.items()
        }
        # Fixed point for the risk checks (fixedpoint.py); derived, not part of the snapshot.
        self.scale = Scale(list(self.markets.values()))
        self.quanta: dict[str, MarketQuanta] = {
            s: MarketQuanta(self.scale, m) for s, m in self.markets.items()
        }
        # The fixed-point terms of each market's current mark (derived, not part of the
        # snapshot): `set_mark` keeps them in step with `marks`.
        self.mark_terms: dict[str, MarkTerms] = {
            s: MarkTerms(self.scale, m, self.marks[s], config.price_band)
            for s, m in self.markets.items()
        }
        self.legs: dict[int, list[int]] = {}
        self.fills: list[FillRecord] = []
        self.fills_by_account: dict[str, list[FillRecord]] = {}
        self.trades: dict[str, list[FillRecord]] = {s: [] for s in self.markets}
        self.api_keys: dict[str, str] = {}
        # The sandbox's clock mark and snapshot store (engine/sandbox.py): not trading state.
        self.sandbox = SandboxBook()
        # The state the last revert or reset replaced, until the runtime takes it to free it
        # in pieces (engine/teardown.py): not state either, and in no snapshot or hash.
        self.replaced: EngineState | None = None

    def record_fill(self, fill: FillRecord) -> None:
        """Keep one side of a fill; the taker's side is also the market's public trade."""
        self.fills.append(fill)
        self.fills_by_account.setdefault(fill.account, []).append(fill)
        if not fill.maker:
            self.trades[fill.symbol].append(fill)

    def last_trade_ticks(self, symbol: str) -> int | None:
        trades = self.trades[symbol]
        return trades[-1].price_ticks if trades else None

    def set_mark(self, symbol: str, mark: Decimal) -> None:
        """The one way a mark changes (SetMarkPrice, restore): with its fixed-point terms, so
        the checks read them with one lookup."""
        self.marks[symbol] = mark
        terms = MarkTerms(self.scale, self.markets[symbol], mark, self.config.price_band)
        self.mark_terms[symbol] = terms

    def balance_quanta(self, account: Account) -> tuple[Decimal | None, int, int]:
        """(balance, num, den): the account's balance, and it in quanta (fixedpoint.py) as
        num / den, cached on the account (`Account.balance_quanta`) for the balance object it
        came from (a Decimal is immutable: same object, same value)."""
        cached = account.balance_quanta
        balance = account.balance
        if cached[0] is not balance:
            num, den = self.scale.tenths(balance)
            cached = (balance, num * self.scale.lcm, den)
            account.balance_quanta = cached
        return cached

    def account(self, address: str) -> Account:
        """The account, created empty on first use (only mutating handlers call this)."""
        account = self.accounts.get(address)
        if account is None:
            account = Account(address)
            self.accounts[address] = account
        return account

    def log(self, order: Order, event_type: str, ts_ms: int, fill_ticks: int | None = None) -> int:
        """Append a history entry showing `order` as it is now; returns its history id.
        A fill's entry shows the fill price (`fill_ticks`) as its price, as Pacifica's does."""
        self.last_history_id = history_id = self.last_history_id + 1
        # positional, in HistoryEntry's field order (see there)
        entry = HistoryEntry(
            history_id,
            order.order_id,
            order.client_order_id,
            order.symbol,
            order.side,
            order.price_ticks if fill_ticks is None else fill_ticks,
            order.initial_lots,
            order.filled_lots,
            order.cancelled_lots,
            event_type,
            order.order_type,
            order.status,
            order.reduce_only,
            ts_ms,
            order.stop_ticks,
            order.parent_id,
        )
        order.history += (entry,)
        self.history_log.append(entry)
        return history_id
