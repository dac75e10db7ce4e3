"""Commands: the only inputs of the engine, and the records of the journal.

Every command carries the sequence number and timestamp the sequencer gave it, so applying a
journal replays the exact same state: the engine reads no clock and draws no random numbers.
Prices and sizes are integers (ticks and lots of the command's market); collateral amounts are
exact Decimals. Commands are frozen: handlers build new ones, nobody edits what they received.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

Side = Literal["bid", "ask"]
Tif = Literal["GTC", "IOC", "ALO", "TOB"]


TriggerPriceType = Literal["mark_price", "last_trade_price"]


class StopLeg(msgspec.Struct, frozen=True, kw_only=True):
    """A stop order's trigger and what it places (spec §2 stop-leg object).

    `limit_ticks` None: a market order when triggered. `size_lots` None: the size of the
    position it closes, at trigger time."""

    stop_ticks: int
    limit_ticks: int | None = None
    size_lots: int | None = None
    client_order_id: str | None = None
    trigger: TriggerPriceType = "mark_price"


class SignatureRecord(msgspec.Struct, frozen=True, array_like=True):
    """The signature a command was requested with, kept for the strict profile's replay guard
    (gateway.verify.ReplayGuard): after a restart the guard is rebuilt from the journal's last
    minute (server/replays.py). `expires_at_ms` is the request's timestamp + expiry window.
    array_like: a record costs ~120 bytes, the size of the command it rides on."""

    signer: str
    signature: bytes
    expires_at_ms: int


# What a command built from a signed request carries: UNSET outside the strict profile.
Auth = SignatureRecord | UnsetType


class _Command(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    """`seq`, `ts_ms`: stamped by the sequencer (runtime/sequencer.py); whoever builds a command
    leaves them 0, and the journal always holds the stamped values.

    `agent_wallet`: the agent wallet that signed the request on the account's behalf (UNSET: the
    account's own key, or no signature at all). The engine authorizes it when it applies the
    command, against the agents bound at that moment, so a revocation that lands while the
    command waits (the speedbump) still refuses it, and replay decides the same.

    `auth`: the signature of the request (strict profile only; a batch action carries its
    own). The engine never reads it.

    UNSET is left out of the encoding, so a command without `agent_wallet` or `auth` encodes
    byte for byte as before those fields existed, and older journals decode."""

    seq: int = 0
    ts_ms: int = 0
    agent_wallet: str | UnsetType = UNSET
    auth: Auth = UNSET


class Faucet(_Command, frozen=True, tag="faucet"):
    """Sandbox: credit `amount` USDC of collateral to `account`."""

    account: str
    amount: Decimal


class SetMarkPrice(_Command, frozen=True, tag="mark"):
    """Sandbox: set the mark (and oracle) price of `symbol`."""

    symbol: str
    price: Decimal


class SetBalance(_Command, frozen=True, tag="set_balance"):
    """Sandbox: set `account`'s collateral to `balance` (>= 0)."""

    account: str
    balance: Decimal


class SetMarkPrices(_Command, frozen=True, tag="marks"):
    """Sandbox: several marks at once, all or nothing, applied in list order."""

    marks: list[SetMarkPrice]


class SetClock(_Command, frozen=True, tag="clock"):
    """Sandbox: move the server's clock (runtime/clock.py SandboxClock) to `set_ms`, or to this
    command's own ts_ms + `advance_ms`; `frozen` None keeps the clock running or frozen as it
    was. `wall_ms`: the wall clock when the command was made, so the offset can be rebuilt."""

    wall_ms: int
    set_ms: int | None = None
    advance_ms: int = 0
    frozen: bool | None = None


class TakeSnapshot(_Command, frozen=True, tag="take_snapshot"):
    """Sandbox: keep the state under the next snapshot id (engine/cheats.py)."""


class RevertSnapshot(_Command, frozen=True, tag="revert"):
    """Sandbox: go back to snapshot `snapshot_id`, dropping it and every later one."""

    snapshot_id: int


class ResetState(_Command, frozen=True, tag="reset"):
    """Sandbox: the state a new state dir starts with, then `fund` credited in order."""

    fund: list[Faucet]


class CreateOrder(_Command, frozen=True, tag="create"):
    account: str
    symbol: str
    side: Side
    price_ticks: int
    size_lots: int
    tif: Tif
    reduce_only: bool
    client_order_id: str | None = None
    take_profit: StopLeg | None = None  # attached legs: armed by this order's first fill
    stop_loss: StopLeg | None = None


