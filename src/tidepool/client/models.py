"""Typed answers: Pacifica's JSON shapes (spec §2, §4) as frozen msgspec structs.

Prices, amounts, fees and rates are `Decimal` (the wire sends decimal strings; a float would lose
digits). Ids and millisecond timestamps are `int`. Field names are the wire's, except where the
wire abbreviates (`book`, `kline`): there the struct spells the name out and maps it to the short
key. Unknown keys are ignored, so a server that adds fields never breaks a client.

Lists that the API pairs with an extra top-level key come back as `Snapshot` (`last_order_id`,
for ordering against WebSocket updates) or `Page` (`next_cursor`, `has_more`); both iterate, index
and count like the list they hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar, overload

import msgspec

__all__ = [
    "Account",
    "ApiKeys",
    "BatchResult",
    "Book",
    "BookLevel",
    "Candle",
    "Fill",
    "MarginSetting",
    "MarketInfo",
    "OpenOrder",
    "OrderEvent",
    "OrderHistoryItem",
    "OrderRef",
    "Page",
    "Position",
    "Price",
    "PublicTrade",
    "Snapshot",
    "SpotBalance",
    "StopLeg",
]

T = TypeVar("T")


class _Model(msgspec.Struct, frozen=True, kw_only=True):
    pass


@dataclass(frozen=True, kw_only=True)
class StopLeg:
    """The stop-leg object of `stop_order`, `take_profit` and `stop_loss` (spec §2), as sent
    (a request value, hence a dataclass: its numbers take Decimal, str or int).

    Without `limit_price` the leg is a market order when triggered; without `amount` it takes
    the parent's or the position's size."""

    stop_price: Decimal | str | int
    limit_price: Decimal | str | int | None = None
    amount: Decimal | str | int | None = None
    client_order_id: str | None = None
    trigger_price_type: str | None = None  # mark_price (default) | last_trade_price | mid_price


class OrderRef(_Model, frozen=True):
    """A created or edited order: its exchange id and the client order id it was sent with."""

    order_id: int
    client_order_id: str | None = None


class ApiKeys(_Model, frozen=True):
    """The account's API config keys (spec A11)."""

    active_api_keys: list[str]
    api_key_limit: int


class BatchResult(_Model, frozen=True):
    """One action's result in a batch, in action order (spec §2.9)."""

    success: bool
    order_id: int | None = None
    error: str | None = None


class MarketInfo(_Model, frozen=True):
    symbol: str
    tick_size: Decimal
    min_tick: Decimal
    max_tick: Decimal
    lot_size: Decimal
    max_leverage: int
    isolated_only: bool
    min_order_size: Decimal
    max_order_size: Decimal
    funding_rate: Decimal
    next_funding_rate: Decimal
    created_at: int
    instrument_type: str = "perpetual"
    base_asset: str | None = None


class Price(_Model, frozen=True):
    symbol: str
    mark: Decimal
    mid: Decimal
    oracle: Decimal
    funding: Decimal
    next_funding: Decimal
    open_interest: Decimal
    volume_24h: Decimal
    yesterday_price: Decimal
    timestamp: int


class BookLevel(_Model, frozen=True):
    price: Decimal = msgspec.field(name="p")
    amount: Decimal = msgspec.field(name="a")
    orders: int = msgspec.field(name="n")


class Book(_Model, frozen=True):
    symbol: str = msgspec.field(name="s")
    levels: tuple[list[BookLevel], list[BookLevel]] = msgspec.field(name="l")
    timestamp: int = msgspec.field(name="t")
    # The WebSocket push's `li`, which orders books against each other; GET /book has none.
    last_order_id: int | None = msgspec.field(name="li", default=None)

    @property
    def bids(self) -> list[BookLevel]:
        """Best (highest) first."""
        return self.levels[0]

    @property
    def asks(self) -> list[BookLevel]:
        """Best (lowest) first."""
        return self.levels[1]


class PublicTrade(_Model, frozen=True):
    event_type: str
    price: Decimal
    amount: Decimal
    side: str  # open_long | open_short | close_long | close_short (the taker's)
    cause: str
    created_at: int


