"""Agent wallet routes (spec §1.4): bind, revoke, revoke all, list. Signed by the main account.

For bind/revoke `agent_wallet` is the signed subject of the operation, not the signer.
The live shape of the list answer is not documented; Tidepool answers
`{"agent_wallets": [<base58>, ...]}` (sorted), and documents that choice.
"""

from __future__ import annotations

from tidepool.engine.commands import BindAgent, RevokeAgent, RevokeAllAgents
from tidepool.gateway.context import Exchange, Request, WireError
from tidepool.gateway.signed import signed_request
from tidepool.pacifica import is_public_key
from tidepool.wire.envelope import (
    Response,
    bad_request,
    invalid_parameters,
    ok,
    ok_or_rejected,
)
from tidepool.wire.requests import AgentWalletRequest, EmptyPayloadRequest


def _agent_of(body: AgentWalletRequest) -> str:
    agent = body.agent_wallet
    if agent is None:
        raise WireError(invalid_parameters("agent_wallet is required"))
    if not is_public_key(agent):
        raise WireError(bad_request("Invalid public key"))
    if agent == body.account:
        raise WireError(invalid_parameters("an account cannot be its own agent"))
    return agent


async def bind(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, AgentWalletRequest)
    agent = _agent_of(body)
    outcome = await ex.sequencer.submit(
        lambda seq, ts: BindAgent(seq=seq, ts_ms=ts, auth=auth, account=body.account, agent=agent)
    )
    return ok_or_rejected(outcome.reject)


async def revoke(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, AgentWalletRequest)
    agent = _agent_of(body)
    outcome = await ex.sequencer.submit(
        lambda seq, ts: RevokeAgent(seq=seq, ts_ms=ts, auth=auth, account=body.account, agent=agent)
    )
    return ok_or_rejected(outcome.reject)


async def revoke_all(ex: Exchange, req: Request) -> Response:
    body, auth = signed_request(ex, req, EmptyPayloadRequest)
    _main_key_only(body.account, body.agent_wallet)
    outcome = await ex.sequencer.submit(
        lambda seq, ts: RevokeAllAgents(seq=seq, ts_ms=ts, auth=auth, account=body.account)
    )
    return ok_or_rejected(outcome.reject)


async def list_agents(ex: Exchange, req: Request) -> Response:
    body, _ = signed_request(ex, req, EmptyPayloadRequest)  # a read: nothing to journal
    _main_key_only(body.account, body.agent_wallet)
    return ok({"agent_wallets": sorted(ex.engine.agents(body.account))})


def _main_key_only(account: str, signer_agent: str | None) -> None:
    """Agent management is for the main key: an agent cannot manage agents."""
    if signer_agent is not None:
        raise WireError(bad_request("Agent not authorized for account", "agent_not_authorized"))
