"""The signed-request pipeline, in Pacifica's order: deserialize (typed), then signature, then
agent authorisation. Business validation comes after, in the handlers and the engine.

`SIGNED_ROUTES` is the one place that says which body type and operation type each signed path
has: the handlers look themselves up in it, and so do gateway worker processes, which run the
signature work ahead of the engine process (gateway.preverify).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple, TypeVar

import msgspec
from solders.pubkey import Pubkey
from solders.signature import Signature

from tidepool.engine.commands import Auth, SignatureRecord
from tidepool.gateway.context import API, Exchange, Request, Verified, WireError, decode_json_object
from tidepool.gateway.verify import (
    ReplayGuard,
    SignatureCheck,
    SignatureError,
    SignatureUse,
    VerifyPolicy,
    ed25519_check,
    verify_signature,
)
from tidepool.wire.envelope import bad_request, invalid_parameters
from tidepool.wire.requests import (
    AgentWalletRequest,
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

T = TypeVar("T", bound=msgspec.Struct)
S = TypeVar("S", bound=Signed)


class SignedSpec(NamedTuple):
    body: type[Signed]
    op_type: str
    # bind/revoke: `agent_wallet` is the signed subject of the operation, the main key signs.
    agent_is_payload: bool
    # The payload fields of the operation (verify.verify_request's `known_fields`).
    known: frozenset[str]


def _spec(body: type[Signed], op_type: str, agent_is_payload: bool = False) -> SignedSpec:
    known = payload_fields(body) | ({"agent_wallet"} if agent_is_payload else set())
    return SignedSpec(body, op_type, agent_is_payload, known)


SIGNED_ROUTES: dict[str, SignedSpec] = {
    f"{API}/orders/create": _spec(CreateOrderRequest, "create_order"),
    f"{API}/orders/create_market": _spec(CreateMarketOrderRequest, "create_market_order"),
    f"{API}/orders/edit": _spec(EditOrderRequest, "edit_order"),
    f"{API}/orders/cancel": _spec(CancelOrderRequest, "cancel_order"),
    f"{API}/orders/cancel_all": _spec(CancelAllOrdersRequest, "cancel_all_orders"),
    f"{API}/orders/stop/create": _spec(CreateStopOrderRequest, "create_stop_order"),
    f"{API}/orders/stop/cancel": _spec(CancelStopOrderRequest, "cancel_stop_order"),
    f"{API}/positions/tpsl": _spec(SetPositionTpslRequest, "set_position_tpsl"),
    f"{API}/account/leverage": _spec(UpdateLeverageRequest, "update_leverage"),
    f"{API}/account/margin": _spec(UpdateMarginModeRequest, "update_margin_mode"),
    f"{API}/agent/bind": _spec(AgentWalletRequest, "bind_agent_wallet", True),
    f"{API}/agent/revoke": _spec(AgentWalletRequest, "revoke_agent_wallet", True),
    f"{API}/agent/revoke_all": _spec(EmptyPayloadRequest, "revoke_all_agent_wallets"),
    f"{API}/agent/list": _spec(EmptyPayloadRequest, "list_agent_wallets"),
}


def typed(raw: dict[str, Any], struct_type: type[T]) -> T:
    """Convert a decoded body to its struct; a missing or mistyped field is a 400 naming it."""
    try:
        return msgspec.convert(raw, struct_type, strict=True)
    except msgspec.ValidationError as exc:
        raise WireError(invalid_parameters(str(exc))) from None


def authenticate(
    raw: dict[str, Any],
    spec: SignedSpec,
    now_ms: int,
    policy: VerifyPolicy,
    check: SignatureCheck = ed25519_check,
    replay_guard: ReplayGuard | None = None,
) -> tuple[Signed, SignatureUse]:
    """Typed decode and signature check of one signed body: (typed body, the signature that
    verified). Raises WireError with Pacifica's envelope. Agent authorisation is not checked
    here."""
    body = typed(raw, spec.body)
    try:
        use = verify_signature(
            raw,
            spec.op_type,
            now_ms,
            known_fields=spec.known,
            policy=policy,
            replay_guard=replay_guard,
            agent_wallet_is_payload=spec.agent_is_payload,
            check=check,
        )
    except SignatureError as exc:
        raise WireError(bad_request(exc.message, exc.error_id)) from None
    return body, use


def signed_request(ex: Exchange, req: Request, struct_type: type[S]) -> tuple[S, Auth]:
    """Decode, type-check and authenticate the signed POST of `req.path`: the typed body, and
    the `auth` its command carries (see `verify_body`)."""
    spec = SIGNED_ROUTES[req.path]
    if spec.body is not struct_type:  # a handler and the table disagree: a programming error
        raise TypeError(f"{req.path} takes {spec.body.__name__}, not {struct_type.__name__}")
    return verify_body(ex, req, decode_json_object(req.body), spec)  # type: ignore[return-value]


def verify_body(
    ex: Exchange, req: Request, raw: dict[str, Any], spec: SignedSpec
) -> tuple[Signed, Auth]:
    """`signed_request` for a body already parsed (a batch action's `data`), then the agent
    check, which needs the engine and so always runs in the engine's process.

    The `auth` is the signature record the command journals, so that a restart can rebuild
    the replay guard (runtime/replays.py); only the strict profile has a guard, so only it pays
    the ~120 journal bytes per command (docs/wire-decisions.md)."""
    check = ed25519_check if req.verified is None else partial(_preverified, req.verified)
    body, use = authenticate(
        raw, spec, ex.clock.now_ms(), ex.policy, check, replay_guard=ex.replay_guard
    )
    if use.signer != body.account and not ex.engine.is_agent(body.account, use.signer):
        raise WireError(bad_request("Agent not authorized for account", "agent_not_authorized"))
    if ex.replay_guard is None:
        return body, msgspec.UNSET
    return body, SignatureRecord(use.signer, bytes(use.signature), use.expires_at_ms)


def _preverified(
    verified: Verified, signature: Signature, public_key: Pubkey, message: bytes
) -> bool:
    """The verdict of the worker process that received the request: it verified exactly this
    key, signature and message (the same body gives the same candidate messages here)."""
    return (bytes(public_key), bytes(signature), message) in verified
