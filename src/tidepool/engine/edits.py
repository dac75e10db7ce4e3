"""EditOrder: Pacifica's cancel-and-replace (spec §2.8).

Semantics:
- The target is the account's RESTING order in the symbol, by order id or client order id
  (stop orders that have not triggered cannot be edited). Anything else is 422 code 6
  "Order not found", state unchanged.
- The replacement gets a NEW order id, keeps side, reduce-only flag and client order id (the
  client id now names the new order), and is posted as ALO at the new price: it joins the back
  of its level (I5). `size_lots` None keeps the old remaining size.
- Checks run before anything changes, as for a create, but with the old order's margin and
  open-order slot counted as free: 400, 30 band, 7/8, 10, 23/21/22 or 5. If the new price would
  take, the replacement is accepted and then rejected `post_only_rejected`, exactly like an
  ALO create; the old order stays cancelled (the edit itself succeeded).
- TP/SL legs attached to the old order that are still waiting for its first fill are handed
  to the replacement (their `stop_parent_order_id` becomes the new id).
- Events: OrderCancelled(reason="edit") of the old order (history event `cancel`), then
  OrderAccepted of the new one; Outcome.order_id is the new id.
"""

from __future__ import annotations

from tidepool.domain.errors import ORDER_NOT_FOUND_ON_EDIT, Reject
from tidepool.engine.cancels import find_resting
from tidepool.engine.commands import EditOrder
from tidepool.engine.events import Outcome
from tidepool.engine.lifecycle import Step, accept, cancel_resting, close_incoming, rest
from tidepool.engine.orders import Order
from tidepool.engine.risk import check_band, check_order, invalid, plan_price
from tidepool.engine.state import EngineState


def edit_order(state: EngineState, step: Step, cmd: EditOrder) -> Outcome:
    old = find_resting(state, cmd.account, cmd.symbol, cmd.order_id, cmd.client_order_id)
    if old is None:
        return Outcome(events=[], reject=ORDER_NOT_FOUND_ON_EDIT)
    size = old.remaining_lots if cmd.size_lots is None else cmd.size_lots
    reject = _check(state, cmd, old, size)
    if reject is not None:
        return Outcome(events=[], reject=reject)
    _, post_only_reject = plan_price(state.books[cmd.symbol], old.is_bid, cmd.price_ticks, "ALO")
    legs = state.legs.pop(old.order_id, [])  # TP/SL legs waiting for a fill move to the new order
    cancel_resting(state, step, old, "cancelled", "edit", "cancel")
    new = Order(
        0,  # accept() gives it its id
        old.account,
        old.symbol,
        old.side,
        cmd.price_ticks,
        size,
        "ALO",
        old.reduce_only,
        old.client_order_id,
        cmd.ts_ms,
    )
    accept(state, step, new)
    for leg_id in legs:
        state.orders[leg_id].parent_id = new.order_id
    if legs:
        state.legs[new.order_id] = legs
    if post_only_reject:
        close_incoming(state, step, new, "rejected", "post_only_rejected", "post_only_rejected")
    else:
        rest(state, step, new)
    return Outcome(events=step.events, order_id=new.order_id)


def _check(state: EngineState, cmd: EditOrder, old: Order, size: int) -> Reject | None:
    if cmd.price_ticks <= 0 or size <= 0:
        return invalid("price and amount must be positive")
    spec = state.markets[cmd.symbol]
    units = cmd.price_ticks * size
    return check_band(state, spec, cmd.price_ticks) or check_order(
        state,
        old.account,
        state.accounts[old.account],
        old.symbol,
        old.side,
        size,
        old.reduce_only,
        units * state.quanta[old.symbol].unit,
        1,
        units,
        old,
    )
