"""Stop orders, position TP/SL and attached TP/SL legs (spec §2.3, §2.4, §2.7), and triggering.

Semantics:
- A stop order is accepted with its own order id, rests OFF the book as `pending` (status
  `open`, history event `stop_created`) and holds no margin. Checks at creation: 3 unknown
  symbol, 400 non-positive prices/amounts, 36 client order id, 10 open orders (stops count).
  Size, margin and reduce-only checks are deferred to the trigger (spec §2.3).
- Direction (fixed at creation): a bid stop triggers when the price rises to `stop_ticks`, an
  ask stop when it falls to it. A take-profit triggers on a move in the position's favour, a
  stop-loss against it: an ask (closing a long) TP rises, SL falls; a bid TP falls, SL rises.
- The trigger price is the mark (`mark_price`, default) or the last trade of the market
  (`last_trade_price`). Triggers are evaluated at the end of every command that can move
  either (SetMarkPrice, creates, market orders, stop and TP/SL creation), so a stop whose
  condition already holds triggers in the command that created it.
- Triggering (history event `stop_triggered`, event StopTriggered): the size is the stop's
  amount or, without one, the size of the position it closes; a reduce-only stop is capped at
  that position. Size 0 (no position left): cancelled (reason `no_position`). A stop-limit
  then executes as a GTC limit order at its limit price, a stop-market as IOC bounded by
  `config.stop_market_slippage_percent` from the trigger reference price. A non-reduce-only
  one is checked like a create first (7/8/10/5); failing, it is `rejected`
  (reason `trigger_rejected`). Stops due at once trigger in order id order, one at a time,
  re-evaluated after each (a triggered order's trades may trigger more).
- Position TP/SL (`set_position_tpsl`): needs a position (13 "Position not found") and the
  closing side (17 "Invalid stop order side"); at least one leg (400). A new TP replaces the
  position's previous TP (reason `replaced`), likewise SL. Legs are reduce-only.
- Attached TP/SL (on a limit or market create): reduce-only legs on the opposite side with
  `stop_parent_order_id` = the order. They are ARMED by the parent's first fill (history
  `stop_parent_order_filled`); a parent that ends without any fill cancels them (reason
  `parent_cancelled`); an edit hands them to the replacement order.
- A position that closes or flips cancels its armed TP/SL legs (reason `position_closed`), so
  a TP that executes removes the matching SL (and vice versa).
- CancelStopOrder cancels a pending stop of this account and symbol; anything else is the
  cancel page's "Order not found". A regular cancel never removes a pending stop.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from fractions import Fraction

from tidepool.domain.errors import ORDER_NOT_FOUND_ON_CANCEL, Code, Reject, book_not_found
from tidepool.engine.cancels import find_order
from tidepool.engine.commands import (
    CancelStopOrder,
    CreateStopOrder,
    SetPositionTpsl,
    Side,
    StopLeg,
)
from tidepool.engine.events import Outcome, StopTriggered
from tidepool.engine.execution import execute
from tidepool.engine.lifecycle import Step, accept, cancel_pending, close_incoming
from tidepool.engine.money import in_decimal_context
from tidepool.engine.orders import Order
from tidepool.engine.risk import (
    check_open_orders,
    check_order,
    duplicate_cloid,
    invalid,
    slipped_limit,
)
from tidepool.engine.state import EngineState
from tidepool.engine.triggers import index_pending, unindex_pending

POSITION_NOT_FOUND = Reject(Code.POSITION_NOT_FOUND, "Position not found")
INVALID_STOP_SIDE = Reject(Code.INVALID_STOP_ORDER_SIDE, "Invalid stop order side")


def check_legs(
    state: EngineState, account: str, legs: list[StopLeg | None], cloid: str | None = None
) -> Reject | None:
    """400 non-positive stop/limit/amount; 36 a client id used before or twice here."""
    seen = {cloid} if cloid is not None else set()
    for leg in legs:
        if leg is None:
            continue
        optional = (leg.limit_ticks, leg.size_lots)
        if leg.stop_ticks <= 0 or any(v is not None and v <= 0 for v in optional):
            return invalid("stop_price, limit_price and amount must be positive")
        if leg.client_order_id is not None:
            reject = duplicate_cloid(state, account, leg.client_order_id)
            if reject is None and leg.client_order_id in seen:
                reject = Reject(
                    Code.DUPLICATE_CLIENT_ORDER_ID,
                    f"Duplicate client order id: {leg.client_order_id}",
                )
            if reject is not None:
                return reject
            seen.add(leg.client_order_id)
    return None


def new_stop(
    state: EngineState,
    step: Step,
    *,
    account: str,
    symbol: str,
    side: Side,
    reduce_only: bool,
    leg: StopLeg,
    tpsl: str | None = None,
    parent: Order | None = None,
) -> Order:
    """Accept a pending stop order (a TP/SL leg when `tpsl` is set) and index it."""
    limit = leg.limit_ticks
    order = Order(
        0,  # accept() gives it its id
        account,
        symbol,
        side,
        limit or 0,
        leg.size_lots or 0,
        "IOC" if limit is None else "GTC",
        reduce_only,
        leg.client_order_id,
        step.ts_ms,
        f"{tpsl or 'stop'}_{'market' if limit is None else 'limit'}",
    )
    order.stop_ticks = leg.stop_ticks
    order.trigger = leg.trigger
    order.rises = _rises(side, tpsl)
    order.armed = parent is None
    order.parent_id = None if parent is None else parent.order_id
    order.tpsl = tpsl
    accept(state, step, order)
    index_pending(state, order)
    state.log(order, "stop_created", step.ts_ms)
    return order


def _rises(side: str, tpsl: str | None) -> bool:
    if tpsl == "take_profit":
        return side == "ask"
    return side == "bid"  # plain stops and stop-losses


def add_legs(
    state: EngineState, step: Step, parent: Order, tp: StopLeg | None, sl: StopLeg | None
) -> None:
    """Attach TP/SL legs to a just-accepted order: they wait for its first fill."""
    side: Side = "ask" if parent.is_bid else "bid"
    for kind, leg in (("take_profit", tp), ("stop_loss", sl)):
        if leg is not None:
            new_stop(
                state,
                step,
                account=parent.account,
                symbol=parent.symbol,
                side=side,
                reduce_only=True,
                leg=leg,
                tpsl=kind,
                parent=parent,
            )


def create_stop_order(state: EngineState, step: Step, cmd: CreateStopOrder) -> Outcome:
    if cmd.symbol not in state.markets:
        return Outcome(events=[], reject=book_not_found(cmd.symbol))
    reject = check_legs(state, cmd.account, [cmd.stop]) or check_open_orders(state, cmd.account)
    if reject is not None:
        return Outcome(events=[], reject=reject)
    order = new_stop(
        state,
        step,
        account=cmd.account,
        symbol=cmd.symbol,
        side=cmd.side,
        reduce_only=cmd.reduce_only,
        leg=cmd.stop,
    )
    run_triggers(state, step, cmd.symbol)
    return Outcome(events=step.events, order_id=order.order_id)


def set_position_tpsl(state: EngineState, step: Step, cmd: SetPositionTpsl) -> Outcome:
    reject = _check_tpsl(state, cmd)
    if reject is not None:
        return Outcome(events=[], reject=reject)
    account = state.accounts[cmd.account]
    legs = (("take_profit", cmd.take_profit), ("stop_loss", cmd.stop_loss))
    kinds = {kind for kind, leg in legs if leg is not None}
    for order_id in list(account.stop_ids):
        old = state.orders[order_id]
        if old.symbol == cmd.symbol and old.parent_id is None and old.tpsl in kinds:
            cancel_pending(state, step, old, "replaced")
    for kind, leg in legs:
        if leg is not None:
            new_stop(
                state,
                step,
                account=cmd.account,
                symbol=cmd.symbol,
                side=cmd.side,
                reduce_only=True,
                leg=leg,
                tpsl=kind,
            )
    run_triggers(state, step, cmd.symbol)
    return Outcome(events=step.events)


def _check_tpsl(state: EngineState, cmd: SetPositionTpsl) -> Reject | None:
    if cmd.symbol not in state.markets:
        return book_not_found(cmd.symbol)
    if cmd.take_profit is None and cmd.stop_loss is None:
        return invalid("take_profit or stop_loss is required")
    account = state.accounts.get(cmd.account)
    size = 0 if account is None else account.position_size(cmd.symbol)
    if size == 0:
        return POSITION_NOT_FOUND
    if (size > 0) == (cmd.side == "bid"):
        return INVALID_STOP_SIDE
    return check_legs(state, cmd.account, [cmd.take_profit, cmd.stop_loss]) or (
        check_open_orders(state, cmd.account)
    )


def cancel_stop_order(state: EngineState, step: Step, cmd: CancelStopOrder) -> Outcome:
    order = find_order(state, cmd.account, cmd.symbol, cmd.order_id, cmd.client_order_id)
    if order is None or not order.pending:
        return Outcome(events=[], reject=ORDER_NOT_FOUND_ON_CANCEL)
    cancel_pending(state, step, order, "cancel")
    return Outcome(events=step.events, order_id=order.order_id)


# ---- triggering ------------------------------------------------------------------------------


def run_triggers(state: EngineState, step: Step, symbol: str) -> None:
    """Trigger every stop of `symbol` whose price has been reached, lowest id first."""
    by_mark, by_last = state.trigger_pairs[symbol]
    if by_mark.rises or by_mark.falls or by_last.rises or by_last.falls:
        _trigger_due(state, step, symbol)
    # else the common case: no armed stop in this market


@in_decimal_context  # a limit create reaches here outside the context
def _trigger_due(state: EngineState, step: Step, symbol: str) -> None:
    while True:
        due = _due(state, symbol)
        if not due:
            return
        trigger(state, step, state.orders[min(due)])


def _due(state: EngineState, symbol: str) -> list[int]:
    due: list[int] = []
    mark = state.marks[symbol]
    if mark > 0:
        raw = mark / state.markets[symbol].tick_size
        floor = int(raw.to_integral_value(rounding=ROUND_FLOOR))
        ceil = int(raw.to_integral_value(rounding=ROUND_CEILING))
        due += state.triggers[(symbol, "mark_price")].due(floor, ceil)
    last = state.last_trade_ticks(symbol)
    if last is not None:
        due += state.triggers[(symbol, "last_trade_price")].due(last, last)
    return due


def trigger(state: EngineState, step: Step, order: Order) -> None:
    unindex_pending(state, order)
    order.triggered = True
    spec = state.markets[order.symbol]
    account = state.accounts[order.account]
    reducible = account.reducible_lots(order.symbol, order.is_bid)
    size = order.initial_lots or reducible
    if order.reduce_only:
        size = min(size, reducible)
    order.size(size)
    reference = _reference(state, order)
    if order.order_type.endswith("market"):
        pct = state.config.stop_market_slippage_percent
        order.price_ticks = slipped_limit(spec, reference, order.is_bid, pct)
    order.updated_at = step.ts_ms
    state.log(order, "stop_triggered", step.ts_ms)
    if not step.quiet:
        step.events.append(
            StopTriggered(
                seq=step.seq,
                ts_ms=step.ts_ms,
                order_id=order.order_id,
                account=order.account,
                symbol=order.symbol,
                price_ticks=order.price_ticks,
                size_lots=size,
            )
        )
    if size == 0:
        close_incoming(state, step, order, "cancelled", "no_position", "cancel")
        return
    if not order.reduce_only:
        units = order.price_ticks * size
        if order.tif == "GTC":  # a stop-limit is sized at its limit, a stop-market at reference
            size_num, size_den = units * state.quanta[order.symbol].unit, 1
        else:
            at_reference = Fraction(reference) * Fraction(spec.lot_size) * size
            size_num, size_den = state.scale.tenths(at_reference)
        reject = check_order(
            state,
            order.account,
            account,
            order.symbol,
            order.side,
            size,
            False,
            size_num,
            size_den,
            units,
        )
        if reject is not None:
            close_incoming(state, step, order, "rejected", "trigger_rejected", "rejected")
            return
    execute(state, step, order)


def _reference(state: EngineState, order: Order) -> Decimal:
    """The price that triggered the order: the mark, or the last trade."""
    if order.trigger == "last_trade_price":
        last = state.last_trade_ticks(order.symbol)
        assert last is not None
        return state.markets[order.symbol].ticks_to_price(last)
    return state.marks[order.symbol]
