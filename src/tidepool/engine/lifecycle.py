"""Order lifecycle steps that keep every index in step: accept, rest, fill, cancel.

Each function changes one order (two for a fill) and, with it, the book, the account indexes,
the history log and the events of the command being applied. Handlers (`matching.py`,
`cancels.py`) compose them after validation, so a rejected command never reaches this module.

Invariants kept here:
- An order is on its book iff it is indexed in its account's `open_ids`; its non-reduce-only
  remainder is counted in the account's `order_units`.
- Every change to an order after its acceptance (rest, fill, cancel) appends exactly one history
  entry and emits its event; acceptance itself emits OrderAccepted only.
- A fill pairs one maker and one taker of different accounts, same size, at the maker's price;
  fees and realised PnL move balances, positions net to zero across accounts (I4).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tidepool.engine.accounts import Account, Position, apply_fill
from tidepool.engine.events import (
    BalanceChanged,
    Event,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    Outcome,
    PositionChanged,
)
from tidepool.engine.money import average_price, in_decimal_context, units_to_usd
from tidepool.engine.orders import Order
from tidepool.engine.state import EngineState
from tidepool.engine.triggers import arm, unindex_pending
from tidepool.engine.views import FillRecord, OrderStatus


def is_market(order: Order) -> bool:
    """Market orders and triggered stop-market / TP / SL market orders."""
    return order.order_type.endswith("market")


class Step(msgspec.Struct):
    """The command being applied (built by the engine's `_apply`, one per command, a batch's
    actions included): its seq/ts stamp every event it produces.

    `quiet` (Engine.replay): nobody reads the answer, so the path skips what exists only for
    it: the events (never read back into state) and the Outcome (handlers return REPLAYED).
    It is the one path either way; only these appends and the Outcome are conditional.

    A Struct, not a class with __init__: one is built per command, at half the cost."""

    seq: int
    ts_ms: int
    quiet: bool
    events: list[Event] = msgspec.field(default_factory=list)


# What a quiet command's handler returns instead of its Outcome: Engine.replay drops it unread.
REPLAYED = Outcome(events=[])


def accept(state: EngineState, step: Step, order: Order) -> Order:
    """Give a new order (built with order id 0: ids are handed out here only) the next id,
    register it (and its client id) with its account, emit OrderAccepted.

    The order keeps the account's own address string, not the command's copy: every order of
    an account then shares one string object (less memory on a large book, and the cancels'
    comparisons with it stay in cache)."""
    state.last_order_id = order_id = state.last_order_id + 1
    order.order_id = order_id
    state.orders[order_id] = order
    owner = state.account(order.account)
    order.account = owner.address
    owner.order_ids.append(order_id)
    cloid = order.client_order_id
    if cloid is not None:
        owner.cloids[cloid] = order_id
    if not step.quiet:
        step.events.append(
            OrderAccepted(
                seq=step.seq,
                ts_ms=step.ts_ms,
                order_id=order_id,
                account=order.account,
                symbol=order.symbol,
                side=order.side,
                price_ticks=order.price_ticks,
                size_lots=order.initial_lots,
                tif=order.tif,
                reduce_only=order.reduce_only,
                client_order_id=cloid,
                order_type=order.order_type,
            )
        )
    return order


def rest(state: EngineState, step: Step, order: Order) -> None:
    """Put the incoming order's remainder on the book (history event `make`)."""
    state.books[order.symbol].add(order)
    state.accounts[order.account].index_open(order)
    order.updated_at = step.ts_ms
    state.log(order, "make", step.ts_ms)


def cancel_resting(
    state: EngineState, step: Step, order: Order, status: OrderStatus, reason: str, event: str
) -> None:
    """Take a resting order off the book (and out of its account's open-order indexes and
    margin units), moving its remainder to cancelled."""
    lots = order.remaining_lots
    state.books[order.symbol].remove(order, lots)
    state.accounts[order.account].release_units(order, lots, True)
    close_incoming(state, step, order, status, reason, event)


def cancel_pending(state: EngineState, step: Step, order: Order, reason: str) -> None:
    """Cancel a stop order that has not triggered (history event `cancel`)."""
    unindex_pending(state, order)
    close_incoming(state, step, order, "cancelled", reason, "cancel")


def close_incoming(
    state: EngineState, step: Step, order: Order, status: OrderStatus, reason: str, event: str
) -> None:
    """Make an order that is not on the book terminal: an IOC remainder, a post-only
    rejection, a pending stop, or a resting order just taken off its book.

    TP/SL legs still waiting for this order's first fill will never see one: they are
    cancelled too (reason `parent_cancelled`)."""
    if order.filled_lots == 0 and state.legs:
        for leg_id in list(state.legs.get(order.order_id, ())):
            cancel_pending(state, step, state.orders[leg_id], "parent_cancelled")
    lots = order.close(status, reason, step.ts_ms)
    state.log(order, event, step.ts_ms)
    if not step.quiet:
        step.events.append(
            OrderCancelled(
                seq=step.seq,
                ts_ms=step.ts_ms,
                order_id=order.order_id,
                account=order.account,
                symbol=order.symbol,
                cancelled_lots=lots,
                reason=reason,
            )
        )


