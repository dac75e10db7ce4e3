"""CancelOrder and CancelAllOrders.

Semantics (spec §2.5, §2.6, A1, A6):
- CancelOrder finds the OPEN order by `order_id`, or by `client_order_id` of this account,
  that belongs to this account AND this symbol. Anything else (unknown, another account's,
  other symbol, filled, cancelled, rejected) is ORDER_NOT_FOUND_ON_CANCEL with state unchanged
  (I7). Success: `Outcome(order_id=..., events=[OrderCancelled(reason="cancel")])`.
- CancelAllOrders cancels the account's resting orders in one symbol (or all when `symbol`
  is None), ascending order id, then its pending stop / TP / SL orders (spec A6);
  `exclude_reduce_only` keeps every reduce-only order, TP/SL legs included (a leg whose
  parent is cancelled before any fill goes with it). Cost is O(orders of the account in
  scope) through the per-account indexes, never O(book). `cancelled_count` counts every
  order removed; 0 is a success.
"""

from __future__ import annotations

from tidepool.domain.errors import ORDER_NOT_FOUND_ON_CANCEL, book_not_found
from tidepool.engine.commands import CancelAllOrders, CancelOrder
from tidepool.engine.events import OrderCancelled, Outcome
from tidepool.engine.lifecycle import Step, cancel_pending, cancel_resting
from tidepool.engine.orders import Order
from tidepool.engine.state import EngineState


def cancel_order(state: EngineState, cmd: CancelOrder) -> Outcome:
    # find_resting, written out: this is the hottest command.
    order_id = cmd.order_id
    account = cmd.account
    cloid = cmd.client_order_id
    if cloid is not None:
        by_cloid = state.cloids.get((account, cloid))
        if by_cloid is None or (order_id is not None and order_id != by_cloid):
            return Outcome(events=[], reject=ORDER_NOT_FOUND_ON_CANCEL)
        order_id = by_cloid
    order = None if order_id is None else state.orders.get(order_id)
    if (
        order is None
        or order.level is None  # not resting (see find_resting)
        or order.account != account
        or order.symbol != cmd.symbol
    ):
        return Outcome(events=[], reject=ORDER_NOT_FOUND_ON_CANCEL)
    step = Step(cmd.seq, cmd.ts_ms)
    cancel_resting(state, step, order, "cancelled", "cancel", "cancel")
    return Outcome(events=step.events, order_id=order.order_id)


def find_resting(
    state: EngineState, account: str, symbol: str, order_id: int | None, cloid: str | None
) -> Order | None:
    """The account's order on the `symbol` book with that id / client id (the newest order of
    that client id: an edit's replacement takes it over), or None.

    Between commands an order is on the book iff it has a price level: an open order that is
    neither a pending stop nor resting exists only while the command that took it in runs."""
    order = find_order(state, account, symbol, order_id, cloid)
    return order if order is not None and order.level is not None else None


def find_order(
    state: EngineState, account: str, symbol: str, order_id: int | None, cloid: str | None
) -> Order | None:
    """The account's order in `symbol` by id or client id (both must agree), in any state."""
    if cloid is not None:
        by_cloid = state.cloids.get((account, cloid))
        if by_cloid is None or (order_id is not None and order_id != by_cloid):
            return None
        order_id = by_cloid
    if order_id is None:
        return None
    order = state.orders.get(order_id)
    if order is None or order.account != account or order.symbol != symbol:
        return None
    return order


def cancel_all_orders(state: EngineState, cmd: CancelAllOrders) -> Outcome:
    if cmd.symbol is not None and cmd.symbol not in state.markets:
        return Outcome(events=[], reject=book_not_found(cmd.symbol))
    account = state.accounts.get(cmd.account)
    if account is None:
        return Outcome(events=[], cancelled_count=0)
    scope = account.open_ids if cmd.symbol is None else account.open_by_symbol.get(cmd.symbol, {})
    resting = [state.orders[order_id] for order_id in sorted(scope)]
    pending = [state.orders[order_id] for order_id in account.stop_ids]
    if cmd.symbol is not None:
        pending = [order for order in pending if order.symbol == cmd.symbol]
    if cmd.exclude_reduce_only:
        resting = [order for order in resting if not order.reduce_only]
        pending = [order for order in pending if not order.reduce_only]
    step = Step(cmd.seq, cmd.ts_ms)
    for order in resting:
        cancel_resting(state, step, order, "cancelled", "cancel", "cancel")
    for order in pending:
        if order.pending:  # not already cancelled with its parent
            cancel_pending(state, step, order, "cancel")
    count = sum(isinstance(e, OrderCancelled) for e in step.events)
    return Outcome(events=step.events, cancelled_count=count)
