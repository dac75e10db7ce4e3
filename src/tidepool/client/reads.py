"""The unsigned GET endpoints (spec §2.10–2.12, §4), one builder each, named after the path:
`/info/prices` is `prices`, `/orders/history` is `order_history`.

An `account` left None is filled in by the client with its own address.
"""

from __future__ import annotations

import msgspec

from tidepool.client.calls import Answer, Read, page_of, snapshot_of, value_of
from tidepool.client.models import (
    Account,
    Book,
    Candle,
    Fill,
    MarginSetting,
    MarketInfo,
    OpenOrder,
    OrderEvent,
    OrderHistoryItem,
    Page,
    Position,
    Price,
    PublicTrade,
    Snapshot,
)

__all__ = [
    "account",
    "account_settings",
    "book",
    "info",
    "kline",
    "order_history",
    "order_history_by_id",
    "orders",
    "positions",
    "prices",
    "trade_history",
    "trades",
]


def info() -> Read[list[MarketInfo]]:
    """Every market's rules: tick and lot size, leverage, order size limits (GET /info)."""
    return Read("/info", value_of(list[MarketInfo]))


def prices() -> Read[list[Price]]:
    """Mark, mid, oracle and funding of every market (GET /info/prices)."""
    return Read("/info/prices", value_of(list[Price]))


def book(symbol: str, agg_level: int | None = None) -> Read[Book]:
    """Up to 10 levels a side (GET /book); `agg_level` groups that many ticks per level."""
    return Read("/book", value_of(Book), {"symbol": symbol, "agg_level": agg_level})


def trades(symbol: str) -> Read[Snapshot[PublicTrade]]:
    """The market's recent public trades, newest first (GET /trades)."""
    return Read("/trades", snapshot_of(PublicTrade), {"symbol": symbol})


def kline(
    symbol: str,
    interval: str,
    start_time: int,
    end_time: int | None = None,
    limit: int | None = None,
) -> Read[list[Candle]]:
    """Candles from `start_time` (ms), oldest first (GET /kline); `interval` as "1m", "1h"."""
    params: dict[str, str | int | None] = {
        "symbol": symbol,
        "interval": interval,
        "start_time": start_time,
        "end_time": end_time,
        "limit": limit,
    }
    return Read("/kline", value_of(list[Candle]), params)


def account(account: str | None = None) -> Read[Account]:
    """Balance, equity, margin and counts (GET /account)."""
    return Read("/account", value_of(Account), {"account": account})


def account_settings(account: str | None = None) -> Read[list[MarginSetting]]:
    """The markets whose margin mode or leverage differ from the default (GET /account/settings).

    Reads both shapes Pacifica has served: the list itself, and the newer object that holds it
    under `margin_settings` (spec §4.7)."""
    return Read("/account/settings", _margin_settings, {"account": account})


class _Settings(msgspec.Struct, frozen=True):
    margin_settings: list[MarginSetting] = []


_settings = msgspec.json.Decoder(list[MarginSetting] | _Settings)


def _margin_settings(answer: Answer) -> list[MarginSetting]:
    value = _settings.decode(answer.data)
    return value.margin_settings if isinstance(value, _Settings) else value


def positions(account: str | None = None) -> Read[Snapshot[Position]]:
    """Open positions (GET /positions)."""
    return Read("/positions", snapshot_of(Position), {"account": account})


def orders(account: str | None = None) -> Read[Snapshot[OpenOrder]]:
    """Open orders, resting stops and TP/SL legs included (GET /orders)."""
    return Read("/orders", snapshot_of(OpenOrder), {"account": account})


def order_history(
    account: str | None = None, limit: int | None = None, cursor: str | None = None
) -> Read[Page[OrderHistoryItem]]:
    """Every order of the account, newest first, a page at a time (GET /orders/history)."""
    params = {"account": account, "limit": limit, "cursor": cursor}
    return Read("/orders/history", page_of(OrderHistoryItem), params)


def order_history_by_id(order_id: int) -> Read[list[OrderEvent]]:
    """One order's lifecycle, newest event first (GET /orders/history_by_id); NotFound if the
    id was never handed out."""
    return Read("/orders/history_by_id", value_of(list[OrderEvent]), {"order_id": order_id})


def trade_history(
    account: str | None = None,
    symbol: str | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Read[Page[Fill]]:
    """The account's fills, newest first, a page at a time (GET /trades/history)."""
    params = {
        "account": account,
        "symbol": symbol,
        "start_time": start_time,
        "end_time": end_time,
        "limit": limit,
        "cursor": cursor,
    }
    return Read("/trades/history", page_of(Fill), params)
