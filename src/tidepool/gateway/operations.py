"""The operation table: every signed Pacifica operation, declared once (spec §1–2, A9).

A row says everything about one operation: its signed type, its REST path, the typed flat body,
how that body becomes a plain command (gateway.translate), how a REST answer reads the command's
outcome, the `data` of its WebSocket answer (for the operations Pacifica serves over WebSocket,
spec §5.4), the action name under which a batch may hold it, and who may sign it. REST routes
(gateway.app), batch actions (gateway.batch), the signature pre-checks of gateway worker
processes (gateway.preverify) and the WebSocket operations (gateway.ws_trading) all read this
table, and none of them keeps a copy of any of it.

Who may sign:
- by default the account's own key, or an agent wallet bound to it. The command carries the
  agent (`agent_wallet`) and the engine authorizes it when the command is applied;
- `main_key_only`: only the account's own key (agent management; decided from the signature);
- `agent_is_payload` (bind, revoke): `agent_wallet` is the signed subject of the operation, so the
  main key is the signer by construction.

A signed read (`list_agent_wallets`, `list_api_keys`) has no command: `read` answers it from
the engine (gateway.signed authorizes an agent signer of a read against the bound agents).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tidepool.engine.commands import (
    CancelOrder,
    Command,
    CreateMarketOrder,
    CreateOrder,
    EditOrder,
)
from tidepool.engine.events import ApiKeyCreated, Outcome
from tidepool.gateway import translate
from tidepool.gateway.api_keys import list_api_keys
from tidepool.gateway.envelope import OK_EMPTY, Response, ok, rejected
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.request import API
from tidepool.pacifica.requests import (
    AgentWalletRequest,
    ApiKeyRequest,
    CancelAllOrdersRequest,
    CancelOrderRequest,
    CancelStopOrderRequest,
    CreateMarketOrderRequest,
    CreateOrderRequest,
    CreateStopOrderRequest,
    EditOrderRequest,
    EmptyPayloadRequest,
    SetPositionTpslRequest,
    Signed,
    UpdateLeverageRequest,
    UpdateMarginModeRequest,
    payload_fields,
)

Translate = Callable[[Exchange, Any], Command]
Answer = Callable[[Outcome], Response]
Read = Callable[[Exchange, Any], Response]
# The `data` of a successful WebSocket answer, from the command and its (accepted) outcome.
WsAnswer = Callable[[Command, Outcome], dict[str, Any]]


def order_id_answer(outcome: Outcome) -> Response:
    """Creates and edits: `{"order_id": N}`."""
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok({"order_id": outcome.order_id})


def empty_answer(outcome: Outcome) -> Response:
    """Cancels, settings, agents: success without data."""
    return OK_EMPTY if outcome.reject is None else rejected(outcome.reject)


def cancelled_count_answer(outcome: Outcome) -> Response:
    """The cancel-all page's body: a top-level `cancelled_count` next to `data`'s (spec A1)."""
    if outcome.reject is not None:
        return rejected(outcome.reject)
    count = outcome.cancelled_count or 0
    return ok({"cancelled_count": count}, inline={"cancelled_count": count})


def api_key_answer(outcome: Outcome) -> Response:
    """create_api_key: `{"api_key": "<key>"}`, the key its command carried (spec §3.7)."""
    if outcome.reject is not None:
        return rejected(outcome.reject)
    (created,) = (e for e in outcome.events if isinstance(e, ApiKeyCreated))
    return ok({"api_key": created.api_key})


def ws_order_ref(cmd: Command, outcome: Outcome) -> dict[str, Any]:
    """WebSocket creates and edits: `{"I": client order id, "i": the (new) order id, "s"}`."""
    assert isinstance(cmd, CreateOrder | CreateMarketOrder | EditOrder)
    return {"I": cmd.client_order_id, "i": outcome.order_id, "s": cmd.symbol}


def ws_cancel_ref(cmd: Command, outcome: Outcome) -> dict[str, Any]:
    """WebSocket cancel: the order as the request named it (`i` null when by client id)."""
    assert isinstance(cmd, CancelOrder)
    return {"I": cmd.client_order_id, "i": cmd.order_id, "s": cmd.symbol}


def ws_cancelled_count(cmd: Command, outcome: Outcome) -> dict[str, Any]:
    return {"cancelled_count": outcome.cancelled_count or 0}


def list_agent_wallets(ex: Exchange, body: EmptyPayloadRequest) -> Response:
    """`{"agent_wallets": [...]}` sorted; the live shape is not documented (docs)."""
    return ok({"agent_wallets": sorted(ex.engine.agents(body.account))})


@dataclass(frozen=True, slots=True)
class Operation:
    op_type: str
    path: str
    body: type[Signed]
    translate: Translate | None = None
    answer: Answer | None = None
    read: Read | None = None
    batch_action: str | None = None
    ws_answer: WsAnswer | None = None  # None: not a WebSocket operation
    main_key_only: bool = False
    agent_is_payload: bool = False
    # The payload fields: what the signature covers (signing.verify_request's `known_fields`).
    known: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        if (self.translate is None) != (self.answer is None) or (self.translate is None) == (
            self.read is None
        ):
            raise ValueError(f"{self.op_type}: either translate and answer, or read")
        known = payload_fields(self.body) | ({"agent_wallet"} if self.agent_is_payload else set())
        object.__setattr__(self, "known", known)


OPERATIONS: tuple[Operation, ...] = (
    Operation("create_order", f"{API}/orders/create", CreateOrderRequest,
              translate.create_order, order_id_answer, batch_action="Create",
              ws_answer=ws_order_ref),
    Operation("create_market_order", f"{API}/orders/create_market", CreateMarketOrderRequest,
              translate.create_market_order, order_id_answer, batch_action="CreateMarket",
              ws_answer=ws_order_ref),
    Operation("edit_order", f"{API}/orders/edit", EditOrderRequest,
              translate.edit_order, order_id_answer, batch_action="Edit",
              ws_answer=ws_order_ref),
    Operation("cancel_order", f"{API}/orders/cancel", CancelOrderRequest,
              translate.cancel_order, empty_answer, batch_action="Cancel",
              ws_answer=ws_cancel_ref),
    Operation("cancel_all_orders", f"{API}/orders/cancel_all", CancelAllOrdersRequest,
              translate.cancel_all_orders, cancelled_count_answer,
              ws_answer=ws_cancelled_count),
    Operation("create_stop_order", f"{API}/orders/stop/create", CreateStopOrderRequest,
              translate.create_stop_order, order_id_answer),
    Operation("cancel_stop_order", f"{API}/orders/stop/cancel", CancelStopOrderRequest,
              translate.cancel_stop_order, empty_answer, batch_action="CancelStopOrder"),
    Operation("set_position_tpsl", f"{API}/positions/tpsl", SetPositionTpslRequest,
              translate.set_position_tpsl, empty_answer, batch_action="SetPositionTpsl"),
    Operation("update_leverage", f"{API}/account/leverage", UpdateLeverageRequest,
              translate.update_leverage, empty_answer),
    Operation("update_margin_mode", f"{API}/account/margin", UpdateMarginModeRequest,
              translate.update_margin_mode, empty_answer),
    Operation("bind_agent_wallet", f"{API}/agent/bind", AgentWalletRequest,
              translate.bind_agent_wallet, empty_answer, agent_is_payload=True),
    Operation("revoke_agent_wallet", f"{API}/agent/revoke", AgentWalletRequest,
              translate.revoke_agent_wallet, empty_answer, agent_is_payload=True),
    Operation("revoke_all_agent_wallets", f"{API}/agent/revoke_all", EmptyPayloadRequest,
              translate.revoke_all_agent_wallets, empty_answer, main_key_only=True),
    Operation("list_agent_wallets", f"{API}/agent/list", EmptyPayloadRequest,
              read=list_agent_wallets, main_key_only=True),
    # API config keys: an agent may sign them (Hummingbot's connector does, at start-up).
    Operation("create_api_key", f"{API}/account/api_keys/create", EmptyPayloadRequest,
              translate.create_api_key, api_key_answer),
    Operation("revoke_api_key", f"{API}/account/api_keys/revoke", ApiKeyRequest,
              translate.revoke_api_key, empty_answer),
    Operation("list_api_keys", f"{API}/account/api_keys", EmptyPayloadRequest,
              read=list_api_keys),
)  # fmt: skip

BY_PATH: dict[str, Operation] = {op.path: op for op in OPERATIONS}
BY_BATCH_ACTION: dict[str, Operation] = {
    op.batch_action: op for op in OPERATIONS if op.batch_action is not None
}
