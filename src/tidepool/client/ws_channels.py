"""The WebSocket channels a client can subscribe to (spec §5.2, A8): each one's params, how its
pushes decode, and which of a push's fields tell two subscriptions of the source apart.

A push is `{"channel": source, "data": ..., "li"?}`. `Channel.values` turns one into what a
subscriber is handed: each item of an event list (`trades`, `account_order_updates`,
`account_trades`), or the one state the push shows (a `Book`, a `Bbo`, the list of `Price`s, a
`Snapshot` of the open orders or positions with the push's `li`).

Routing: a push names its symbol (`s`), interval (`i`) or account (`u`) where Pacifica put one,
so subscriptions of one source that differ there are told apart (`routed_by`). The book's
`agg_level`, and the account of `account_orders`, `account_positions` and `account_info`, are
not in their pushes: a connection can hold one subscription per (source, routed params), and
`Key.clashes` refuses a second one that only the server could tell apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from tidepool.client.models import Book, Candle, Price, Snapshot
from tidepool.client.ws_models import (
    AccountInfo,
    AccountOrder,
    AccountPosition,
    AccountTrade,
    Bbo,
    LeverageUpdate,
    MarginUpdate,
    OrderUpdate,
    Trade,
)

__all__ = ["CHANNELS", "Channel", "Key", "Push"]


class Push(msgspec.Struct, frozen=True, kw_only=True):
    """Any frame the server sends: a push, an ack, a pong, or a trading reply (`id`, `code`)."""

    channel: str | None = None
    data: msgspec.Raw = msgspec.Raw(b"null")
    li: int | None = None
    id: int | str | None = None
    code: int | None = None
    err: str | None = None


@dataclass(frozen=True)
class Channel:
    source: str
    values: Callable[[Push], list[Any]]
    # (param, attribute of a value): pushes name these, so they route a push to its subscription
    routed_by: tuple[tuple[str, str], ...] = ()


def _one(kind: type[Any]) -> Callable[[Push], list[Any]]:
    decoder = msgspec.json.Decoder(kind)
    return lambda push: [decoder.decode(push.data)]


def _each(kind: type[Any]) -> Callable[[Push], list[Any]]:
    decoder = msgspec.json.Decoder(list[kind])  # type: ignore[valid-type]
    return lambda push: list(decoder.decode(push.data))


def _snapshot(kind: type[Any]) -> Callable[[Push], list[Any]]:
    decoder = msgspec.json.Decoder(list[kind])  # type: ignore[valid-type]
    return lambda push: [Snapshot(items=decoder.decode(push.data), last_order_id=push.li)]


_SYMBOL = (("symbol", "symbol"),)
_CANDLE = (("symbol", "symbol"), ("interval", "interval"))
_ACCOUNT = (("account", "account"),)
_prices = msgspec.json.Decoder(list[Price])

CHANNELS: dict[str, Channel] = {
    c.source: c
    for c in (
        Channel("prices", lambda push: [_prices.decode(push.data)]),
        Channel("book", _one(Book), _SYMBOL),
        Channel("bbo", _one(Bbo), _SYMBOL),
        Channel("trades", _each(Trade), _SYMBOL),
        Channel("candle", _one(Candle), _CANDLE),
        Channel("mark_price_candle", _one(Candle), _CANDLE),
        Channel("account_info", _one(AccountInfo)),
        Channel("account_positions", _snapshot(AccountPosition)),
        Channel("account_orders", _snapshot(AccountOrder)),
        Channel("account_order_updates", _each(OrderUpdate), _ACCOUNT),
        Channel("account_trades", _each(AccountTrade), _ACCOUNT),
        Channel("account_margin", _one(MarginUpdate), _ACCOUNT),
        Channel("account_leverage", _one(LeverageUpdate), _ACCOUNT),
    )
}


@dataclass(frozen=True)
class Key:
    """One server subscription: its params as sent (`source` included)."""

    items: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Key:
        return cls(tuple(sorted(params.items())))

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.items)

    @property
    def channel(self) -> Channel:
        return CHANNELS[self.params["source"]]

    def _routing(self) -> tuple[Any, ...]:
        params = self.params
        return (params["source"], *(params.get(p) for p, _ in self.channel.routed_by))

    def clashes(self, other: Key) -> bool:
        """Whether the two differ only in params their pushes do not show."""
        return self != other and self._routing() == other._routing()

    def routes(self, source: str, value: Any) -> bool:
        """Whether a push of `source` showing `value` belongs to this subscription."""
        params = self.params
        if params["source"] != source:
            return False
        return all(getattr(value, attr) == params.get(p) for p, attr in self.channel.routed_by)