class CreateMarketOrder(_Command, frozen=True, tag="create_market"):
    """An IOC order bounded by `slippage_percent` (percent, "0.5" = 0.5 %) from the mark."""

    account: str
    symbol: str
    side: Side
    size_lots: int
    slippage_percent: Decimal
    reduce_only: bool
    client_order_id: str | None = None
    take_profit: StopLeg | None = None
    stop_loss: StopLeg | None = None


class CreateStopOrder(_Command, frozen=True, tag="create_stop"):
    """A stop-limit / stop-market order (spec §2.3); `side` is the side of the order placed."""

    account: str
    symbol: str
    side: Side
    reduce_only: bool
    stop: StopLeg


class SetPositionTpsl(_Command, frozen=True, tag="set_tpsl"):
    """Position TP and/or SL (spec §2.4); `side` is the closing side."""

    account: str
    symbol: str
    side: Side
    take_profit: StopLeg | None = None
    stop_loss: StopLeg | None = None


class CancelStopOrder(_Command, frozen=True, tag="cancel_stop"):
    """Exactly one of `order_id` / `client_order_id` is set (the gateway guarantees it)."""

    account: str
    symbol: str
    order_id: int | None = None
    client_order_id: str | None = None


class CancelOrder(_Command, frozen=True, tag="cancel"):
    """Exactly one of `order_id` / `client_order_id` is set (the gateway guarantees it)."""

    account: str
    symbol: str
    order_id: int | None = None
    client_order_id: str | None = None


class EditOrder(_Command, frozen=True, tag="edit"):
    """Cancel-and-replace (spec §2.8): exactly one of `order_id` / `client_order_id` is set;
    `size_lots` None keeps the old order's remaining size."""

    account: str
    symbol: str
    price_ticks: int
    size_lots: int | None = None
    order_id: int | None = None
    client_order_id: str | None = None


class CancelAllOrders(_Command, frozen=True, tag="cancel_all", omit_defaults=True):
    """`symbol` is None when all symbols are meant.

    Chunking (both optional; None means no bound): only orders with an id <= `up_to_order_id`
    are in scope (pending stops / TP / SL included), and at most `limit` (>= 1) are cancelled,
    lowest ids first, resting before pending as always (a parent's unfilled TP/SL legs go with
    it, so one command may remove up to 2 more). `Outcome.more` says whether orders in scope
    remain. Repeating the command with the same `up_to_order_id` until `more` is False ends in
    the state one unbounded command would give, if nothing else happened in between (ts_ms and
    seq of the chunks are of course their own). omit_defaults: a command without the new
    fields encodes exactly as before they existed, so journals stay byte-identical."""

    account: str
    symbol: str | None
    exclude_reduce_only: bool
    up_to_order_id: int | None = None
    limit: int | None = None


class UpdateLeverage(_Command, frozen=True, tag="leverage"):
    account: str
    symbol: str
    leverage: int


class UpdateMarginMode(_Command, frozen=True, tag="margin_mode"):
    account: str
    symbol: str
    is_isolated: bool


class BindAgent(_Command, frozen=True, tag="bind_agent"):
    account: str
    agent: str


class RevokeAgent(_Command, frozen=True, tag="revoke_agent"):
    account: str
    agent: str


class RevokeAllAgents(_Command, frozen=True, tag="revoke_all_agents"):
    account: str


class CreateApiKey(_Command, frozen=True, tag="create_api_key"):
    """`api_key` was drawn at random by the gateway and travels in the command, so replaying
    the journal gives back the same keys (the engine draws nothing)."""

    account: str
    api_key: str


class RevokeApiKey(_Command, frozen=True, tag="revoke_api_key"):
    account: str
    api_key: str


BatchAction = (
    CreateOrder | CreateMarketOrder | CancelOrder | EditOrder | SetPositionTpsl | CancelStopOrder
)


MAX_BATCH_ACTIONS = 10  # spec §2.9: the gateway refuses more, and the market maker sends no more


class Batch(_Command, frozen=True, tag="batch"):
    """Up to 10 actions applied in order as one command: nothing interleaves, replay is exact.
    Each action carries the batch's own seq and ts_ms."""

    actions: list[BatchAction]


Command = (
    Faucet
    | SetMarkPrice
    | SetBalance
    | SetMarkPrices
    | SetClock
    | TakeSnapshot
    | RevertSnapshot
    | ResetState
    | CreateOrder
    | CreateMarketOrder
    | CancelOrder
    | EditOrder
    | CancelAllOrders
    | CreateStopOrder
    | SetPositionTpsl
    | CancelStopOrder
    | UpdateLeverage
    | UpdateMarginMode
    | BindAgent
    | RevokeAgent
    | RevokeAllAgents
    | CreateApiKey
    | RevokeApiKey
    | Batch
)
