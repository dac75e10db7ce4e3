"""CreateOrder and CreateMarketOrder: validate (risk.py), accept, attach TP/SL legs
(stops.py), execute against the book (execution.py, where the matching semantics are), then
trigger whatever stop orders the trades made due.

- Limit orders: tif GTC / IOC / ALO / TOB as execution.py describes.
- Market orders (spec §2.2) are IOC limit orders whose limit is the mark moved against the
  taker by `slippage_percent` (bids round down, asks up, to the tick; never below one tick);
  order type `market`. Nothing on the opposite side within that limit: error 25, no order.
- Attached `take_profit` / `stop_loss` legs are checked with the order (400, 36) and accepted
  right after it (ids parent, TP, SL), so a rejected create creates no leg either.
- Outcome: `order_id` of the accepted order.
"""

from __future__ import annotations

from tidepool.domain.errors import Reject
from tidepool.engine.commands import CreateMarketOrder, CreateOrder
from tidepool.engine.events import Outcome
from tidepool.engine.execution import execute
from tidepool.engine.lifecycle import Step, accept, close_incoming
from tidepool.engine.risk import check_create, check_market
from tidepool.engine.state import EngineState
from tidepool.engine.stops import add_legs, check_legs, run_triggers


def create_order(state: EngineState, cmd: CreateOrder) -> Outcome:
    plan = check_create(state, cmd)
    has_legs = cmd.take_profit is not None or cmd.stop_loss is not None
    if has_legs and not isinstance(plan, Reject):
        legs = [cmd.take_profit, cmd.stop_loss]
        plan = check_legs(state, cmd.account, legs, cmd.client_order_id) or plan
    if isinstance(plan, Reject):
        return Outcome(events=[], reject=plan)
    step = Step(cmd.seq, cmd.ts_ms)
    order = accept(
        state,
        step,
        account=cmd.account,
        symbol=cmd.symbol,
        side=cmd.side,
        price_ticks=plan.price_ticks,
        initial_lots=cmd.size_lots,
        tif=cmd.tif,
        reduce_only=cmd.reduce_only,
        client_order_id=cmd.client_order_id,
    )
    if has_legs:
        add_legs(state, step, order, cmd.take_profit, cmd.stop_loss)
    if plan.post_only_reject:
        close_incoming(state, step, order, "rejected", "post_only_rejected", "post_only_rejected")
    else:
        execute(state, step, order)
    run_triggers(state, step, cmd.symbol)
    return Outcome(events=step.events, order_id=order.order_id)


def create_market_order(state: EngineState, cmd: CreateMarketOrder) -> Outcome:
    limit = check_market(state, cmd)
    if not isinstance(limit, Reject):
        legs = [cmd.take_profit, cmd.stop_loss]
        limit = check_legs(state, cmd.account, legs, cmd.client_order_id) or limit
    if isinstance(limit, Reject):
        return Outcome(events=[], reject=limit)
    step = Step(cmd.seq, cmd.ts_ms)
    order = accept(
        state,
        step,
        account=cmd.account,
        symbol=cmd.symbol,
        side=cmd.side,
        price_ticks=limit,
        initial_lots=cmd.size_lots,
        tif="IOC",
        reduce_only=cmd.reduce_only,
        client_order_id=cmd.client_order_id,
        order_type="market",
    )
    add_legs(state, step, order, cmd.take_profit, cmd.stop_loss)
    execute(state, step, order)
    run_triggers(state, step, cmd.symbol)
    return Outcome(events=step.events, order_id=order.order_id)
