"""CancelOrder and CancelAllOrders.

Semantics (spec §2.5, §2.6, A1, A6):
- CancelOrder finds the OPEN order by `order_id`, or by `client_order_id` of this account,
  that belongs to this account AND this symbol. Anything else (unknown, another account's,
  other symbol, filled, cancelled, rejected) is ORDER_NOT_FOUND_ON_CANCEL with state unchanged
  (I7). Success: `Outcome(order_id=..., events=[OrderCancelled(reason="cancel")])`.
- CancelAllOrders cancels the account's resting orders in one symbol (or all when `symbol`
  is None), ascending order id, then its pending stop / TP / SL orders (spec A6), ascending
  order id too;
  `exclude_reduce_only` keeps every reduce-only order, TP/SL legs included (a leg whose
  parent is cancelled before any fill goes with it). Cost is O(resting orders of the account)
  through its index (kept in id order, so no sort), never O(book): orders in scope are
  cancelled, entries of other markets are skipped by the symbol the index holds (~15 ns each,
  at most `max_open_orders` of them).
  `cancelled_count` counts every order removed; 0 is a success.
- Chunked CancelAllOrders (`up_to_order_id`, `limit`; see commands.py): the same walk, cut
  after `limit` orders removed; `Outcome.more` tells whether orders in scope remain. A
  `limit` below 1 is 400. The cost of one chunk is O(its orders + the reduce-only and other
  markets' entries it skips).
"""

from __future__ import annotations

from tidepool.domain.errors import ORDER_NOT_FOUND_ON_CANCEL, book_not_found
from tidepool.engine.accounts import Account
from tidepool.engine.commands import CancelAllOrders, CancelOrder
from tidepool.engine.events import Outcome
from tidepool.engine.lifecycle import REPLAYED, Step, cancel_pending, cancel_resting
from tidepool.engine.orders import Order
from tidepool.engine.risk import invalid
from tidepool.engine.state import EngineState


def cancel_order(state: EngineState, step: Step, cmd: CancelOrder) -> Outcome:
    order = find_order(state, cmd.account, cmd.symbol, cmd.order_id, cmd.client_order_id, True)
    if order is None:
        return Outcome(events=[], reject=ORDER_NOT_FOUND_ON_CANCEL)
    cancel_resting(state, step, order, "cancelled", "cancel", "cancel")
    if step.quiet:
        return REPLAYED
    return Outcome(events=step.events, order_id=order.order_id)


def find_resting(
    state: EngineState, account: str, symbol: str, order_id: int | None, cloid: str | None
) -> Order | None:
    """The account's order on the `symbol` book with that id / client id (the newest order of
    that client id: an edit's replacement takes it over), or None."""
    return find_order(state, account, symbol, order_id, cloid, True)


def find_order(
    state: EngineState,
    account: str,
    symbol: str,
    order_id: int | None,
    cloid: str | None,
    resting: bool = False,
) -> Order | None:
    """The account's order in `symbol` by id or client id (both must agree), in any state, or
    only on its book (`resting`).

    Between commands an order is on the book iff it has a price level: an open order that is
    neither a pending stop nor resting exists only while the command that took it in runs."""
    if cloid is not None:
        owner = state.accounts.get(account)
        by_cloid = None if owner is None else owner.cloids.get(cloid)
        if by_cloid is None or (order_id is not None and order_id != by_cloid):
            return None
        order_id = by_cloid
    if order_id is None:
        return None
    order = state.orders.get(order_id)
    if order is None or order.account != account or order.symbol != symbol:
        return None
    return None if resting and order.level is None else order


def cancel_all_orders(state: EngineState, step: Step, cmd: CancelAllOrders) -> Outcome:
    if cmd.symbol is not None and cmd.symbol not in state.markets:
        return Outcome(events=[], reject=book_not_found(cmd.symbol))
    limit = cmd.limit
    if limit is not None and limit < 1:
        return Outcome(events=[], reject=invalid("limit must be at least 1"))
    account = state.accounts.get(cmd.account)
    if account is None:
        return Outcome(events=[], cancelled_count=0)
    # Orders removed so far: each logs exactly one history entry when it closes (events are
    # not built on a quiet step, so they cannot be counted).
    start = state.last_history_id
    resting, more = _resting_in_scope(state, account, cmd)
    for order in resting:
        # `limit` bounds the orders removed: legs that went with a parent count too
        if limit is not None and state.last_history_id - start >= limit:
            more = True
            break
        cancel_resting(state, step, order, "cancelled", "cancel", "cancel")
    # Pending stop / TP / SL orders, after the resting ones (legs cancelled with their parent
    # just now have left `stop_ids`; cancelling a pending order cancels nothing else).
    if account.stop_ids and not more:
        up_to = cmd.up_to_order_id
        for order_id in list(account.stop_ids):  # ascending id (accounts.py)
            if up_to is not None and order_id > up_to:
                break
            order = state.orders[order_id]
            if (cmd.symbol is not None and order.symbol != cmd.symbol) or (
                cmd.exclude_reduce_only and order.reduce_only
            ):
                continue
            if limit is not None and state.last_history_id - start >= limit:
                more = True
                break
            cancel_pending(state, step, order, "cancel")
    if step.quiet:
        return REPLAYED
    # one OrderCancelled per order removed
    return Outcome(events=step.events, cancelled_count=state.last_history_id - start, more=more)


def _resting_in_scope(
    state: EngineState, account: Account, cmd: CancelAllOrders
) -> tuple[list[Order], bool]:
    """The account's resting orders in the command's scope, ascending id, at most `limit` of
    them; and whether more remain beyond those. The index is in ascending id order
    (accounts.py), so this walks only up to `up_to_order_id` and stops early; other markets'
    entries are skipped by the symbol the index holds. The orders are collected first because
    cancelling edits the index."""
    scope = account.open_ids
    resting: list[Order] = []
    if not scope:
        return resting, False
    orders = state.orders
    symbol, up_to, limit = cmd.symbol, cmd.up_to_order_id, cmd.limit
    exclude = cmd.exclude_reduce_only
    if up_to is None and limit is None and not exclude:
        if symbol is None:
            return [orders[order_id] for order_id in scope], False
        return [orders[i] for i, in_symbol in scope.items() if in_symbol == symbol], False
    for order_id, in_symbol in scope.items():
        if up_to is not None and order_id > up_to:
            break
        if symbol is not None and in_symbol != symbol:
            continue
        order = orders[order_id]
        if exclude and order.reduce_only:
            continue
        if limit is not None and len(resting) == limit:
            return resting, True
        resting.append(order)
    return resting, False
