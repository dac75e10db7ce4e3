"""The WebSocket account channels (spec §5.2, §5.3, §5.5, A8), one per (source, account).

| source                  | pushes                                                           |
|-------------------------|------------------------------------------------------------------|
| `account_orders`        | every open order (`{"i","I","s","d","p","a","f","c","t","st",    |
|                         | "ot","sp","ro"}`), top-level `li`: at once, then after each      |
|                         | command that changed one of its orders                           |
| `account_positions`     | every open position (`{"s","d","a","p","m","f","i","l","t"}`,    |
|                         | `[]` when none), top-level `li`: at once, then on change         |
| `account_info`          | `{"ae","as","aw","b","f","mu","cm","oc","pb","pc","sc","sb","t"}`:|
|                         | at once, then after each change of balance, position, orders or  |
|                         | leverage, and after a mark move that changed one of its values   |
| `account_order_updates` | one item per order change, in engine order (new events only);    |
|                         | one frame holds the items of every command of one bus drain      |
| `account_trades`        | one item per fill of the account (new events only), as above     |
| `account_margin`        | `{"u","t","s","i"}` when a market's margin mode changes          |
| `account_leverage`      | `{"u","t","s","l"}` when a market's leverage changes             |

Every value is the one the REST reads show (gateway/views.py), under Pacifica's short keys.

State channels (orders, positions, info) read the engine when the push is built, and carry the
`li` of that state. Like book, bbo and prices, the state read then may already include commands
after the one that caused the push (the next push shows the same state again), and in `fsync`
mode a command whose fsync is still pending (applied, not yet answered, published only once
durable): a crash then could take back what such a snapshot showed. Building them from the
deliveries alone would need the engine's margin arithmetic here; the event channels
(order updates, trades, margin, leverage) are built from the delivery's own records and are
exact in every mode.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tidepool.domain.markets import MarketSpec
from tidepool.engine.engine import Engine
from tidepool.engine.events import MarginSettingChanged, OrderFilled
from tidepool.engine.money import average_price, in_decimal_context
from tidepool.engine.views import FillRecord, HistoryEntry
from tidepool.gateway import views
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.ws_fanout import Channel, ChannelKey, Item, ItemsChannel, encoder
from tidepool.gateway.ws_session import Session
from tidepool.runtime.bus import Delivery, Topic

_TERMINAL = frozenset({"filled", "cancelled", "rejected"})
_MARKS: Topic = ("prices", "")  # every mark change, of any market


def _short(item: dict[str, Any], keys: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {short: item[long] for short, long in keys}


_POSITION_KEYS = (
    ("s", "symbol"),
    ("d", "side"),
    ("a", "amount"),
    ("p", "entry_price"),
    ("m", "margin"),
    ("f", "funding"),
    ("i", "isolated"),
    ("l", "liquidation_price"),
    ("t", "updated_at"),
)
_INFO_KEYS = (
    ("ae", "account_equity"),
    ("as", "available_to_spend"),
    ("aw", "available_to_withdraw"),
    ("b", "balance"),
    ("f", "fee_level"),
    ("mu", "total_margin_used"),
    ("cm", "cross_mmr"),
    ("oc", "orders_count"),
    ("pb", "pending_balance"),
    ("pc", "positions_count"),
    ("sc", "stop_orders_count"),
    ("sb", "spot_balances"),
    ("t", "updated_at"),
)
_FILL_KEYS = (
    ("h", "history_id"),
    ("i", "order_id"),
    ("I", "client_order_id"),
    ("s", "symbol"),
    ("p", "price"),
    ("o", "entry_price"),
    ("a", "amount"),
    ("te", "event_type"),
    ("ts", "side"),
    ("tc", "cause"),
    ("f", "fee"),
    ("n", "pnl"),
    ("t", "created_at"),
)


class _StateChannel(Channel):
    """A snapshot at once and after the commands that touched the account: one push per bus
    drain, however many commands of the drain reached the channel and on however many topics.
    The snapshot is read when the drain runs, after all of them, so one push per command
    would send the same frame several times."""

    def message(self) -> dict[str, Any]:
        raise NotImplementedError

    def joined(self, session: Session) -> None:
        session.offer(encoder.encode(self.message()))

    def deliver(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            if self.ended_by(delivery):
                return
        message = self.message()
        if not self.unchanged(deliveries, message):
            self.broadcast(message)

    def unchanged(self, deliveries: list[Delivery], message: dict[str, Any]) -> bool:
        """Whether the push may be skipped: by default a drain with a command that touched
        the account is pushed."""
        return False

    @property
    def account(self) -> str:
        return str(self.key[1])


class OrdersChannel(_StateChannel):
    """`account_orders`: the open orders as GET /orders shows them (pending stops included)."""

    def message(self) -> dict[str, Any]:
        engine = self.ex.engine
        records = engine.open_orders(self.account)
        data = [
            {
                "i": o.order_id,
                "I": o.client_order_id,
                "s": o.symbol,
                "d": o.side,
                "p": o.price,
                "a": o.initial_amount,
                "f": o.filled_amount,
                "c": o.cancelled_amount,
                "t": o.created_at,
                "st": o.trigger_price_type,
                "ot": o.order_type,
                "sp": o.stop_price,
                "ro": o.reduce_only,
            }
            for o in views.open_orders(self.ex.markets, records)
        ]
        return {"channel": "account_orders", "data": data, "li": engine.last_order_id}


class PositionsChannel(_StateChannel):
    """`account_positions`: the open positions as GET /positions shows them."""

    def message(self) -> dict[str, Any]:
        engine = self.ex.engine
        data = [
            _short(views.position(self.ex.markets[p.symbol], p), _POSITION_KEYS)
            for p in engine.positions(self.account)
        ]
        return {"channel": "account_positions", "data": data, "li": engine.last_order_id}


class InfoChannel(_StateChannel):
    """`account_info`: GET /account's values under the short keys.

    A mark move changes the equity of an account holding a position there (and what it may
    spend) without any event of the account: the channel also listens to the mark changes and
    pushes after one when a value other than the time differs from the last one it showed."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._shown = _values(self.message())  # what subscribers saw last

    def message(self) -> dict[str, Any]:
        engine = self.ex.engine
        summary = engine.account_summary(self.account)
        cfg = engine.config
        item = views.account(summary, cfg.maker_fee, cfg.taker_fee, self.ex.clock.now_ms())
        return {"channel": "account_info", "data": _short(item, _INFO_KEYS)}

    def unchanged(self, deliveries: list[Delivery], message: dict[str, Any]) -> bool:
        values = _values(message)
        same = values == self._shown
        self._shown = values
        return same and all(delivery.topic == _MARKS for delivery in deliveries)


