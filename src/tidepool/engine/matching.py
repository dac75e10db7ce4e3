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

from decimal import Decimal

from tidepool.domain.errors import Reject, book_not_found
from tidepool.domain.markets import MarketSpec
from tidepool.engine.accounts import Account
from tidepool.engine.book import OrderBook
from tidepool.engine.commands import CreateMarketOrder, CreateOrder
from tidepool.engine.events import OrderAccepted, Outcome
from tidepool.engine.execution import execute, match
from tidepool.engine.lifecycle import REPLAYED, Step, accept, close_incoming
from tidepool.engine.orders import Order
from tidepool.engine.prechecks import passes
from tidepool.engine.risk import (
    OrderCheck,
    check_band,
    check_create,
    check_market,
    check_open_orders,
    check_order,
    check_size,
    duplicate_cloid,
    insufficient_balance,
    invalid,
    position_terms,
)
from tidepool.engine.state import EngineState
from tidepool.engine.stops import add_legs, check_legs, run_triggers

_ZERO = Decimal(0)


def create_order(state: EngineState, cmd: CreateOrder) -> Outcome:
    """A limit order. The common case (no attached legs) is `_create_plain`, one flat frame."""
    if cmd.take_profit is None and cmd.stop_loss is None:
        return _create_plain(state, cmd)
    return _create_with_legs(state, cmd)


def _create_plain(state: EngineState, cmd: CreateOrder, quiet: bool = False) -> Outcome:
    """`_create_with_legs` without legs, written out: the hottest command of replay.

    It performs exactly the checks of `risk.check_create` in the same order, and the same
    Decimal operations in the same order (so every result, rounded quotients included, and
    every reject message is the same), then `accept`, `execute` and `run_triggers`; only the
    Python calls in between are gone. One exception: an order the integer pre-check proves
    acceptable (prechecks.py) skips the Decimal checks, which compute nothing kept. Tests:
    test_fast_paths.py runs both paths side by side on random commands and compares outcomes
    and state hashes; test_prechecks.py the pre-check against the Decimal checks.

    `quiet` (Engine.replay): the same state change; no OrderAccepted, success returns
    REPLAYED (rejections are still returned: they are rare and cheap next to the checks)."""
    symbol = cmd.symbol
    spec = state.markets.get(symbol)
    if spec is None:
        return Outcome(events=[], reject=book_not_found(symbol))
    price_ticks = cmd.price_ticks
    size_lots = cmd.size_lots
    if price_ticks <= 0 or size_lots <= 0:
        return Outcome(events=[], reject=invalid("price and amount must be positive"))
    address = cmd.account
    account = state.accounts.get(address)
    cloid = cmd.client_order_id
    if cloid is not None and account is not None and cloid in account.cloids:
        return Outcome(events=[], reject=duplicate_cloid(state, address, cloid))
    is_bid = cmd.side == "bid"
    book = state.books[symbol]
    tif = cmd.tif
    plan_ticks, post_only_reject, crosses = _plan(book, is_bid, price_ticks, tif)
    reject = _check_plain(state, cmd, spec, account, plan_ticks)
    if reject is not None:
        return Outcome(events=[], reject=reject)
    # lifecycle.accept
    if account is None:
        account = state.account(address)
    step = Step(cmd.seq, cmd.ts_ms, quiet)
    state.last_order_id = order_id = state.last_order_id + 1
    ts_ms = cmd.ts_ms
    # The account's and the market's own strings, not the command's copies: every order of an
    # account then shares one string, which stays in cache for the cancels' lookups.
    order = Order(
        order_id,
        account.address,
        spec.symbol,
        cmd.side,
        plan_ticks,
        size_lots,
        tif,
        cmd.reduce_only,
        cloid,
        ts_ms,
    )
    state.orders[order_id] = order
    account.order_ids.append(order_id)
    if cloid is not None:
        account.cloids[cloid] = order_id
    events = step.events
    if not quiet:
        events.append(
            OrderAccepted(
                seq=cmd.seq,
                ts_ms=ts_ms,
                order_id=order_id,
                account=address,
                symbol=symbol,
                side=cmd.side,
                price_ticks=plan_ticks,
                size_lots=size_lots,
                tif=tif,
                reduce_only=cmd.reduce_only,
                client_order_id=cloid,
                order_type="limit",
            )
        )
    if post_only_reject:
        close_incoming(state, step, order, "rejected", "post_only_rejected", "post_only_rejected")
    else:
        # execution.execute, with lifecycle.rest written out
        if crosses:
            match(state, step, order)
        if order.initial_lots - order.filled_lots - order.cancelled_lots > 0:
            if tif == "IOC":
                close_incoming(state, step, order, "cancelled", "ioc_remainder", "cancel")
            else:
                (book.bids if is_bid else book.asks).append(order)
                account.index_newest(order)
                order.updated_at = ts_ms
                state.last_history_id = history_id = state.last_history_id + 1
                entry = order.history_entry(history_id, "make", ts_ms)
                order.history += (entry,)
                state.history_log.append(entry)
    by_mark, by_last = state.trigger_pairs[symbol]
    if by_mark.rises or by_mark.falls or by_last.rises or by_last.falls:
        run_triggers(state, step, symbol)
    return REPLAYED if quiet else Outcome(events=events, order_id=order_id)


