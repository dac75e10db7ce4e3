"""Events: what the engine says happened, in past tense, and the Outcome of one command.

Events are the engine's only output besides its queryable state. They are deterministic (the
same command stream gives byte-identical encoded events) and frozen. `li` is the exchange-wide
`last_order_id` value after the event, the sequence clients order streams by.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tidepool.domain.errors import Reject
from tidepool.engine.commands import Side


class _Event(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    seq: int  # the command that caused it
    ts_ms: int


class OrderAccepted(_Event, frozen=True, tag="order_accepted"):
    """An order entered the engine (event_type `make` if it rests)."""

    order_id: int
    account: str
    symbol: str
    side: Side
    price_ticks: int
    size_lots: int
    tif: str
    reduce_only: bool
    client_order_id: str | None
    order_type: str = "limit"


class StopTriggered(_Event, frozen=True, tag="stop_triggered"):
    """A stop order's trigger price was reached: it now executes as a limit or market order."""

    order_id: int
    account: str
    symbol: str
    price_ticks: int  # its limit (for a stop-market: the reference price moved by slippage)
    size_lots: int


class OrderFilled(_Event, frozen=True, tag="order_filled"):
    """One fill between a resting maker and an incoming taker, at the maker's price."""

    history_id: int
    symbol: str
    price_ticks: int
    size_lots: int
    maker_order_id: int
    maker_account: str
    taker_order_id: int
    taker_account: str
    taker_side: Side
    maker_fee: Decimal
    taker_fee: Decimal


class OrderCancelled(_Event, frozen=True, tag="order_cancelled"):
    """`reason`: cancel | edit | self_trade_prevented | post_only_rejected | ioc_remainder |
    reduce_only."""

    order_id: int
    account: str
    symbol: str
    cancelled_lots: int
    reason: str


class PositionChanged(_Event, frozen=True, tag="position_changed"):
    """`size_lots` is signed: > 0 long, < 0 short, 0 closed."""

    account: str
    symbol: str
    size_lots: int
    entry_price: Decimal
    realized_pnl: Decimal


class BalanceChanged(_Event, frozen=True, tag="balance_changed"):
    """`reason`: faucet | trade (fees and realised PnL of one fill) | set_balance."""

    account: str
    delta: Decimal
    balance: Decimal
    reason: str


class MarkPriceSet(_Event, frozen=True, tag="mark_price_set"):
    symbol: str
    price: Decimal


class MarginSettingChanged(_Event, frozen=True, tag="margin_setting_changed"):
    account: str
    symbol: str
    leverage: int
    isolated: bool


class AgentBound(_Event, frozen=True, tag="agent_bound"):
    account: str
    agent: str


class AgentRevoked(_Event, frozen=True, tag="agent_revoked"):
    account: str
    agent: str


class ApiKeyCreated(_Event, frozen=True, tag="api_key_created"):
    """The key the command carried is now active (create_api_key answers with it)."""

    account: str
    api_key: str


class ApiKeyRevoked(_Event, frozen=True, tag="api_key_revoked"):
    account: str
    api_key: str


class StateReplaced(_Event, frozen=True, tag="state_replaced"):
    """The whole state was replaced (sandbox `reason`: revert | reset): what a subscriber
    built from earlier events no longer holds, and ids (`li`, order and history ids) may go
    back. Always the first event of its command."""

    reason: str


Event = (
    OrderAccepted
    | StopTriggered
    | OrderFilled
    | OrderCancelled
    | PositionChanged
    | BalanceChanged
    | MarkPriceSet
    | MarginSettingChanged
    | AgentBound
    | AgentRevoked
    | ApiKeyCreated
    | ApiKeyRevoked
    | StateReplaced
)


class ActionResult(msgspec.Struct, frozen=True, kw_only=True):
    """One batch action's answer: its rejection, or the order id it created / cancelled."""

    reject: Reject | None = None
    order_id: int | None = None


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one command: a rejection, or what it produced, plus its events.
    A Batch is never rejected as a whole: `results` has one entry per action."""

    events: list[Event]
    reject: Reject | None = None
    order_id: int | None = None
    cancelled_count: int | None = None
    results: list[ActionResult] | None = None
    more: bool = False  # CancelAllOrders with a `limit`: orders in its scope remain
    snapshot_id: int | None = None  # TakeSnapshot: the id it kept the state under
