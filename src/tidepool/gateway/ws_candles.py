"""The WebSocket candle channels (spec §5.2): `candle` and `mark_price_candle`, params `symbol`
and `interval` (GET /kline's intervals). Each push is one candle `{"t","T","s","i","o","c","h",
"l","v","n"}`, the one of the interval holding the change, built like /kline's (gateway/candles.py).
Neither sends anything on subscribe: A8 lists neither among the snapshot channels.

`candle` pushes after each command with trades in the market. The channel keeps the current
candle and adds each new trade to it, so a push costs the command's trades, not the interval's:
the candle is read from the engine's trades once per interval (which may already hold trades of
commands not yet pushed; the history id of the last trade counted keeps any from counting twice).

`mark_price_candle` pushes after each mark change of the market, with `v` "0" and `n` the number
of marks in the candle. The engine keeps only the current mark, not its history, so the first
candle a channel shows opens at the mark it found when it opened; each later one opens at the
previous candle's close, as /kline's empty candles do.
"""

from __future__ import annotations

from typing import Any

from tidepool.engine.events import MarkPriceSet, OrderFilled
from tidepool.gateway import candles
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.ws_fanout import Channel, ChannelKey
from tidepool.runtime.bus import Delivery

SOURCES = frozenset({"candle", "mark_price_candle"})


class TradeCandleChannel(Channel):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._spec = self.ex.markets[str(self.key[1])]
        self._interval = str(self.key[2])
        self._tally: candles.Tally | None = None
        self._last_history_id = 0  # the last public trade (taker's history id) counted

    def push(self, delivery: Delivery) -> None:
        spec = self._spec
        traded = False
        for event in delivery.events:
            if not isinstance(event, OrderFilled):
                continue
            traded = True
            taker_history_id = event.history_id + 1  # logged right after the maker's entry
            if taker_history_id <= self._last_history_id:
                continue
            tally = self._tally
            if tally is None or event.ts_ms >= tally.closes:
                self._tally = self._read(event.ts_ms)
                continue
            tally.add(spec.ticks_to_price(event.price_ticks), event.size_lots)
            self._last_history_id = taker_history_id
        if traded and self._tally is not None:
            message = {"channel": "candle", "data": self._tally.wire(spec, self._interval)}
            self.broadcast(message)

    def _read(self, ts_ms: int) -> candles.Tally | None:
        """The candle holding `ts_ms` from the engine's trades so far (None if the engine was
        rebuilt without them: the command failed)."""
        bounds = candles.candle_bounds(self._interval, ts_ms)
        trades = self.ex.engine.trades_between(self._spec.symbol, *bounds)
        if not trades:
            return None
        self._last_history_id = trades[-1].history_id
        return candles.tally_trades(self._spec, bounds, trades)


class MarkCandleChannel(Channel):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._spec = self.ex.markets[str(self.key[1])]
        self._interval = str(self.key[2])
        self._close = self.ex.engine.mark_price(self._spec.symbol)
        self._tally: candles.Tally | None = None

    def push(self, delivery: Delivery) -> None:
        symbol = self._spec.symbol
        moved = False
        for event in delivery.events:
            if not isinstance(event, MarkPriceSet) or event.symbol != symbol:
                continue
            tally = self._tally
            if tally is None or event.ts_ms >= tally.closes:
                bounds = candles.candle_bounds(self._interval, event.ts_ms)
                tally = self._tally = candles.Tally(bounds, self._close)
            tally.add(event.price)
            self._close = event.price
            moved = True
        if moved and self._tally is not None:  # no volume counted: `v` is "0"
            data = self._tally.wire(self._spec, self._interval)
            self.broadcast({"channel": "mark_price_candle", "data": data})


def open_candle_channel(ex: Exchange, key: ChannelKey) -> Channel:
    """The channel of `(source, symbol, interval)`: trades for `candle`, marks (the `prices`
    topic) for `mark_price_candle`."""
    symbol = str(key[1])
    if key[0] == "candle":
        return TradeCandleChannel(ex, key, ("candle", symbol))
    return MarkCandleChannel(ex, key, ("prices", ""))
