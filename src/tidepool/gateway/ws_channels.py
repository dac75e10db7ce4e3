"""The WebSocket subscription channels (spec §5.2, A8) and their params.

| source   | params                     | pushes                                                  |
|----------|----------------------------|---------------------------------------------------------|
| `prices` | —                          | every market's GET /info/prices item, when a mark moves |
| `book`   | `symbol`, `agg_level` (1)  | the full book: at once, then at most every 250 ms while |
|          |                            | it changed                                              |
| `bbo`    | `symbol`                   | best bid and ask, when they change                      |
| `trades` | `symbol`                   | each command's taker fills (one frame per bus drain)    |

The account channels (`account_*`, param `account`) are in gateway/ws_account.py, `candle` and
`mark_price_candle` (`symbol`, `interval`) in gateway/ws_candles.py. The channels of what
Tidepool does not model (transfers, liquidations, TWAP, strategies) answer an error frame.

Book, bbo and prices pushes show the book as it is when they are built (the engine's state, with
its `li`): that state may already include later commands, and in `fsync` mode a command whose
fsync is still pending (see gateway/ws_account.py). Trades are built from the fills of the
delivery itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tidepool.engine.events import OrderAccepted, OrderCancelled, OrderFilled
from tidepool.gateway import candles, ws_account, ws_candles
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.markets import AGG_LEVELS, book_data, price_items
from tidepool.gateway.ws_fanout import Channel, ChannelKey, Item, ItemsChannel, encoder
from tidepool.gateway.ws_session import Session
from tidepool.runtime.bus import Delivery

BOOK_INTERVAL_S = 0.25

NOT_MODELLED_YET = frozenset(
    {
        "account_transfers",
        "account_liquidations",
        "account_twap_orders",
        "account_twap_order_updates",
        "account_order_strategy_updates",
    }
)


class InvalidParams(Exception):
    """A subscribe or unsubscribe whose params name no channel served here."""


def channel_key(ex: Exchange, params: Any) -> ChannelKey:
    """The channel a subscribe's params name; InvalidParams with a message otherwise."""
    if not isinstance(params, dict):
        raise InvalidParams("params must be a JSON object")
    source = params.get("source")
    if source == "prices":
        return ("prices",)
    if source in ("book", "bbo", "trades"):
        symbol = params.get("symbol")
        if not isinstance(symbol, str) or symbol not in ex.markets:
            raise InvalidParams(f"Unknown symbol: {symbol}")
        if source != "book":
            return (source, symbol)
        agg = params.get("agg_level", 1)
        if isinstance(agg, bool) or agg not in AGG_LEVELS:
            raise InvalidParams(f"Invalid agg_level: {agg}")
        return ("book", symbol, agg)
    if source in ws_account.SOURCES:
        account = params.get("account")
        if not isinstance(account, str) or not account:
            raise InvalidParams(f"Invalid account: {account}")
        return (source, account)
    if source in ws_candles.SOURCES:
        symbol = params.get("symbol")
        if not isinstance(symbol, str) or symbol not in ex.markets:
            raise InvalidParams(f"Unknown symbol: {symbol}")
        interval = params.get("interval")
        if not isinstance(interval, str) or interval not in candles.INTERVALS:
            raise InvalidParams(f"Invalid interval: {interval}")
        return (source, symbol, interval)
    if source in NOT_MODELLED_YET:
        raise InvalidParams(f"Channel {source} is not modelled yet")
    raise InvalidParams(f"Unknown source: {source}")


def open_channel(ex: Exchange, key: ChannelKey) -> Channel:
    source = key[0]
    if source in ws_account.SOURCES:
        return ws_account.open_account_channel(ex, key)
    if source in ws_candles.SOURCES:
        return ws_candles.open_candle_channel(ex, key)
    if source == "prices":
        return PricesChannel(ex, key, ("prices", ""))
    symbol = str(key[1])
    if source == "book":
        return BookChannel(ex, key, ("book", symbol))
    if source == "bbo":
        return BboChannel(ex, key, ("bbo", symbol))
    return TradesChannel(ex, key, ("trades", symbol))


