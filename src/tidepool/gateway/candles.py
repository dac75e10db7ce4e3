"""Candles of `GET /kline` (spec §4.5), built from a market's public trades.

There is one candle for every interval from the market's opening (`MarketSpec.created_at`) to
now, as on a live venue: an interval without a trade is flat at the previous close, with volume
"0" and trade count 0. Before the market's first trade that price is its initial mark price: the
engine keeps only the current mark, not its history, and the initial mark is the price the
market was listed at; a mark moved through the sandbox since then is not shown back in time.

The work is bounded by the number of candles asked for (at most `MAX_CANDLES`), never by the
length of the window: the candles are laid out first, and only the trades inside them are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tidepool.domain.markets import MarketSpec, format_decimal
from tidepool.engine.engine import Engine
from tidepool.engine.views import FillRecord

MAX_CANDLES = 4000

_MINUTE = 60_000
INTERVALS: dict[str, int] = {
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": 60 * _MINUTE,
    "2h": 120 * _MINUTE,
    "4h": 240 * _MINUTE,
    "8h": 480 * _MINUTE,
    "12h": 720 * _MINUTE,
    "1d": 1440 * _MINUTE,
    "1w": 7 * 1440 * _MINUTE,
    "1M": 0,  # calendar months, UTC
}
_WEEK_OFFSET = 4 * 1440 * _MINUTE  # weeks start on Monday; 1970-01-01 was a Thursday


def candle_bounds(interval: str, ts_ms: int) -> tuple[int, int]:
    """[open, close) of the candle of `interval` holding `ts_ms`."""
    if interval == "1M":
        day = datetime.fromtimestamp(ts_ms / 1000, UTC)
        first = datetime(day.year, day.month, 1, tzinfo=UTC)
        after = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=UTC)
        return int(first.timestamp() * 1000), int(after.timestamp() * 1000)
    size = INTERVALS[interval]
    offset = _WEEK_OFFSET if interval == "1w" else 0
    start = (ts_ms - offset) // size * size + offset
    return start, start + size


def layout(interval: str, start_ms: int, end_ms: int, limit: int) -> list[tuple[int, int]]:
    """The bounds of the candles from the one holding `start_ms` to the one holding `end_ms`,
    oldest first, at most `limit` of them (the oldest: the window is counted from its start)."""
    out: list[tuple[int, int]] = []
    if start_ms > end_ms:
        return out
    bounds = candle_bounds(interval, start_ms)
    while len(out) < limit and bounds[0] <= end_ms:
        out.append(bounds)
        bounds = candle_bounds(interval, bounds[1])
    return out


class Tally:
    """One candle being built: prices as Decimals (a trade's price, or a mark price), volume in
    lots. `/kline` builds its candles with it, and the WebSocket candle channels keep one per
    channel and add each new trade or mark to it."""

    __slots__ = ("c", "closes", "h", "l", "lots", "n", "o", "opens")

    def __init__(self, bounds: tuple[int, int], price: Decimal) -> None:
        """A candle opening at `price` (its first trade or mark), with nothing counted yet."""
        self.opens, self.closes = bounds
        self.o = self.h = self.l = self.c = price
        self.lots = 0
        self.n = 0

    def add(self, price: Decimal, lots: int = 0) -> None:
        self.c = price
        if price > self.h:
            self.h = price
        elif price < self.l:
            self.l = price
        self.lots += lots
        self.n += 1

    def wire(self, spec: MarketSpec, interval: str) -> dict[str, Any]:
        return {"t": self.opens, "T": self.closes, "s": spec.symbol, "i": interval,
                "o": format_decimal(self.o), "c": format_decimal(self.c),
                "h": format_decimal(self.h), "l": format_decimal(self.l),
                "v": spec.format_amount(self.lots), "n": self.n}  # fmt: skip


def tally_trades(spec: MarketSpec, bounds: tuple[int, int], trades: Sequence[FillRecord]) -> Tally:
    """The candle of `bounds` from its trades (at least one, oldest first)."""
    tally = Tally(bounds, spec.ticks_to_price(trades[0].price_ticks))
    for trade in trades:
        tally.add(spec.ticks_to_price(trade.price_ticks), trade.size_lots)
    return tally


def build(
    spec: MarketSpec,
    interval: str,
    bounds: list[tuple[int, int]],
    trades: Sequence[FillRecord],
    previous_close: Decimal,
) -> list[dict[str, Any]]:
    """Wire candles for `bounds`, from `trades` (the market's trades inside them, oldest first);
    `previous_close` is the price before the first candle, where empty ones start flat."""
    out: list[dict[str, Any]] = []
    close = previous_close
    i, count = 0, len(trades)
    for opens, closes in bounds:
        j = i
        while j < count and trades[j].created_at < closes:
            j += 1
        if j > i:
            tally = tally_trades(spec, (opens, closes), trades[i:j])
            close = tally.c
            i = j
        else:
            tally = Tally((opens, closes), close)  # no trade: flat at the previous close
        out.append(tally.wire(spec, interval))
    return out


def read(
    engine: Engine, spec: MarketSpec, interval: str, bounds: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """The wire candles of `bounds` (consecutive, oldest first) from the engine's trades."""
    before = engine.trade_before(spec.symbol, bounds[0][0])
    close = initial_close(spec) if before is None else spec.ticks_to_price(before.price_ticks)
    trades = engine.trades_between(spec.symbol, bounds[0][0], bounds[-1][1])
    return build(spec, interval, bounds, trades, close)


def initial_close(spec: MarketSpec) -> Decimal:
    """The price an empty candle shows before the market's first trade."""
    return spec.initial_mark_price