def _values(message: dict[str, Any]) -> dict[str, Any]:
    """An account_info push's values but its time."""
    return {key: value for key, value in message["data"].items() if key != "t"}


class _Progress:
    """What an order's changes up to one history entry add up to: its fills (for the average
    and last fill price), its own price and its creation time; and its price and amount as last
    shown, so that the updates of an order (a create, then its cancel) format them once."""

    __slots__ = (
        "amount_shown",
        "created_at",
        "filled_lots",
        "history_id",
        "last_fill",
        "price_shown",
        "price_ticks",
        "units",
    )

    def __init__(self, price_ticks: int, created_at: int) -> None:
        self.history_id = 0
        self.filled_lots = 0
        self.units = 0  # sum of fill price (ticks) x lots
        self.last_fill: int | None = None
        self.price_ticks = price_ticks
        self.created_at = created_at
        self.price_shown: tuple[int, str] | None = None  # (ticks, as formatted)
        self.amount_shown: tuple[int, str] | None = None  # (initial lots, as formatted)

    def price_text(self, spec: MarketSpec) -> str:
        shown = self.price_shown
        if shown is None or shown[0] != self.price_ticks:
            shown = self.price_shown = (self.price_ticks, spec.format_price(self.price_ticks))
        return shown[1]

    def amount_text(self, spec: MarketSpec, initial_lots: int) -> str:
        shown = self.amount_shown
        if shown is None or shown[0] != initial_lots:
            shown = self.amount_shown = (initial_lots, spec.format_amount(initial_lots))
        return shown[1]

    @classmethod
    def before(cls, engine: Engine, entry: HistoryEntry) -> _Progress:
        """The order as its entries before `entry` left it (entries are immutable, so later
        changes already in the engine do not show).

        Read from the order's entries alone where they say it all (most orders, and every
        create: no record to build). The command that creates an order logs its first entry,
        so that entry's time is the order's creation time; the order's own price is that of
        its last entry that is not a fill, and comes from the engine's record only while it
        has nothing but fills (a taker's)."""
        history = engine.order_history(entry.order_id)  # newest first
        if not history:  # the engine was rebuilt without the command: shown as it is
            return cls(entry.price_ticks, entry.created_at)
        progress = cls(entry.price_ticks, history[-1].created_at)
        priced = not _is_fill(entry)  # `entry` sets the price itself
        for earlier in reversed(history):
            if earlier.history_id >= entry.history_id:
                break
            progress.add(earlier)
            priced = priced or not _is_fill(earlier)
        if not priced:
            record = engine.order(entry.order_id)
            if record is not None:
                progress.price_ticks = record.price_ticks
        return progress

    def add(self, entry: HistoryEntry) -> None:
        self.history_id = entry.history_id
        if _is_fill(entry):  # a fill: its price is the fill's
            self.units += (entry.filled_lots - self.filled_lots) * entry.price_ticks
            self.filled_lots = entry.filled_lots
            self.last_fill = entry.price_ticks
        else:
            self.price_ticks = entry.price_ticks


