"""The signed-request pipeline, in Pacifica's order: deserialize (typed), then signature, then
agent authorisation. Business validation comes after, in the handlers and the engine.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from tidepool.gateway.context import Exchange, Request, WireError, decode_json_object
from tidepool.signing import SignatureError, verify_request
from tidepool.wire.envelope import bad_request, invalid_parameters
from tidepool.wire.requests import Signed, payload_fields

T = TypeVar("T", bound=msgspec.Struct)
S = TypeVar("S", bound=Signed)

_known_fields: dict[type[msgspec.Struct], frozenset[str]] = {}


def typed(raw: dict[str, Any], struct_type: type[T]) -> T:
    """Convert a decoded body to its struct; a missing or mistyped field is a 400 naming it."""
    try:
        return msgspec.convert(raw, struct_type, strict=True)
    except msgspec.ValidationError as exc:
        raise WireError(invalid_parameters(str(exc))) from None


def signed_request(
    ex: Exchange,
    req: Request,
    struct_type: type[S],
    op_type: str,
    *,
    agent_is_payload: bool = False,
) -> S:
    """Decode, type-check and authenticate a signed POST; returns the typed body.

    `agent_is_payload` is for bind/revoke, where `agent_wallet` is the signed subject of the
    operation and the main account is the signer.
    """
    return verify_body(
        ex, decode_json_object(req.body), struct_type, op_type, agent_is_payload=agent_is_payload
    )


def verify_body(
    ex: Exchange,
    raw: dict[str, Any],
    struct_type: type[S],
    op_type: str,
    *,
    agent_is_payload: bool = False,
) -> S:
    """`signed_request` for a body already parsed (a batch action's `data`)."""
    body = typed(raw, struct_type)
    known = _known_fields.get(struct_type)
    if known is None:
        known = _known_fields[struct_type] = payload_fields(struct_type)
    if agent_is_payload:
        known = known | {"agent_wallet"}
    try:
        signer = verify_request(
            raw,
            op_type,
            ex.clock.now_ms(),
            known_fields=known,
            policy=ex.policy,
            replay_guard=ex.replay_guard,
            agent_wallet_is_payload=agent_is_payload,
        )
    except SignatureError as exc:
        raise WireError(bad_request(exc.message, exc.error_id)) from None
    if signer != body.account and not ex.engine.is_agent(body.account, signer):
        raise WireError(bad_request("Agent not authorized for account", "agent_not_authorized"))
    return body
