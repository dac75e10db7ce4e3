"""The sandbox's cheat commands: SetBalance, SetMarkPrices, SetClock, TakeSnapshot,
RevertSnapshot, ResetState (Faucet and SetMarkPrice are in admin.py).

Each is journaled like any command, so a restart or a kill -9 replays it, and a revert or a
reset is as durable as an order.

Invariants:
- A rejected cheat changes nothing; SetMarkPrices and ResetState check every part before they
  change anything (all or nothing).
- SetBalance keeps collateral conservation (I9): the difference is a deposit or a withdrawal,
  counted in `faucet_total`.
- SetClock never moves the clock back: the new time is at least the command's own ts_ms (the
  server time when it was stamped), so the journal's stamps stay in order.
- After RevertSnapshot(N) the state is the one TakeSnapshot gave id N, byte for byte (same
  state hash, same order ids to come: the same commands after a revert give the same answers);
  snapshot N and every later one are dropped (as anvil does), ids are never reused.
- ResetState gives the state of a new state dir whose dev accounts were just funded: the same
  state hash as a new server with the same seed.
- Reverts and resets keep the sandbox store (engine/sandbox.py says why). The state they
  replace is not freed while they are applied but parked for the runtime (engine/teardown.py).
"""

from __future__ import annotations

from msgspec.structs import replace

from tidepool.domain.errors import Reject
from tidepool.engine import admin, snapshot, teardown
from tidepool.engine.commands import (
    ResetState,
    RevertSnapshot,
    SetBalance,
    SetClock,
    SetMarkPrices,
    TakeSnapshot,
)
from tidepool.engine.events import BalanceChanged, Event, Outcome, StateReplaced
from tidepool.engine.lifecycle import Step
from tidepool.engine.sandbox import MAX_TIME_MS, ClockMark
from tidepool.engine.state import EngineState


def set_balance(state: EngineState, step: Step, cmd: SetBalance) -> Outcome:
    if not cmd.balance.is_finite() or cmd.balance < 0:
        return admin.invalid("balance must be at least 0")
    account = state.account(cmd.account)
    delta = cmd.balance - account.balance
    account.balance = cmd.balance
    state.faucet_total += delta
    event = BalanceChanged(
        seq=cmd.seq,
        ts_ms=cmd.ts_ms,
        account=cmd.account,
        delta=delta,
        balance=account.balance,
        reason="set_balance",
    )
    return Outcome(events=[event])


def set_mark_prices(state: EngineState, step: Step, cmd: SetMarkPrices) -> Outcome:
    """Each mark as SetMarkPrice sets it (its triggers run before the next mark is set)."""
    marks = [replace(m, seq=cmd.seq, ts_ms=cmd.ts_ms) for m in cmd.marks]
    if not marks:
        return admin.invalid("no marks to set")
    for mark in marks:
        if refused := admin.mark_refused(state, mark):
            return refused
    for mark in marks:
        admin.set_mark_price(state, step, mark)
    return Outcome(events=step.events)


def set_clock(state: EngineState, step: Step, cmd: SetClock) -> Outcome:
    now = cmd.set_ms if cmd.set_ms is not None else cmd.ts_ms + cmd.advance_ms
    if now < cmd.ts_ms:
        return admin.invalid(
            f"time never goes backwards: {now} is before the server time {cmd.ts_ms}"
        )
    if now > MAX_TIME_MS:
        return admin.invalid(f"time {now} is after {MAX_TIME_MS} (year 9999)")
    previous = state.sandbox.clock
    frozen = cmd.frozen if cmd.frozen is not None else previous is not None and previous.frozen
    state.sandbox.clock = ClockMark(now, cmd.wall_ms, frozen)
    return Outcome(events=[])


def take_snapshot(state: EngineState, step: Step, cmd: TakeSnapshot) -> Outcome:
    store = state.sandbox
    store.last_snapshot_id += 1
    store.snapshots[store.last_snapshot_id] = snapshot.encode(state, sandbox=False)
    return Outcome(events=[], snapshot_id=store.last_snapshot_id)


def revert_snapshot(state: EngineState, step: Step, cmd: RevertSnapshot) -> Outcome:
    store = state.sandbox
    data = store.snapshots.get(cmd.snapshot_id)
    if data is None:
        return Outcome(
            events=[],
            reject=Reject(
                404,
                f"Snapshot {cmd.snapshot_id} not found (never taken, or dropped by a revert "
                "to it or to an earlier one)",
                404,
                "snapshot_not_found",
            ),
        )
    store.snapshots = {i: s for i, s in store.snapshots.items() if i < cmd.snapshot_id}
    _adopt(state, snapshot.decode(data))
    return Outcome(events=[StateReplaced(seq=cmd.seq, ts_ms=cmd.ts_ms, reason="revert")])


def reset_state(state: EngineState, step: Step, cmd: ResetState) -> Outcome:
    credits = [replace(f, seq=cmd.seq, ts_ms=cmd.ts_ms) for f in cmd.fund]
    if any(not f.amount.is_finite() or f.amount <= 0 for f in credits):
        return admin.invalid("every reset credit must be positive")
    _adopt(state, EngineState(list(state.markets.values()), state.config))
    events: list[Event] = [StateReplaced(seq=cmd.seq, ts_ms=cmd.ts_ms, reason="reset")]
    for credit in credits:
        events += admin.faucet(state, step, credit).events
    return Outcome(events=events)


def _adopt(state: EngineState, other: EngineState) -> None:
    """Make `state` (the object the Engine and every handler hold) hold what `other` holds,
    every derived index included, keeping its own sandbox store. What it held moves to a shell
    parked in `state.replaced`, for the runtime to free in pieces (engine/teardown.py); one
    parked earlier and never taken (no runtime: a replay at boot or in a tool, tests) is freed
    here first, at once."""
    if state.replaced is not None:
        teardown.free(state.replaced)
    old = EngineState.__new__(EngineState)
    vars(old).update(vars(state))
    old.replaced = None
    vars(state).update(vars(other))
    state.sandbox = old.sandbox
    state.replaced = old