def _is_fill(entry: HistoryEntry) -> bool:
    return entry.event_type.startswith("fulfill")


@in_decimal_context  # the engine's rounding; only updates of orders with fills need it
def _average(spec: MarketSpec, progress: _Progress) -> str:
    return views.money(average_price(spec, progress.units, progress.filled_lots))


class OrderUpdate(msgspec.Struct, gc=False):
    """One `account_order_updates` item (spec §5.3), its fields the wire's keys in the wire's
    order. A struct, not a dict: built from positional values and encoded with its keys
    already encoded, once per order change (no cycles: not tracked by the collector)."""

    i: int
    I: str | None  # noqa: E741 (the wire's key)
    u: str
    s: str
    d: str
    p: str
    ip: str
    lp: str | None
    a: str
    f: str
    oe: str
    os: str
    ot: str
    sp: str | None
    si: int | None
    r: bool
    ct: int
    ut: int
    li: int


class OrderUpdatesChannel(ItemsChannel):
    """`account_order_updates`: one item per order change of each command (a cancel_all's
    every cancel, a taker's every fill), from the delivery's history entries."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # Open orders seen here: their progress up to the last change pushed, so an order with
        # many fills costs one step per fill; an order leaves when it becomes terminal.
        self._progress: dict[int, _Progress] = {}
        self._account = str(self.key[1])

    def ended_by(self, delivery: Delivery) -> bool:
        if not super().ended_by(delivery):
            return False
        # Order ids start again after a revert or reset: a session that subscribes before
        # this channel closes must not be shown the old orders' progress.
        self._progress.clear()
        return True

    def items(self, delivery: Delivery) -> list[Item]:
        li = delivery.li
        return [self.item(entry, li) for entry in delivery.updates]

    def item(self, entry: HistoryEntry, li: int) -> OrderUpdate:
        spec = self.ex.markets[entry.symbol]
        progress = self._progress.get(entry.order_id)
        if progress is None or progress.history_id >= entry.history_id:
            progress = _Progress.before(self.ex.engine, entry)
        progress.add(entry)
        if entry.order_status in _TERMINAL:
            self._progress.pop(entry.order_id, None)
        else:
            self._progress[entry.order_id] = progress
        return OrderUpdate(
            entry.order_id,
            entry.client_order_id,
            self._account,
            entry.symbol,
            entry.side,
            # Most updates are of orders with nothing filled (a create, a cancel): no decimal
            # arithmetic for their average.
            _average(spec, progress) if progress.filled_lots else "0",
            progress.price_text(spec),
            None if progress.last_fill is None else spec.format_price(progress.last_fill),
            progress.amount_text(spec, entry.initial_lots),
            spec.format_amount(entry.filled_lots) if entry.filled_lots else "0",
            entry.event_type,
            entry.order_status,
            entry.order_type,
            views.stop_price(spec, entry.stop_ticks),
            entry.parent_id,
            entry.reduce_only,
            progress.created_at,
            entry.created_at,
            li,
        )

    def close(self) -> None:
        self._progress.clear()
        super().close()


class TradesChannel(ItemsChannel):
    """`account_trades`: the account's side of each fill, as GET /trades/history shows it."""

    def items(self, delivery: Delivery) -> list[Item]:
        account = str(self.key[1])
        items: list[Item] = []
        for event in delivery.events:
            if not isinstance(event, OrderFilled):
                continue
            # The maker's entry is the fill's history id, the taker's the next one.
            if event.maker_account == account:
                items += self.fill_items(self.fill(account, event.history_id), delivery.li)
            if event.taker_account == account:
                items += self.fill_items(self.fill(account, event.history_id + 1), delivery.li)
        return items

    def fill(self, account: str, history_id: int) -> FillRecord | None:
        fills, _ = self.ex.engine.fills_page(account, 1, before_history_id=history_id + 1)
        return fills[0] if fills and fills[0].history_id == history_id else None

    def fill_items(self, fill: FillRecord | None, li: int) -> list[Item]:
        if fill is None:  # the engine was rebuilt without it (the command failed)
            return []
        item = _short(views.account_fill(self.ex.markets[fill.symbol], fill), _FILL_KEYS)
        item.update(u=fill.account, li=li, it=0)
        return [item]


