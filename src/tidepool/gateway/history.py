"""History reads (spec §2.11, §4.4, §4.5, §4.9): /orders/history, /trades, /trades/history,
/kline. Unsigned GETs; all of it comes from the engine's records, so it is exact after replay.

Pagination: newest first; `next_cursor` (base58 of the id to continue below) and `has_more`
sit between `data` and `error`; `next_cursor` is null when nothing older remains.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tidepool.engine.views import FillRecord
from tidepool.gateway import views
from tidepool.gateway.context import Exchange, Request, WireError
from tidepool.gateway.query import (
    encode_cursor,
    query_cursor,
    query_int,
    query_limit,
    query_opt_int,
    query_str,
)
from tidepool.gateway.translate import market
from tidepool.wire.envelope import Response, bad_request, ok

MAX_PAGE = 4000
MAX_CANDLES = 4000


def _page(data: list[dict[str, Any]], more: bool, next_id: int | None) -> Response:
    cursor = encode_cursor(next_id) if more and next_id is not None else None
    return ok(data, inline={"next_cursor": cursor, "has_more": more})


async def orders_history(ex: Exchange, req: Request) -> Response:
    account = query_str(req, "account")
    limit = query_limit(req, 100, MAX_PAGE)
    records, more = ex.engine.orders_page(account, limit, query_cursor(req))
    data = [views.order_history_item(ex.markets[o.symbol], o) for o in records]
    return _page(data, more, records[-1].order_id if records else None)


async def trades_history(ex: Exchange, req: Request) -> Response:
    account = query_str(req, "account")
    symbol = req.query.get("symbol") or None
    if symbol is not None:
        market(ex, symbol)
    fills, more = ex.engine.fills_page(
        account,
        query_limit(req, 100, MAX_PAGE),
        symbol=symbol,
        start_ms=query_opt_int(req, "start_time"),
        end_ms=query_opt_int(req, "end_time"),
        before_history_id=query_cursor(req),
    )
    data = [views.account_fill(ex.markets[f.symbol], f) for f in fills]
    return _page(data, more, fills[-1].history_id if fills else None)


async def recent_trades(ex: Exchange, req: Request) -> Response:
    spec = market(ex, query_str(req, "symbol"))
    engine = ex.engine
    trades = engine.recent_trades(spec.symbol, query_limit(req, 100, 1000))
    data = [views.public_trade(spec, t) for t in trades]
    return ok(data, last_order_id=engine.last_order_id)


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


async def kline(ex: Exchange, req: Request) -> Response:
    """Candles built from the market's real trades, oldest first; intervals without a trade
    have no candle. The first `limit` candles from the one holding `start_time` are returned."""
    spec = market(ex, query_str(req, "symbol"))
    interval = query_str(req, "interval")
    if interval not in INTERVALS:
        raise WireError(bad_request(f"Invalid interval: {interval}"))
    start = query_int(req, "start_time")
    end = query_opt_int(req, "end_time")
    end = ex.clock.now_ms() if end is None else end
    limit = query_limit(req, MAX_CANDLES, MAX_CANDLES)
    first_open = candle_bounds(interval, start)[0]
    trades = ex.engine.trades_between(spec.symbol, first_open, end + 1)
    candles: list[dict[str, Any]] = []
    bounds: tuple[int, int] | None = None
    for trade in trades:
        if bounds is None or trade.created_at >= bounds[1]:
            if len(candles) == limit:
                break
            bounds = candle_bounds(interval, trade.created_at)
            candles.append(_open_candle(spec.symbol, interval, bounds, trade))
        _add(candles[-1], trade)
    return ok([_wire_candle(spec.format_price, spec.lot_size, c) for c in candles])


def _open_candle(
    symbol: str, interval: str, bounds: tuple[int, int], first: FillRecord
) -> dict[str, Any]:
    p = first.price_ticks
    return {"t": bounds[0], "T": bounds[1], "s": symbol, "i": interval,
            "o": p, "c": p, "h": p, "l": p, "v": 0, "n": 0}  # fmt: skip


def _add(candle: dict[str, Any], trade: FillRecord) -> None:
    p = trade.price_ticks
    candle["c"] = p
    candle["h"] = max(candle["h"], p)
    candle["l"] = min(candle["l"], p)
    candle["v"] += trade.size_lots
    candle["n"] += 1


def _wire_candle(
    price: Callable[[int], str], lot_size: Decimal, c: dict[str, Any]
) -> dict[str, Any]:
    out = dict(c)
    for key in ("o", "c", "h", "l"):
        out[key] = price(c[key])
    out["v"] = views.money(c["v"] * lot_size)
    return out
