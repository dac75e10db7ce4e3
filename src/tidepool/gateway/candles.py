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
from typing import Any

from tidepool.domain.markets import MarketSpec, format_decimal
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


def build(
    spec: MarketSpec,
    interval: str,
    bounds: list[tuple[int, int]],
    trades: Sequence[FillRecord],
    previous_close: str,
) -> list[dict[str, Any]]:
    """Wire candles for `bounds`, from `trades` (the market's trades inside them, oldest first);
    `previous_close` is the price before the first candle, where empty ones start flat."""
    out: list[dict[str, Any]] = []
    close = previous_close
    i, count = 0, len(trades)
    for opens, closes in bounds:
        candle = {"t": opens, "T": closes, "s": spec.symbol, "i": interval,
                  "o": close, "c": close, "h": close, "l": close, "v": "0", "n": 0}  # fmt: skip
        if i < count and trades[i].created_at < closes:
            first = trades[i].price_ticks
            high = low = last = first
            lots = 0
            j = i
            while j < count and trades[j].created_at < closes:
                last = trades[j].price_ticks
                high, low = max(high, last), min(low, last)
                lots += trades[j].size_lots
                j += 1
            close = spec.format_price(last)
            candle.update(
                o=spec.format_price(first),
                c=close,
                h=spec.format_price(high),
                l=spec.format_price(low),
                v=spec.format_amount(lots),
                n=j - i,
            )
            i = j
        out.append(candle)
    return out


def initial_close(spec: MarketSpec) -> str:
    """The price an empty candle shows before the market's first trade."""
    return format_decimal(spec.initial_mark_price)
