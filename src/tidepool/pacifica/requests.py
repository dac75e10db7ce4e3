"""Typed request bodies, field for field as Pacifica's pages and clients send them (spec §1.2, §2).

Each signed body is flat: the auth header fields next to the operation's payload fields. The
structs decode the whole flat body; `payload_fields(T)` names the payload part, which is what the
signature covers. Unknown keys are ignored (clients such as ccxt send extra unsigned keys).
Amounts and prices stay strings here; the market codec turns them into ticks and lots.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec

from tidepool.pacifica.canonical import HEADER_KEYS


class Signed(msgspec.Struct, kw_only=True, frozen=True):
    account: str
    signature: str | dict[str, Any]
    timestamp: int
    expiry_window: int | None = None
    agent_wallet: str | None = None


class StopLegRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The stop-leg object of `stop_order`, `take_profit`, `stop_loss` (spec §2)."""

    stop_price: str
    limit_price: str | None = None  # omitted: a market order when triggered
    amount: str | None = None  # omitted or "0": the position's size at trigger time
    client_order_id: str | None = None
    trigger_price_type: str | None = None  # mark_price (default) | last_trade_price


class CreateOrderRequest(Signed, frozen=True):
    symbol: str
    price: str
    amount: str
    side: Literal["bid", "ask"]
    tif: Literal["GTC", "IOC", "ALO", "TOB"]
    reduce_only: bool
    client_order_id: str | None = None
    take_profit: StopLegRequest | None = None
    stop_loss: StopLegRequest | None = None
    builder_code: str | None = None


class CreateMarketOrderRequest(Signed, frozen=True):
    symbol: str
    amount: str
    side: Literal["bid", "ask"]
    slippage_percent: str  # percent: "0.5" is 0.5 %
    reduce_only: bool
    client_order_id: str | None = None
    take_profit: StopLegRequest | None = None
    stop_loss: StopLegRequest | None = None
    builder_code: str | None = None


U64_MAX = 2**64 - 1


class OrderRefRequest(Signed, frozen=True, kw_only=True):
    """A request naming one order by `order_id` or `client_order_id` (cancel, stop cancel,
    edit). Order ids are u64 on Pacifica; msgspec's `Meta` bounds stop at int64, so the range
    is checked here, at decode, and a bigger number never reaches the journal."""

    symbol: str
    order_id: int | None = None
    client_order_id: str | None = None

    def __post_init__(self) -> None:
        if self.order_id is not None and not 0 <= self.order_id <= U64_MAX:
            raise ValueError("`order_id` must be an integer from 0 to 2^64-1")


class CancelOrderRequest(OrderRefRequest, frozen=True):
    pass


class EditOrderRequest(OrderRefRequest, frozen=True, kw_only=True):
    price: str
    amount: str | None = None  # omitted: keep the order's remaining size (live behaviour)


class CreateStopOrderRequest(Signed, frozen=True):
    symbol: str
    side: Literal["bid", "ask"]
    reduce_only: bool
    stop_order: StopLegRequest
    builder_code: str | None = None


class SetPositionTpslRequest(Signed, frozen=True):
    symbol: str
    side: Literal["bid", "ask"]  # the closing side
    take_profit: StopLegRequest | None = None
    stop_loss: StopLegRequest | None = None
    builder_code: str | None = None


class CancelStopOrderRequest(OrderRefRequest, frozen=True):
    pass


class CancelAllOrdersRequest(Signed, frozen=True):
    all_symbols: bool
    exclude_reduce_only: bool
    symbol: str | None = None


# Pacifica's markets go up to 50x; anything in 0..1000 reaches the engine, which answers
# "Invalid leverage" (code 11) outside the market's 1..max_leverage like Pacifica does.
Leverage = Annotated[int, msgspec.Meta(ge=0, le=1000)]


class UpdateLeverageRequest(Signed, frozen=True):
    symbol: str
    leverage: Leverage


class UpdateMarginModeRequest(Signed, frozen=True):
    symbol: str
    is_isolated: bool


class AgentWalletRequest(Signed, frozen=True):
    """bind/revoke: here `agent_wallet` is a signed payload field, not the signer."""


class EmptyPayloadRequest(Signed, frozen=True):
    """list_agent_wallets, revoke_all_agent_wallets, create_api_key, list_api_keys: payload
    `{}`."""


class ApiKeyRequest(Signed, frozen=True):
    """revoke_api_key: the key to revoke (the official SDK's rest/api_config_keys.py)."""

    api_key: str


class FaucetRequest(msgspec.Struct, frozen=True):
    account: str
    amount: str


class BalanceRequest(msgspec.Struct, frozen=True):
    account: str
    balance: str


class MarkPriceRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One mark (`symbol`, `price`) or several (`prices`: symbol -> price), not both."""

    symbol: str | None = None
    price: str | None = None
    prices: dict[str, str] | None = None


class TimeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Exactly one of the three."""

    advance_ms: int | None = None
    set_ms: int | None = None
    freeze: bool | None = None


class RevertRequest(msgspec.Struct, frozen=True):
    id: int


def payload_fields(struct_type: type[msgspec.Struct]) -> frozenset[str]:
    """The fields of a signed body that the signature covers."""
    return frozenset(struct_type.__struct_fields__) - HEADER_KEYS


# The 8-4-4-4-12 hex form only. uuid.UUID would also take 36 characters with hyphens anywhere
# (it strips them), and costs ~5x more on the hot path of every create and cancel by client id.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_uuid(text: str) -> bool:
    """Pacifica's client order ids are hyphenated UUID strings."""
    return _UUID.fullmatch(text) is not None
