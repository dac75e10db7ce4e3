"""The signed operations (spec §1.6, §2), one builder each, named after its signature `type`,
with keyword arguments named as the wire fields.

A builder returns an unsigned `Action`; a client method of the same name signs and sends it, and
`batch_orders` takes several of them:

    client.batch_orders([
        actions.create_order(symbol="BTC", price="99000", amount="0.001", side="bid"),
        actions.cancel_order(symbol="BTC", order_id=41),
    ])

Why a resend can never create a second order: every create carries a client order id (a uuid4
is made here when none is given, for a stop order inside `stop_order`), which the exchange
refuses to reuse (spec A4, code 36). Cancels, cancel all, settings and agent bindings change
nothing the second time; position TP/SL replaces the legs it set; an edit that was applied
leaves no order under its old id, and one by client order id re-prices the same order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import msgspec

from tidepool.client.calls import (
    Action,
    Answer,
    Batch,
    Number,
    nothing,
    order_ref,
    stop_leg,
    value_of,
    wire_decimal,
)
from tidepool.client.models import ApiKeys, BatchResult, OrderRef, StopLeg

__all__ = [
    "batch_orders",
    "bind_agent_wallet",
    "cancel_all_orders",
    "cancel_order",
    "cancel_stop_order",
    "create_api_key",
    "create_market_order",
    "create_order",
    "create_stop_order",
    "edit_order",
    "list_agent_wallets",
    "list_api_keys",
    "revoke_agent_wallet",
    "revoke_all_agent_wallets",
    "revoke_api_key",
    "set_position_tpsl",
    "update_leverage",
    "update_margin_mode",
]

Side = Literal["bid", "ask"]
Tif = Literal["GTC", "IOC", "ALO", "TOB"]


def _new_client_order_id() -> str:
    return str(uuid.uuid4())


def _legs(
    payload: dict[str, Any], take_profit: StopLeg | None, stop_loss: StopLeg | None
) -> dict[str, Any]:
    if take_profit is not None:
        payload["take_profit"] = stop_leg(take_profit)
    if stop_loss is not None:
        payload["stop_loss"] = stop_leg(stop_loss)
    return payload


def _with(payload: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """`payload` plus the optional fields that were given (absent, not null, on the wire)."""
    payload.update({k: v for k, v in optional.items() if v is not None})
    return payload


def create_order(
    *,
    symbol: str,
    price: Number,
    amount: Number,
    side: Side,
    tif: Tif = "GTC",
    reduce_only: bool = False,
    client_order_id: str | None = None,
    take_profit: StopLeg | None = None,
    stop_loss: StopLeg | None = None,
    builder_code: str | None = None,
) -> Action[OrderRef]:
    """A limit order (POST /orders/create)."""
    cloid = client_order_id or _new_client_order_id()
    payload = {
        "symbol": symbol,
        "price": wire_decimal(price, "price"),
        "amount": wire_decimal(amount, "amount"),
        "side": side,
        "tif": tif,
        "reduce_only": reduce_only,
        "client_order_id": cloid,
    }
    payload = _with(_legs(payload, take_profit, stop_loss), builder_code=builder_code)
    return Action(
        "/orders/create", order_ref(cloid), "create_order", payload, "Create", client_order_id=cloid
    )


def create_market_order(
    *,
    symbol: str,
    amount: Number,
    side: Side,
    slippage_percent: Number,
    reduce_only: bool = False,
    client_order_id: str | None = None,
    take_profit: StopLeg | None = None,
    stop_loss: StopLeg | None = None,
    builder_code: str | None = None,
) -> Action[OrderRef]:
    """A market order: IOC within `slippage_percent` (percent: "0.5" is 0.5 %) of the mark
    (POST /orders/create_market)."""
    cloid = client_order_id or _new_client_order_id()
    payload = {
        "symbol": symbol,
        "amount": wire_decimal(amount, "amount"),
        "side": side,
        "slippage_percent": wire_decimal(slippage_percent, "slippage_percent"),
        "reduce_only": reduce_only,
        "client_order_id": cloid,
    }
    payload = _with(_legs(payload, take_profit, stop_loss), builder_code=builder_code)
    return Action(
        "/orders/create_market",
        order_ref(cloid),
        "create_market_order",
        payload,
        "CreateMarket",
        client_order_id=cloid,
    )


def create_stop_order(
    *,
    symbol: str,
    side: Side,
    stop_order: StopLeg,
    reduce_only: bool = False,
    builder_code: str | None = None,
) -> Action[OrderRef]:
    """A stop order, resting until the trigger price is reached (POST /orders/stop/create).
    Its client order id is the one inside `stop_order`."""
    if stop_order.client_order_id is None:
        stop_order = replace(stop_order, client_order_id=_new_client_order_id())
    payload = {
        "symbol": symbol,
        "side": side,
        "reduce_only": reduce_only,
        "stop_order": stop_leg(stop_order),
    }
    cloid = stop_order.client_order_id
    return Action(
        "/orders/stop/create",
        order_ref(cloid),
        "create_stop_order",
        _with(payload, builder_code=builder_code),
        client_order_id=cloid,
    )


def set_position_tpsl(
    *,
    symbol: str,
    side: Side,
    take_profit: StopLeg | None = None,
    stop_loss: StopLeg | None = None,
    builder_code: str | None = None,
) -> Action[None]:
    """Take profit and/or stop loss on the open position; `side` is the closing side
    (POST /positions/tpsl)."""
    payload = _legs({"symbol": symbol, "side": side}, take_profit, stop_loss)
    return Action(
        "/positions/tpsl",
        nothing,
        "set_position_tpsl",
        _with(payload, builder_code=builder_code),
        "SetPositionTpsl",
    )


def edit_order(
    *,
    symbol: str,
    price: Number,
    amount: Number | None = None,
    order_id: int | None = None,
    client_order_id: str | None = None,
) -> Action[OrderRef]:
    """Cancel-and-replace at a new price (and amount) as a post-only order; the answer is the
    NEW order id (POST /orders/edit)."""
    payload = _with(
        {"symbol": symbol, "price": wire_decimal(price, "price")},
        amount=None if amount is None else wire_decimal(amount, "amount"),
        order_id=order_id,
        client_order_id=client_order_id,
    )
    return Action("/orders/edit", order_ref(client_order_id), "edit_order", payload, "Edit")


def cancel_order(
    *, symbol: str, order_id: int | None = None, client_order_id: str | None = None
) -> Action[None]:
    """Cancel one open order, by exactly one of its ids (POST /orders/cancel)."""
    payload = _with({"symbol": symbol}, order_id=order_id, client_order_id=client_order_id)
    return Action("/orders/cancel", nothing, "cancel_order", payload, "Cancel")


def cancel_all_orders(
    *,
    symbol: str | None = None,
    all_symbols: bool | None = None,
    exclude_reduce_only: bool = False,
) -> Action[int]:
    """Cancel every open order, stops and TP/SL included, of one market or (without `symbol`)
    of all; answers how many were cancelled (POST /orders/cancel_all)."""
    payload = _with(
        {
            "all_symbols": symbol is None if all_symbols is None else all_symbols,
            "exclude_reduce_only": exclude_reduce_only,
        },
        symbol=symbol,
    )
    return Action("/orders/cancel_all", _cancelled_count, "cancel_all_orders", payload)


class _Cancelled(msgspec.Struct, frozen=True):
    cancelled_count: int


_cancelled = value_of(_Cancelled)


def _cancelled_count(answer: Answer) -> int:
    return _cancelled(answer).cancelled_count


def cancel_stop_order(
    *, symbol: str, order_id: int | None = None, client_order_id: str | None = None
) -> Action[None]:
    """Cancel a resting stop order (POST /orders/stop/cancel)."""
    payload = _with({"symbol": symbol}, order_id=order_id, client_order_id=client_order_id)
    return Action("/orders/stop/cancel", nothing, "cancel_stop_order", payload, "CancelStopOrder")


def update_leverage(*, symbol: str, leverage: int) -> Action[None]:
    """POST /account/leverage."""
    payload = {"symbol": symbol, "leverage": leverage}
    return Action("/account/leverage", nothing, "update_leverage", payload)


def update_margin_mode(*, symbol: str, is_isolated: bool) -> Action[None]:
    """POST /account/margin."""
    payload = {"symbol": symbol, "is_isolated": is_isolated}
    return Action("/account/margin", nothing, "update_margin_mode", payload)


def bind_agent_wallet(*, agent_wallet: str) -> Action[None]:
    """Let the agent key `agent_wallet` (a base58 public key) sign for this account
    (POST /agent/bind); signed with the account's own key."""
    payload = {"agent_wallet": agent_wallet}
    return Action("/agent/bind", nothing, "bind_agent_wallet", payload, main_key=True)


