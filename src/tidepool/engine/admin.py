"""Collateral, mark price and agent-wallet commands: Faucet, SetMarkPrice, BindAgent,
RevokeAgent, RevokeAllAgents.

Invariants:
- Faucet credits a positive amount and adds it to `faucet_total` (I9's deposit side).
- The mark of a known market is always > 0 after SetMarkPrice; it only moves by this command,
  which then triggers the market's mark-price stop orders (stops.py).
- An account's agents are a set; binding a bound agent is a no-op success (event re-emitted);
  revoking an agent that is not bound is a 400 rejection with state unchanged; revoke-all
  emits one AgentRevoked per agent, sorted, and succeeds with none.
- A command signed by an agent (`agent_wallet` set) is applied only while that agent is bound
  to its account (`unauthorized`), checked when the command is applied, not when it arrived.
"""

from __future__ import annotations

from msgspec import UNSET

from tidepool.domain.errors import AGENT_NOT_AUTHORIZED, Reject, book_not_found
from tidepool.engine.commands import (
    BindAgent,
    Command,
    Faucet,
    RevokeAgent,
    RevokeAllAgents,
    SetMarkPrice,
)
from tidepool.engine.events import AgentBound, AgentRevoked, BalanceChanged, MarkPriceSet, Outcome
from tidepool.engine.lifecycle import Step
from tidepool.engine.state import EngineState
from tidepool.engine.stops import run_triggers


def unauthorized(state: EngineState, cmd: Command) -> Outcome | None:
    """The rejection of a command signed by an agent not bound to its account, else None."""
    agent = cmd.agent_wallet
    if agent is UNSET:
        return None
    account = state.accounts.get(getattr(cmd, "account", ""))
    if account is not None and agent in account.agents:
        return None
    return Outcome(events=[], reject=AGENT_NOT_AUTHORIZED)


def invalid(what: str) -> Outcome:
    """A 400 rejection of a sandbox command's value (also engine/cheats.py)."""
    return Outcome(events=[], reject=Reject(400, f"Invalid parameters: {what}", 400))


def faucet(state: EngineState, step: Step, cmd: Faucet) -> Outcome:
    if not cmd.amount.is_finite() or cmd.amount <= 0:
        return invalid("faucet amount must be positive")
    account = state.account(cmd.account)
    account.balance += cmd.amount
    state.faucet_total += cmd.amount
    event = BalanceChanged(
        seq=cmd.seq,
        ts_ms=cmd.ts_ms,
        account=cmd.account,
        delta=cmd.amount,
        balance=account.balance,
        reason="faucet",
    )
    return Outcome(events=[event])


def mark_refused(state: EngineState, cmd: SetMarkPrice) -> Outcome | None:
    """The rejection of a mark the state cannot take, else None (SetMarkPrices checks every
    mark with it before it sets any)."""
    if cmd.symbol not in state.markets:
        return Outcome(events=[], reject=book_not_found(cmd.symbol))
    if not cmd.price.is_finite() or cmd.price <= 0:
        return invalid("mark price must be positive")
    return None


def set_mark_price(state: EngineState, step: Step, cmd: SetMarkPrice) -> Outcome:
    if refused := mark_refused(state, cmd):
        return refused
    state.set_mark(cmd.symbol, cmd.price)
    step.events.append(
        MarkPriceSet(seq=cmd.seq, ts_ms=cmd.ts_ms, symbol=cmd.symbol, price=cmd.price)
    )
    run_triggers(state, step, cmd.symbol)  # mark-price stops, TP and SL
    return Outcome(events=step.events)


def bind_agent(state: EngineState, step: Step, cmd: BindAgent) -> Outcome:
    state.account(cmd.account).agents.add(cmd.agent)
    return Outcome(
        events=[AgentBound(seq=cmd.seq, ts_ms=cmd.ts_ms, account=cmd.account, agent=cmd.agent)]
    )


def revoke_agent(state: EngineState, step: Step, cmd: RevokeAgent) -> Outcome:
    account = state.accounts.get(cmd.account)
    if account is None or cmd.agent not in account.agents:
        message = f"Agent {cmd.agent} is not bound to account {cmd.account}"
        return Outcome(events=[], reject=Reject(400, message, 400, "agent_not_found"))
    account.agents.discard(cmd.agent)
    return Outcome(
        events=[AgentRevoked(seq=cmd.seq, ts_ms=cmd.ts_ms, account=cmd.account, agent=cmd.agent)]
    )


def revoke_all_agents(state: EngineState, step: Step, cmd: RevokeAllAgents) -> Outcome:
    account = state.accounts.get(cmd.account)
    if account is None:
        return Outcome(events=[])
    agents = sorted(account.agents)
    account.agents.clear()
    return Outcome(
        events=[
            AgentRevoked(seq=cmd.seq, ts_ms=cmd.ts_ms, account=cmd.account, agent=agent)
            for agent in agents
        ]
    )