class SettingChannel(Channel):
    """`account_margin` (`i`: isolated) or `account_leverage` (`l`): one push per change of
    that setting; the engine's one event for both says only the new values, so the channel
    remembers each market's last ones (the defaults: cross, the market's max leverage)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._leverage = self.key[0] == "account_leverage"
        self._known: dict[str, bool | int] = {
            m.symbol: m.leverage if self._leverage else m.isolated
            for m in self.ex.engine.margin_settings(str(self.key[1]))
        }

    def default(self, symbol: str) -> bool | int:
        return self.ex.markets[symbol].max_leverage if self._leverage else False

    def push(self, delivery: Delivery) -> None:
        for event in delivery.events:
            if not isinstance(event, MarginSettingChanged):
                continue
            value = event.leverage if self._leverage else event.isolated
            if self._known.get(event.symbol, self.default(event.symbol)) == value:
                continue
            self._known[event.symbol] = value
            data = {"u": event.account, "t": event.ts_ms, "s": event.symbol}
            data["l" if self._leverage else "i"] = value
            self.broadcast({"channel": str(self.key[0]), "data": data})


# source -> (channel class, the bus topics of the account it listens to). Account info also
# moves with orders (margin held, order count) and leverage (margin used); positions with
# leverage (an isolated position's margin).
_CHANNELS: dict[str, tuple[type[Channel], tuple[str, ...]]] = {
    "account_orders": (OrdersChannel, ("account_orders",)),
    "account_positions": (PositionsChannel, ("account_positions", "account_leverage")),
    "account_info": (InfoChannel, ("account_info", "account_orders", "account_leverage")),
    "account_order_updates": (OrderUpdatesChannel, ("account_order_updates",)),
    "account_trades": (TradesChannel, ("account_trades",)),
    "account_margin": (SettingChannel, ("account_margin",)),
    "account_leverage": (SettingChannel, ("account_leverage",)),
}
SOURCES = frozenset(_CHANNELS)


def open_account_channel(ex: Exchange, key: ChannelKey) -> Channel:
    """The channel of `(source, account)`."""
    cls, names = _CHANNELS[str(key[0])]
    account = str(key[1])
    topics = [(name, account) for name in names]
    if cls is InfoChannel:
        topics.append(_MARKS)  # equity moves with the marks
    return cls(ex, key, *topics)
