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
from tidepool.engine.commands import CreateMarketOrder, CreateOrder, StopLeg
from tidepool.engine.events import Outcome
from tidepool.engine.execution import execute
from tidepool.engine.lifecycle import REPLAYED, Step, accept, close_incoming
from tidepool.engine.orders import Order
from tidepool.engine.risk import check_create, check_market
from tidepool.engine.state import EngineState
from tidepool.engine.stops import add_legs, check_legs, run_triggers


def create_order(state: EngineState, step: Step, cmd: CreateOrder) -> Outcome:
    plan = check_create(state, cmd)
    if isinstance(plan, Reject):
        return Outcome(events=[], reject=plan)
    price_ticks, post_only_reject = plan
    return _place(state, step, cmd, price_ticks, cmd.tif, "limit", post_only_reject)


def create_market_order(state: EngineState, step: Step, cmd: CreateMarketOrder) -> Outcome:
    limit = check_market(state, cmd)
    if isinstance(limit, Reject):
        return Outcome(events=[], reject=limit)
    return _place(state, step, cmd, limit, "IOC", "market", False)


def _place(
    state: EngineState,
    step: Step,
    cmd: CreateOrder | CreateMarketOrder,
    price_ticks: int,
    tif: str,
    order_type: str,
    post_only_reject: bool,
) -> Outcome:
    """Check the attached legs last (400, 36), then accept the checked order with its legs,
    execute it, and trigger what came due."""
    tp: StopLeg | None = cmd.take_profit
    sl: StopLeg | None = cmd.stop_loss
    if tp is not None or sl is not None:
        reject = check_legs(state, cmd.account, [tp, sl], cmd.client_order_id)
        if reject is not None:
            return Outcome(events=[], reject=reject)
    order = Order(
        0,  # accept() gives it its id
        cmd.account,
        cmd.symbol,
        cmd.side,
        price_ticks,
        cmd.size_lots,
        tif,
        cmd.reduce_only,
        cmd.client_order_id,
        cmd.ts_ms,
        order_type,
    )
    accept(state, step, order)
    if tp is not None or sl is not None:
        add_legs(state, step, order, tp, sl)
    if post_only_reject:
        close_incoming(state, step, order, "rejected", "post_only_rejected", "post_only_rejected")
    else:
        execute(state, step, order)
    run_triggers(state, step, cmd.symbol)
    if step.quiet:
        return REPLAYED
    return Outcome(events=step.events, order_id=order.order_id)
