"""Pre-trade checks of a create (check-then-act) and the cross-margin collateral arithmetic.

`check_create` reads state only: it returns a Reject, or the Plan the matcher executes. Nothing
is mutated before every check passed, so a rejected create consumes no order id and changes
nothing. Checks, in order (first failure wins):
  3 unknown symbol; 400 non-positive price/amount; 36 client order id used before by this
  account (ever); 7/8 notional below/above the market's min/max (at the effective price, i.e.
  after a TOB re-price); 10 open-order limit; reduce-only: 23 no position, 21 same side as the
  position, 22 larger than the position; otherwise 5 when notional / leverage exceeds free
  collateral. Reduce-only orders hold no margin and skip the collateral check.

Collateral (cross margin, leverage = market max_leverage):
  equity = balance + sum over positions of (size x mark - cost basis)
  position margin = sum |size| x mark / leverage;  order margin = sum open non-reduce-only
  remaining notional / leverage;  free = equity - position margin - order margin.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from tidepool.domain.errors import Code, Reject, book_not_found
from tidepool.domain.markets import MarketSpec, format_decimal
from tidepool.engine.accounts import Account
from tidepool.engine.book import OrderBook
from tidepool.engine.commands import CreateOrder
from tidepool.engine.money import margin, units_to_usd
from tidepool.engine.state import EngineState
from tidepool.engine.views import AccountSummary


class Plan(NamedTuple):
    """What a valid create will do: rest/match at `price_ticks`, or be post-only rejected."""

    price_ticks: int
    post_only_reject: bool


class Collateral(NamedTuple):
    equity: Decimal
    position_margin: Decimal
    order_margin: Decimal

    @property
    def free(self) -> Decimal:
        return self.equity - self.position_margin - self.order_margin


def plan_price(book: OrderBook, cmd: CreateOrder) -> Plan:
    """ALO that would take is rejected; TOB that would take is re-priced one tick inside."""
    is_bid = cmd.side == "bid"
    if cmd.tif not in ("ALO", "TOB") or not book.would_cross(is_bid, cmd.price_ticks):
        return Plan(cmd.price_ticks, False)
    if cmd.tif == "ALO":
        return Plan(cmd.price_ticks, True)
    best = book.opposite(is_bid).best_price()
    assert best is not None
    price = best - 1 if is_bid else best + 1
    if price < 1:  # no price inside the spread: nothing a post-only bid can rest at
        return Plan(cmd.price_ticks, True)
    return Plan(price, False)


def check_create(state: EngineState, cmd: CreateOrder) -> Plan | Reject:
    spec = state.markets.get(cmd.symbol)
    if spec is None:
        return book_not_found(cmd.symbol)
    if cmd.price_ticks <= 0 or cmd.size_lots <= 0:
        return Reject(400, "Invalid parameters: price and amount must be positive", 400)
    account = state.accounts.get(cmd.account)
    cloid = cmd.client_order_id
    if cloid is not None and (cmd.account, cloid) in state.cloids:
        return Reject(Code.DUPLICATE_CLIENT_ORDER_ID, f"Duplicate client order id: {cloid}")
    plan = plan_price(state.books[cmd.symbol], cmd)
    notional = spec.notional(plan.price_ticks, cmd.size_lots)
    reject = _check_size(spec, cmd.account, notional)
    if reject is None:
        reject = _check_open_orders(state, cmd.account, account)
    if reject is None:
        if cmd.reduce_only:
            reject = _check_reduce_only(spec, cmd, account)
        else:
            reject = _check_margin(state, cmd.account, account, notional / spec.max_leverage)
    return plan if reject is None else reject


def _check_size(spec: MarketSpec, address: str, notional: Decimal) -> Reject | None:
    if notional < spec.min_order_size:
        low = f"{format_decimal(notional)} < {format_decimal(spec.min_order_size)}"
        return Reject(
            Code.ORDER_AMOUNT_TOO_LOW,
            f"Order amount too low for {address}: {low}",
            error_id="invalid_amount",
        )
    if notional > spec.max_order_size:
        high = f"{format_decimal(notional)} > {format_decimal(spec.max_order_size)}"
        return Reject(Code.ORDER_AMOUNT_TOO_HIGH, f"Order amount too high for {address}: {high}")
    return None


def _check_open_orders(state: EngineState, address: str, account: Account | None) -> Reject | None:
    limit = state.config.max_open_orders
    if account is not None and len(account.open_ids) >= limit:
        return Reject(
            Code.OPEN_ORDER_LIMIT_REACHED, f"Open order limit reached for {address}: {limit}"
        )
    return None


def _check_reduce_only(
    spec: MarketSpec, cmd: CreateOrder, account: Account | None
) -> Reject | None:
    size = 0 if account is None else account.position_size(cmd.symbol)
    if size == 0:
        return Reject(
            Code.NO_POSITION_FOR_REDUCE_ONLY_ORDER,
            f"No position found for reduce-only order: {cmd.account} {cmd.symbol}",
        )
    if (size > 0) == (cmd.side == "bid"):
        return Reject(
            Code.INVALID_REDUCE_ONLY_ORDER_SIDE,
            "Invalid reduce-only order side: must be opposite to position side",
        )
    if cmd.size_lots > abs(size):
        return Reject(
            Code.INVALID_REDUCE_ONLY_ORDER_AMOUNT,
            f"Invalid reduce-only order amount: {spec.format_amount(cmd.size_lots)} exceeds "
            f"position amount {spec.format_amount(abs(size))}",
        )
    return None


def _check_margin(
    state: EngineState, address: str, account: Account | None, required: Decimal
) -> Reject | None:
    free = collateral(state, account).free
    if required > free:
        return Reject(
            Code.INSUFFICIENT_BALANCE,
            f"Insufficient balance for {address}: {format_decimal(required)} "
            f"(account value: {format_decimal(free)})",
        )
    return None


def collateral(state: EngineState, account: Account | None) -> Collateral:
    if account is None:
        return Collateral(Decimal(0), Decimal(0), Decimal(0))
    equity = account.balance
    position_margin = Decimal(0)
    # Symbol order, not insertion order: rounded quotients (leverage 3, say) must be summed in
    # the same order before and after a snapshot/restore.
    for symbol, position in sorted(account.positions.items()):
        spec = state.markets[symbol]
        mark = state.marks[symbol]
        equity += position.size_lots * spec.lot_size * mark - units_to_usd(
            spec, position.cost_units
        )
        position_margin += margin(abs(position.size_lots) * spec.lot_size * mark, spec.max_leverage)
    order_margin = Decimal(0)
    for symbol, units in sorted(account.order_units.items()):
        spec = state.markets[symbol]
        order_margin += margin(units_to_usd(spec, units), spec.max_leverage)
    return Collateral(equity, position_margin, order_margin)


def summary(state: EngineState, address: str) -> AccountSummary:
    account = state.accounts.get(address)
    c = collateral(state, account)
    return AccountSummary(
        balance=Decimal(0) if account is None else account.balance,
        equity=c.equity,
        margin_used=c.position_margin,
        order_margin=c.order_margin,
        available_to_spend=c.free,
        orders_count=0 if account is None else len(account.open_ids),
        positions_count=0 if account is None else len(account.positions),
    )