@in_decimal_context  # fees, PnL, balances; a limit create reaches here outside the context
def fill(state: EngineState, step: Step, maker: Order, taker: Order, lots: int) -> None:
    """Trade `lots` between a resting maker and the incoming taker at the maker's price."""
    price = maker.price_ticks
    spec = state.markets[maker.symbol]
    notional = units_to_usd(spec, price * lots)
    maker_fee = state.config.maker_fee * notional
    taker_fee = state.config.taker_fee * notional
    state.fees_collected += maker_fee + taker_fee

    book = state.books[maker.symbol]
    maker_account = state.accounts[maker.account]
    book.reduce(maker, lots)
    maker.add_fill(lots, price, step.ts_ms)
    taker.add_fill(lots, price, step.ts_ms)
    filled = maker.remaining_lots == 0
    if filled:
        book.remove(maker, 0)
    maker_account.release_units(maker, lots, filled)
    history_id = state.log(maker, "fulfill_limit", step.ts_ms, price)
    taker_event = "fulfill_market" if is_market(taker) else "fulfill_limit"
    taker_history_id = state.log(taker, taker_event, step.ts_ms, price)
    if not step.quiet:
        step.events.append(
            OrderFilled(
                seq=step.seq,
                ts_ms=step.ts_ms,
                history_id=history_id,
                symbol=maker.symbol,
                price_ticks=price,
                size_lots=lots,
                maker_order_id=maker.order_id,
                maker_account=maker.account,
                taker_order_id=taker.order_id,
                taker_account=taker.account,
                taker_side=taker.side,
                maker_fee=maker_fee,
                taker_fee=taker_fee,
            )
        )
    _settle(state, step, maker_account, maker, price, lots, maker_fee, history_id, True)
    taker_account = state.accounts[taker.account]
    _settle(state, step, taker_account, taker, price, lots, taker_fee, taker_history_id, False)
    if state.legs:
        for order in (maker, taker):
            _arm_legs(state, step, order)


def _arm_legs(state: EngineState, step: Step, parent: Order) -> None:
    """The parent's first fill arms its TP/SL legs (history event `stop_parent_order_filled`)."""
    for leg_id in state.legs.pop(parent.order_id, ()):
        leg = state.orders[leg_id]
        arm(state, leg)
        leg.updated_at = step.ts_ms
        state.log(leg, "stop_parent_order_filled", step.ts_ms)


def _cancel_position_legs(state: EngineState, step: Step, account: Account, symbol: str) -> None:
    """A position closed or flipped: its armed TP/SL legs protect nothing any more."""
    for order_id in list(account.stop_ids):
        leg = state.orders[order_id]
        if leg.symbol == symbol and leg.tpsl is not None and leg.armed:
            cancel_pending(state, step, leg, "position_closed")


def _trade_side(is_bid: bool, closing: bool) -> str:
    """Pacifica's trade side: a bid opens a long or closes a short, an ask the reverse. A fill
    that flips the position is labelled by what it does first (close)."""
    if closing:
        return "close_short" if is_bid else "close_long"
    return "open_long" if is_bid else "open_short"


def _settle(
    state: EngineState,
    step: Step,
    account: Account,
    order: Order,
    price_ticks: int,
    lots: int,
    fee: Decimal,
    history_id: int,
    is_maker: bool,
) -> None:
    """Move one side of a fill into the account's position and balance, and record it."""
    symbol = order.symbol
    spec = state.markets[symbol]
    position = account.positions.get(symbol)
    if position is None:
        position = Position(created_at=step.ts_ms)
        account.positions[symbol] = position
    old_size = position.size_lots
    closing = old_size != 0 and (old_size > 0) != order.is_bid
    entry_basis = (abs(position.cost_units), abs(old_size))
    signed = lots if order.is_bid else -lots
    realised = units_to_usd(spec, apply_fill(position, signed, price_ticks))
    new_size = position.size_lots
    flipped = old_size != 0 and new_size != 0 and (old_size > 0) != (new_size > 0)
    if flipped:
        position.created_at = step.ts_ms
        position.realized_pnl = Decimal(0)
    else:
        position.realized_pnl += realised
    position.updated_at = step.ts_ms
    state.long_lots[symbol] += max(new_size, 0) - max(old_size, 0)
    if new_size == 0:
        del account.positions[symbol]
    delta = realised - fee
    account.balance += delta
    state.record_fill(
        FillRecord(  # positional, in field order (see FillRecord)
            history_id,
            order.order_id,
            account.address,
            order.client_order_id,
            symbol,
            price_ticks,
            lots,
            entry_basis[0] if closing else abs(position.cost_units),
            entry_basis[1] if closing else abs(new_size),
            fee,
            realised,
            is_maker,
            _trade_side(order.is_bid, closing),
            step.ts_ms,
        )
    )
    if not step.quiet:  # the entry price is shown, never kept
        entry = average_price(spec, abs(position.cost_units), abs(new_size))
        step.events.append(
            PositionChanged(
                seq=step.seq,
                ts_ms=step.ts_ms,
                account=account.address,
                symbol=symbol,
                size_lots=new_size,
                entry_price=entry,
                realized_pnl=realised,
            )
        )
        step.events.append(
            BalanceChanged(
                seq=step.seq,
                ts_ms=step.ts_ms,
                account=account.address,
                delta=delta,
                balance=account.balance,
                reason="trade",
            )
        )
    if account.stop_ids and (new_size == 0 or flipped):
        _cancel_position_legs(state, step, account, symbol)
