"""Market data routes: /info, /info/prices, /book (spec §4.1–4.3). Unsigned GETs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tidepool.domain.markets import MarketSpec, format_decimal
from tidepool.gateway import views
from tidepool.gateway.envelope import Response, bad_request, ok
from tidepool.gateway.errors import WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.query import query_int, query_str
from tidepool.gateway.request import Request
from tidepool.gateway.translate import market

# Tidepool models neither funding nor liquidations yet (spec A7): funding rates are reported as 0.
_FUNDING = "0"


def market_info(spec: MarketSpec) -> dict[str, Any]:
    return {
        "symbol": spec.symbol,
        "tick_size": format_decimal(spec.tick_size),
        "min_tick": format_decimal(spec.min_tick),
        "max_tick": format_decimal(spec.max_tick),
        "lot_size": format_decimal(spec.lot_size),
        "max_leverage": spec.max_leverage,
        "isolated_only": False,
        "min_order_size": format_decimal(spec.min_order_size),
        "max_order_size": format_decimal(spec.max_order_size),
        "funding_rate": _FUNDING,
        "next_funding_rate": _FUNDING,
        "created_at": spec.created_at,
        "instrument_type": "perpetual",
        "base_asset": spec.symbol,
    }


# What Tidepool does not model (spec A7), also answered by GET /info as an extra top-level key
# after the envelope (clients ignore unknown keys, spec §0). README and docs say the same.
NOT_MODELLED = (
    "liquidations",
    "funding (rates are reported as 0)",
    "isolated margin as a separate collateral pool (the mode is recorded and reported)",
    "mid_price stop triggers (mark_price and last_trade_price are modelled)",
    "deposits and withdrawals (use POST /sandbox/faucet)",
    "spot markets",
    "vaults (lake)",
    "TWAP orders",
    "builder-code fees (accepted and ignored)",
    "IP whitelists",
    "rate-limit tiers and heavy-request costs (one configurable quota: serve --rate-limit)",
    "WebSocket transfer, liquidation, TWAP and order-strategy channels",
)


async def info(ex: Exchange, req: Request) -> Response:
    specs = sorted(ex.markets.values(), key=lambda s: s.created_at)
    return ok([market_info(s) for s in specs], not_modelled=list(NOT_MODELLED))


async def prices(ex: Exchange, req: Request) -> Response:
    return ok(price_items(ex))


def price_items(ex: Exchange) -> list[dict[str, Any]]:
    """One item per market, as GET /info/prices and the WebSocket `prices` channel show it."""
    engine = ex.engine
    now = ex.clock.now_ms()
    data = []
    for spec in sorted(ex.markets.values(), key=lambda s: s.created_at):
        mark = engine.mark_price(spec.symbol)
        bids, asks = engine.depth(spec.symbol, 1)
        if bids and asks:
            mid = (spec.ticks_to_price(bids[0][0]) + spec.ticks_to_price(asks[0][0])) / 2
        else:
            mid = mark
        data.append(
            {
                "funding": _FUNDING,
                "mark": format_decimal(mark),
                "mid": format_decimal(mid),
                "next_funding": _FUNDING,
                "open_interest": format_decimal(engine.open_interest(spec.symbol)),
                "oracle": format_decimal(mark),
                "symbol": spec.symbol,
                "timestamp": now,
                "volume_24h": format_decimal(Decimal(0)),
                "yesterday_price": format_decimal(mark),
            }
        )
    return data


AGG_LEVELS = frozenset({1, 2, 5, 10, 100, 1000, 10000})


async def book(ex: Exchange, req: Request) -> Response:
    spec = market(ex, query_str(req, "symbol"))
    agg = query_int(req, "agg_level", 1)
    if agg not in AGG_LEVELS:
        raise WireError(bad_request(f"Invalid agg_level: {agg}"))
    return ok(book_data(ex, spec, agg))


def book_data(ex: Exchange, spec: MarketSpec, agg: int) -> dict[str, Any]:
    """`{"s", "l": [bids, asks], "t"}` with levels `{"p", "a", "n"}`: GET /book's data, and the
    WebSocket `book` channel's (which adds `li`)."""
    # Aggregated levels need more raw levels than they show; 10 buckets of `agg` ticks at most.
    bids, asks = ex.engine.depth(spec.symbol, 10 if agg == 1 else 10 * agg)
    return {
        "s": spec.symbol,
        "l": [
            views.depth_levels(spec, bids, agg, True),
            views.depth_levels(spec, asks, agg, False),
        ],
        "t": ex.clock.now_ms(),
    }