def _plan(book: OrderBook, is_bid: bool, price_ticks: int, tif: str) -> tuple[int, bool, bool]:
    """risk.plan_price, and whether the planned order crosses (it will match)."""
    keys = (book.asks if is_bid else book.bids).keys
    if not keys:
        return price_ticks, False, False
    best = -keys[-1] if is_bid else keys[-1]  # asks are keyed by -price (book.py)
    if not (price_ticks >= best if is_bid else price_ticks <= best):
        return price_ticks, False, False
    if tif == "ALO":
        return price_ticks, True, False
    if tif == "TOB":  # one tick inside the best opposite price, if there is one
        inside = best - 1 if is_bid else best + 1
        return (price_ticks, True, False) if inside < 1 else (inside, False, False)
    return price_ticks, False, True


def _check_plain(
    state: EngineState,
    cmd: CreateOrder,
    spec: MarketSpec,
    account: Account | None,
    plan_ticks: int,
) -> Reject | None:
    """risk.check_band, then risk.check_order for a new limit order at `plan_ticks`: proven
    in integers if it can be (prechecks.py), else in Decimal with risk.collateral inlined for
    the common case (an existing account, not reduce-only): same operations in the same
    order."""
    symbol = cmd.symbol
    size_lots = cmd.size_lots
    if passes(state, account, cmd.reduce_only, symbol, cmd.price_ticks, plan_ticks, size_lots):
        return None
    notional = (plan_ticks * spec.tick_size) * (size_lots * spec.lot_size)
    reject = check_band(state, spec, cmd.price_ticks)
    if reject is not None:
        return reject
    address = cmd.account
    if cmd.reduce_only or account is None:
        check = OrderCheck(
            address, symbol, cmd.side, cmd.size_lots, cmd.reduce_only, notional, notional
        )
        return check_order(state, check)
    if notional < spec.min_order_size or notional > spec.max_order_size:
        return check_size(spec, address, notional)
    if len(account.open_ids) + len(account.stop_ids) >= state.config.max_open_orders:
        return check_open_orders(state, address, account)
    settings = account.settings
    setting = settings.get(symbol)
    required = notional / (spec.max_leverage if setting is None else setting.leverage)
    if account.positions:
        free, position_margin = position_terms(state, account)
    else:
        free, position_margin = account.balance, _ZERO
    order_margin = _ZERO
    unit_values = state.unit_values
    markets = state.markets
    for s, units in sorted(account.order_units.items()):
        lev = settings.get(s)
        order_margin += (units * unit_values[s]) / (
            markets[s].max_leverage if lev is None else lev.leverage
        )
    free = free - position_margin - order_margin
    if required > free:
        return insufficient_balance(address, required, free)
    return None


def _create_with_legs(state: EngineState, cmd: CreateOrder) -> Outcome:
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