class Candle(_Model, frozen=True):
    open_time: int = msgspec.field(name="t")
    close_time: int = msgspec.field(name="T")
    symbol: str = msgspec.field(name="s")
    interval: str = msgspec.field(name="i")
    open: Decimal = msgspec.field(name="o")
    close: Decimal = msgspec.field(name="c")
    high: Decimal = msgspec.field(name="h")
    low: Decimal = msgspec.field(name="l")
    volume: Decimal = msgspec.field(name="v")
    trades: int = msgspec.field(name="n")


class SpotBalance(_Model, frozen=True):
    symbol: str
    amount: Decimal
    available_to_withdraw: Decimal | None = None
    pending_balance: Decimal | None = None


class Account(_Model, frozen=True):
    balance: Decimal
    fee_level: int
    maker_fee: Decimal
    taker_fee: Decimal
    account_equity: Decimal
    available_to_spend: Decimal
    available_to_withdraw: Decimal
    pending_balance: Decimal
    total_margin_used: Decimal
    positions_count: int
    orders_count: int
    stop_orders_count: int
    updated_at: int
    cross_account_equity: Decimal | None = None
    cross_mmr: Decimal | None = None
    pending_interest: Decimal | None = None
    spot_collateral: Decimal | None = None
    spot_market_value: Decimal | None = None
    spot_balances: list[SpotBalance] = []


class Position(_Model, frozen=True):
    symbol: str
    side: str  # bid = long, ask = short
    amount: Decimal
    entry_price: Decimal
    margin: Decimal
    funding: Decimal
    isolated: bool
    liquidation_price: Decimal | None
    created_at: int
    updated_at: int


class OpenOrder(_Model, frozen=True):
    order_id: int
    client_order_id: str | None
    symbol: str
    side: str
    price: Decimal
    initial_amount: Decimal
    filled_amount: Decimal
    cancelled_amount: Decimal
    stop_price: Decimal | None
    order_type: str
    stop_parent_order_id: int | None
    reduce_only: bool
    created_at: int
    updated_at: int
    trigger_price_type: str | None = None


class OrderHistoryItem(_Model, frozen=True):
    order_id: int
    client_order_id: str | None
    symbol: str
    side: str
    initial_price: Decimal
    average_filled_price: Decimal
    amount: Decimal
    filled_amount: Decimal
    order_status: str  # open | partially_filled | filled | cancelled | rejected
    order_type: str
    stop_price: Decimal | None
    stop_parent_order_id: int | None
    reduce_only: bool
    reason: str | None
    created_at: int
    updated_at: int


class OrderEvent(_Model, frozen=True):
    """One lifecycle event of an order (GET /orders/history_by_id, newest first)."""

    history_id: int
    order_id: int
    client_order_id: str | None
    symbol: str
    side: str
    price: Decimal
    initial_amount: Decimal
    filled_amount: Decimal
    cancelled_amount: Decimal
    event_type: str
    order_type: str
    order_status: str
    stop_price: Decimal | None
    stop_parent_order_id: int | None
    reduce_only: bool
    created_at: int


class Fill(_Model, frozen=True):
    """One of the account's fills (GET /trades/history)."""

    history_id: int
    order_id: int
    client_order_id: str | None
    symbol: str
    amount: Decimal
    price: Decimal
    entry_price: Decimal
    fee: Decimal
    pnl: Decimal
    event_type: str  # fulfill_maker | fulfill_taker
    side: str
    created_at: int
    cause: str = "normal"


class MarginSetting(_Model, frozen=True):
    symbol: str
    isolated: bool
    leverage: int
    created_at: int
    updated_at: int


class _Listing(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    items: list[T]

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self.items[index]


class Snapshot(_Listing[T], frozen=True, kw_only=True):
    """A full list and the exchange-wide last order id it was read at (spec §3.6)."""

    last_order_id: int | None = None


class Page(_Listing[T], frozen=True, kw_only=True):
    """One page of a history, newest first; pass `next_cursor` as `cursor` for the next one."""

    next_cursor: str | None = None
    has_more: bool = False
