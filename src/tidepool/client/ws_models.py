"""Typed WebSocket pushes (spec §5.2, §5.3, §5.5): the short keys mapped to spelled-out names.

Numbers are `Decimal` as over REST (models.py); `last_order_id` is the push's `li`. Unknown keys
are ignored, so a server that adds keys never breaks a client. Channels whose data is a REST
shape reuse its model: `prices` items are `Price`, `book` is `Book` (with `li`), candles are
`Candle`; the account state channels come as `Snapshot` (the items and the push's `li`).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

__all__ = [
    "AccountInfo",
    "AccountOrder",
    "AccountPosition",
    "AccountSpotBalance",
    "AccountTrade",
    "Bbo",
    "LeverageUpdate",
    "MarginUpdate",
    "OrderUpdate",
    "Trade",
]


class _Push(msgspec.Struct, frozen=True, kw_only=True):
    pass


class Bbo(_Push, frozen=True, kw_only=True):
    """`bbo`: the best bid and ask after a change of either; `order_id` is the order whose event
    last touched the top in that command."""

    symbol: str = msgspec.field(name="s")
    order_id: int | None = msgspec.field(name="i")
    last_order_id: int = msgspec.field(name="li")
    timestamp: int = msgspec.field(name="t")
    bid: Decimal | None = msgspec.field(name="b")
    bid_amount: Decimal | None = msgspec.field(name="B")
    ask: Decimal | None = msgspec.field(name="a")
    ask_amount: Decimal | None = msgspec.field(name="A")


class Trade(_Push, frozen=True, kw_only=True):
    """`trades`: one public (taker) fill."""

    history_id: int = msgspec.field(name="h")
    symbol: str = msgspec.field(name="s")
    amount: Decimal = msgspec.field(name="a")
    price: Decimal = msgspec.field(name="p")
    side: str = msgspec.field(name="d")  # open_long | open_short | close_long | close_short
    cause: str = msgspec.field(name="tc")
    created_at: int = msgspec.field(name="t")
    last_order_id: int = msgspec.field(name="li")


class AccountSpotBalance(_Push, frozen=True, kw_only=True):
    symbol: str = msgspec.field(name="s")
    amount: Decimal = msgspec.field(name="a")
    available_to_withdraw: Decimal | None = msgspec.field(name="aw", default=None)
    pending_balance: Decimal | None = msgspec.field(name="pb", default=None)


class AccountInfo(_Push, frozen=True, kw_only=True):
    """`account_info`: what GET /account shows."""

    account_equity: Decimal = msgspec.field(name="ae")
    available_to_spend: Decimal = msgspec.field(name="as")
    available_to_withdraw: Decimal = msgspec.field(name="aw")
    balance: Decimal = msgspec.field(name="b")
    fee_level: int = msgspec.field(name="f")
    total_margin_used: Decimal = msgspec.field(name="mu")
    cross_mmr: Decimal | None = msgspec.field(name="cm", default=None)
    orders_count: int = msgspec.field(name="oc")
    pending_balance: Decimal = msgspec.field(name="pb")
    positions_count: int = msgspec.field(name="pc")
    stop_orders_count: int = msgspec.field(name="sc")
    spot_balances: list[AccountSpotBalance] = msgspec.field(name="sb", default_factory=list)
    updated_at: int = msgspec.field(name="t")


class AccountPosition(_Push, frozen=True, kw_only=True):
    """One item of `account_positions`: what GET /positions shows."""

    symbol: str = msgspec.field(name="s")
    side: str = msgspec.field(name="d")  # bid = long, ask = short
    amount: Decimal = msgspec.field(name="a")
    entry_price: Decimal = msgspec.field(name="p")
    margin: Decimal = msgspec.field(name="m")
    funding: Decimal = msgspec.field(name="f")
    isolated: bool = msgspec.field(name="i")
    liquidation_price: Decimal | None = msgspec.field(name="l")
    updated_at: int = msgspec.field(name="t")


class AccountOrder(_Push, frozen=True, kw_only=True):
    """One item of `account_orders`: an open order as GET /orders shows it."""

    order_id: int = msgspec.field(name="i")
    client_order_id: str | None = msgspec.field(name="I")
    symbol: str = msgspec.field(name="s")
    side: str = msgspec.field(name="d")
    price: Decimal = msgspec.field(name="p")
    initial_amount: Decimal = msgspec.field(name="a")
    filled_amount: Decimal = msgspec.field(name="f")
    cancelled_amount: Decimal = msgspec.field(name="c")
    created_at: int = msgspec.field(name="t")
    trigger_price_type: str | None = msgspec.field(name="st", default=None)
    order_type: str = msgspec.field(name="ot")
    stop_price: Decimal | None = msgspec.field(name="sp", default=None)
    reduce_only: bool = msgspec.field(name="ro")


class OrderUpdate(_Push, frozen=True, kw_only=True):
    """`account_order_updates`: one change of one order (not a snapshot)."""

    order_id: int = msgspec.field(name="i")
    client_order_id: str | None = msgspec.field(name="I")
    account: str = msgspec.field(name="u")
    symbol: str = msgspec.field(name="s")
    side: str = msgspec.field(name="d")
    average_filled_price: Decimal = msgspec.field(name="p")
    initial_price: Decimal = msgspec.field(name="ip")
    last_filled_price: Decimal | None = msgspec.field(name="lp")
    amount: Decimal = msgspec.field(name="a")
    filled_amount: Decimal = msgspec.field(name="f")
    event_type: str = msgspec.field(name="oe")
    order_status: str = msgspec.field(name="os")  # open | partially_filled | filled | ...
    order_type: str = msgspec.field(name="ot")
    stop_price: Decimal | None = msgspec.field(name="sp", default=None)
    stop_parent_order_id: int | None = msgspec.field(name="si", default=None)
    reduce_only: bool = msgspec.field(name="r")
    created_at: int = msgspec.field(name="ct")
    updated_at: int = msgspec.field(name="ut")
    last_order_id: int = msgspec.field(name="li")


class AccountTrade(_Push, frozen=True, kw_only=True):
    """`account_trades`: the account's side of one fill, as GET /trades/history shows it."""

    history_id: int = msgspec.field(name="h")
    order_id: int = msgspec.field(name="i")
    client_order_id: str | None = msgspec.field(name="I")
    account: str = msgspec.field(name="u")
    symbol: str = msgspec.field(name="s")
    price: Decimal = msgspec.field(name="p")
    entry_price: Decimal = msgspec.field(name="o")
    amount: Decimal = msgspec.field(name="a")
    event_type: str = msgspec.field(name="te")  # fulfill_maker | fulfill_taker
    side: str = msgspec.field(name="ts")
    cause: str = msgspec.field(name="tc")
    fee: Decimal = msgspec.field(name="f")
    pnl: Decimal = msgspec.field(name="n")
    created_at: int = msgspec.field(name="t")
    last_order_id: int = msgspec.field(name="li")


class MarginUpdate(_Push, frozen=True, kw_only=True):
    """`account_margin`: a market's margin mode changed."""

    account: str = msgspec.field(name="u")
    timestamp: int = msgspec.field(name="t")
    symbol: str = msgspec.field(name="s")
    isolated: bool = msgspec.field(name="i")


class LeverageUpdate(_Push, frozen=True, kw_only=True):
    """`account_leverage`: a market's leverage changed."""

    account: str = msgspec.field(name="u")
    timestamp: int = msgspec.field(name="t")
    symbol: str = msgspec.field(name="s")
    leverage: int = msgspec.field(name="l")