def revoke_agent_wallet(*, agent_wallet: str) -> Action[None]:
    """POST /agent/revoke; signed with the account's own key."""
    payload = {"agent_wallet": agent_wallet}
    return Action("/agent/revoke", nothing, "revoke_agent_wallet", payload, main_key=True)


def revoke_all_agent_wallets() -> Action[None]:
    """POST /agent/revoke_all; signed with the account's own key."""
    return Action("/agent/revoke_all", nothing, "revoke_all_agent_wallets", {}, main_key=True)


class _Agents(msgspec.Struct, frozen=True):
    agent_wallets: list[str]


def list_agent_wallets() -> Action[list[str]]:
    """The agent keys bound to the account (POST /agent/list, a signed read)."""
    parse = value_of(_Agents)
    return Action(
        "/agent/list",
        lambda answer: parse(answer).agent_wallets,
        "list_agent_wallets",
        {},
        main_key=True,
    )


def create_api_key() -> Action[str]:
    """A new API config key for the `PF-API-KEY` header (POST /account/api_keys/create)."""
    return Action("/account/api_keys/create", _api_key, "create_api_key", {})


class _ApiKey(msgspec.Struct, frozen=True):
    api_key: str


_api_key_answer = value_of(_ApiKey)


def _api_key(answer: Answer) -> str:
    return _api_key_answer(answer).api_key


def revoke_api_key(*, api_key: str) -> Action[None]:
    """POST /account/api_keys/revoke."""
    return Action("/account/api_keys/revoke", nothing, "revoke_api_key", {"api_key": api_key})


def list_api_keys() -> Action[ApiKeys]:
    """The account's active API config keys and how many it may hold (POST /account/api_keys,
    a signed read)."""
    return Action("/account/api_keys", value_of(ApiKeys), "list_api_keys", {})


class _Results(msgspec.Struct, frozen=True):
    results: list[BatchResult]


_results = value_of(_Results)


def _batch_results(answer: Answer) -> list[BatchResult]:
    return _results(answer).results


def batch_orders(actions: Sequence[Action[Any]]) -> Batch:
    """Up to 10 actions applied in order as one block (POST /orders/batch); business failures
    come back per action. Only actions with a batch type can be batched."""
    for action in actions:
        if action.batch_action is None:
            raise ValueError(f"{action.op_type} cannot be part of a batch")
    return Batch("/orders/batch", _batch_results, tuple(actions))
