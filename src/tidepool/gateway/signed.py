"""The signed-request path, in Pacifica's order: deserialize (typed), then the signature, then
translation into a plain command that says who signed it. Business validation, and the
authorization of an agent signer, happen when the engine applies the command.

Every signed operation goes through here with its row of the operation table
(gateway.operations): a REST route (`route`), each action of a batch, and the worker
processes' signature pre-checks (`authenticate` alone, gateway.preverify).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, NamedTuple, TypeVar

import msgspec
from msgspec import UNSET, UnsetType
from msgspec.structs import replace
from solders.pubkey import Pubkey
from solders.signature import Signature

from tidepool.domain.errors import AGENT_NOT_AUTHORIZED
from tidepool.engine.commands import Auth, Command, SignatureRecord
from tidepool.gateway.envelope import Response, bad_request, invalid_parameters, rejected
from tidepool.gateway.errors import AgentNotAuthorized, InvalidSigner, SignatureRefused, WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.explain import explain
from tidepool.gateway.operations import Operation
from tidepool.gateway.request import Request, Verified, decode_json_object
from tidepool.gateway.verify import (
    ReplayGuard,
    SignatureCheck,
    SignatureError,
    SignatureUse,
    VerifyPolicy,
    ed25519_check,
    verify_signature,
)
from tidepool.pacifica import INVALID_PUBLIC_KEY
from tidepool.pacifica.requests import Signed

T = TypeVar("T", bound=msgspec.Struct)


def typed(raw: dict[str, Any], struct_type: type[T]) -> T:
    """Convert a decoded body to its struct; a missing or mistyped field is a 400 naming it."""
    try:
        return msgspec.convert(raw, struct_type, strict=True)
    except msgspec.ValidationError as exc:
        raise WireError(invalid_parameters(str(exc))) from None


def authenticate(
    raw: dict[str, Any],
    op: Operation,
    now_ms: int,
    policy: VerifyPolicy,
    check: SignatureCheck = ed25519_check,
    replay_guard: ReplayGuard | None = None,
) -> tuple[Signed, SignatureUse]:
    """Typed decode and signature check of one signed body: (typed body, the signature that
    verified). Raises WireError with Pacifica's envelope."""
    body = typed(raw, op.body)
    try:
        use = verify_signature(
            raw,
            op.op_type,
            now_ms,
            known_fields=op.known,
            policy=policy,
            replay_guard=replay_guard,
            agent_wallet_is_payload=op.agent_is_payload,
            check=check,
        )
    except SignatureError as exc:
        refusal = InvalidSigner if exc.message == INVALID_PUBLIC_KEY else SignatureRefused
        raise refusal(bad_request(exc.message, exc.error_id)) from None
    return body, use


class Signer(NamedTuple):
    """Who signed a body, as its command carries it: the agent wallet (UNSET: the account's own
    key) and, under the strict profile, the signature record (server/replays.py)."""

    agent_wallet: str | UnsetType
    auth: Auth


_MAIN_KEY = Signer(UNSET, UNSET)


def verify(ex: Exchange, req: Request, raw: dict[str, Any], op: Operation) -> tuple[Signed, Signer]:
    """Authenticate one signed body of `req` (the request's own, or a batch action's `data`)."""
    check = ed25519_check if req.verified is None else partial(_preverified, req.verified)
    trace = req.trace
    if trace is not None:
        account = raw.get("account")
        trace.account = account if isinstance(account, str) else None
    try:
        body, use = authenticate(
            raw, op, ex.clock.now_ms(), ex.policy, check, replay_guard=ex.replay_guard
        )
    except SignatureRefused as exc:
        if ex.explain_auth and trace is not None:
            # The wire message is the check that failed (this is the failure path only).
            failed = msgspec.json.decode(exc.response.body)["error"]
            trace.auth = explain(ex, raw, op, failed)
        raise
    agent: str | UnsetType = UNSET if use.signer == body.account else use.signer
    if agent is not UNSET and op.main_key_only:
        raise AgentNotAuthorized(rejected(AGENT_NOT_AUTHORIZED))
    if ex.replay_guard is None:
        return body, _MAIN_KEY if agent is UNSET else Signer(agent, UNSET)
    record = SignatureRecord(use.signer, bytes(use.signature), use.expires_at_ms)
    return body, Signer(agent, record)


def command(ex: Exchange, req: Request, raw: dict[str, Any], op: Operation) -> Command:
    """The plain command of one signed body: authenticated, translated, and carrying who signed
    it. An agent signer is authorized by the engine when it applies the command."""
    assert op.translate is not None
    body, signer = verify(ex, req, raw, op)
    cmd = op.translate(ex, body)
    if signer is _MAIN_KEY:
        return cmd
    return replace(cmd, agent_wallet=signer.agent_wallet, auth=signer.auth)


def route(op: Operation) -> Callable[[Exchange, Request], Awaitable[Response]]:
    """The REST handler of a signed operation: one command through the pipeline, its answer."""

    async def handle(ex: Exchange, req: Request) -> Response:
        raw = decode_json_object(req.body)
        if op.read is not None:
            body, signer = verify(ex, req, raw, op)
            # No command, so no engine to authorize an agent signer: checked here, on the
            # agents bound now, as the engine would.
            agent = signer.agent_wallet
            if isinstance(agent, str) and not ex.engine.is_agent(body.account, agent):
                raise AgentNotAuthorized(rejected(AGENT_NOT_AUTHORIZED))
            return op.read(ex, body)
        assert op.answer is not None
        cmd = command(ex, req, raw, op)
        outcome = await ex.pipeline.submit(cmd)
        if req.trace is not None:
            named = getattr(cmd, "order_id", None)  # a cancel's or an edit's order
            req.trace.order_id = outcome.order_id if outcome.order_id is not None else named
        return op.answer(outcome)

    handle.__name__ = op.op_type
    return handle


def _preverified(
    verified: Verified, signature: Signature, public_key: Pubkey, message: bytes
) -> bool:
    """The verdict of the worker process that received the request: it verified exactly this
    key, signature and message (the same body gives the same candidate messages here)."""
    return (bytes(public_key), bytes(signature), message) in verified
