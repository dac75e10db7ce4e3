"""History reads (spec §2.11, §4.4, §4.5, §4.9): /orders/history, /trades, /trades/history,
/kline. Unsigned GETs; all of it comes from the engine's records, so it is exact after replay.

Pagination: newest first; `next_cursor` (base58 of the id to continue below) and `has_more`
sit between `data` and `error`; `next_cursor` is null when nothing older remains.
"""

from __future__ import annotations

from typing import Any

from tidepool.gateway import candles, views
from tidepool.gateway.envelope import Response, bad_request, ok
from tidepool.gateway.errors import WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.query import (
    encode_cursor,
    query_cursor,
    query_int,
    query_limit,
    query_opt_int,
    query_str,
)
from tidepool.gateway.request import Request
from tidepool.gateway.translate import market

MAX_PAGE = 4000


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


async def kline(ex: Exchange, req: Request) -> Response:
    """One candle per interval of [start_time, end_time] clipped to [market opening, now],
    oldest first: the first `limit` of them, counted from the candle holding start_time."""
    spec = market(ex, query_str(req, "symbol"))
    interval = query_str(req, "interval")
    if interval not in candles.INTERVALS:
        raise WireError(bad_request(f"Invalid interval: {interval}"))
    start = query_int(req, "start_time")
    end = query_opt_int(req, "end_time")
    now = ex.clock.now_ms()
    limit = query_limit(req, candles.MAX_CANDLES, candles.MAX_CANDLES)
    bounds = candles.layout(
        interval, max(start, spec.created_at), now if end is None else min(end, now), limit
    )
    return ok(candles.read(ex.engine, spec, interval, bounds) if bounds else [])