class PricesChannel(Channel):
    """Pushed when a mark changes; nothing on subscribe ("the next tick", spec A8)."""

    def push(self, delivery: Delivery) -> None:
        self.broadcast({"channel": "prices", "data": price_items(self.ex)})


class TradesChannel(ItemsChannel):
    """`{"h","s","a","p","d","tc","t","li"}` per taker fill: the public trade GET /trades shows."""

    def items(self, delivery: Delivery) -> list[Item]:
        spec = self.ex.markets[str(self.key[1])]
        engine = self.ex.engine
        items: list[Item] = []
        for event in delivery.events:
            if not isinstance(event, OrderFilled):
                continue
            trade = engine.public_trade_of(event.symbol, event.history_id)
            if trade is None:  # the engine was rebuilt without it (the command failed)
                continue
            items.append(
                {
                    "h": trade.history_id,
                    "s": event.symbol,
                    "a": spec.format_amount(event.size_lots),
                    "p": spec.format_price(event.price_ticks),
                    "d": trade.side,
                    "tc": "normal",
                    "t": event.ts_ms,
                    "li": delivery.li,
                }
            )
        return items


class BookChannel(Channel):
    """A full snapshot on subscribe, then at most one every BOOK_INTERVAL_S while the book
    changes: a change arriving within the interval of the last push is shown by the push at its
    end, which reads the book as it is then."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._loop = asyncio.get_running_loop()
        self._last = float("-inf")
        self._due: asyncio.TimerHandle | None = None

    def snapshot(self) -> dict[str, Any]:
        spec = self.ex.markets[str(self.key[1])]
        data = book_data(self.ex, spec, int(self.key[2]))
        data["li"] = self.ex.engine.last_order_id
        return {"channel": "book", "data": data}

    def joined(self, session: Session) -> None:
        session.offer(encoder.encode(self.snapshot()))

    def deliver(self, deliveries: list[Delivery]) -> None:
        """Once per drain: the snapshot shows the book as it is, whatever changed it."""
        for delivery in deliveries:
            if self.ended_by(delivery):
                return
        if self._due is not None:
            return
        wait = self._last + BOOK_INTERVAL_S - self._loop.time()
        if wait <= 0:
            self._send()
        else:
            self._due = self._loop.call_later(wait, self._send)
            # Till then no change needs telling: the bus builds nothing for this channel
            # (at saturation that was a delivery per command), a sandbox reset aside.
            self._listener.pause()

    def _send(self) -> None:
        self._due = None
        self._listener.resume()
        self._last = self._loop.time()
        self.broadcast(self.snapshot())

    def close(self) -> None:
        if self._due is not None:
            self._due.cancel()
        super().close()


class BboChannel(Channel):
    """`{"s","i","li","t","b","B","a","A"}` when the best bid or ask (price or amount) changed;
    `i` is the order whose event last touched the book in that command."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._top = self._read_top()

    def _read_top(self) -> tuple[str | None, str | None, str | None, str | None]:
        spec = self.ex.markets[str(self.key[1])]
        bids, asks = self.ex.engine.depth(spec.symbol, 1)
        bid = (spec.format_price(bids[0][0]), spec.format_amount(bids[0][1])) if bids else None
        ask = (spec.format_price(asks[0][0]), spec.format_amount(asks[0][1])) if asks else None
        return (*(bid or (None, None)), *(ask or (None, None)))

    def push(self, delivery: Delivery) -> None:
        top = self._read_top()
        if top == self._top:
            return
        self._top = top
        order_id = None
        for event in delivery.events:
            if isinstance(event, OrderAccepted | OrderCancelled):
                order_id = event.order_id
            elif isinstance(event, OrderFilled):
                order_id = event.maker_order_id
        b, b_amount, a, a_amount = top
        data = {
            "s": self.key[1],
            "i": order_id,
            "li": self.ex.engine.last_order_id,
            "t": self.ex.clock.now_ms(),
            "b": b,
            "B": b_amount,
            "a": a,
            "A": a_amount,
        }
        self.broadcast({"channel": "bbo", "data": data})
