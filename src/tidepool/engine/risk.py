"""Pre-trade checks (check-then-act) and the cross-margin collateral arithmetic.

`check_create` / `check_market` read state only: they return a Reject, or what the matcher
executes. Nothing is mutated before every check passed, so a rejected order consumes no order
id and changes nothing. Checks, in order (first failure wins):
  3 unknown symbol; 400 non-positive price/amount; 36 client order id used before by this
  account (ever); limit orders: 30 price further from the mark than the configured band;
  `check_order`: 7/8 notional below/above the market's min/max (at the effective price, i.e.
  after a TOB re-price; at the mark for market orders), 10 open-order limit (stop orders
  count), reduce-only: 23 no position, 21 same side as the position, 22 larger than the
  position; otherwise 5 when notional / leverage exceeds free collateral. Reduce-only orders
  hold no margin and skip the collateral check. Market orders end with 25 when nothing on the
  opposite side is within their limit.

Collateral (cross margin; leverage = the account's setting for the market, else its maximum):
  equity = balance + sum over positions of (size x mark - cost basis)
  position margin = sum |size| x mark / leverage;  order margin = sum open non-reduce-only
  remaining notional / leverage;  free = equity - position margin - order margin.
Verdicts compare these exactly, as integers in fixed point (`free_quanta`, fixedpoint.py);
what an account reads (`summary`, and the amounts a rejection shows) is the same sum in
Decimal (`collateral`), margins rounded to 40 digits.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from tidepool.domain.errors import Code, Reject, book_not_found
from tidepool.domain.markets import MarketSpec, format_decimal
from tidepool.engine.accounts import Account
from tidepool.engine.book import OrderBook
from tidepool.engine.commands import CreateMarketOrder, CreateOrder
from tidepool.engine.money import in_decimal_context, margin, units_to_usd
from tidepool.engine.orders import Order
from tidepool.engine.state import EngineState
from tidepool.engine.views import AccountSummary

NO_REASONABLE_PRICE = Reject(Code.NO_REASONABLE_PRICE, "No reasonable price found")
_ZERO = Decimal(0)

# What a valid create will do: rest/match at this price in ticks, or (True) be post-only
# rejected. Plain tuples, not NamedTuples, here and below: these are built for every create,
# and a NamedTuple costs ~0.2 µs to build.
Plan = tuple[int, bool]


def plan_price(book: OrderBook, is_bid: bool, price_ticks: int, tif: str) -> Plan:
    """ALO that would take is rejected; TOB that would take is re-priced one tick inside."""
    if tif != "ALO" and tif != "TOB":
        return price_ticks, False
    best = book.opposite(is_bid).best_price()
    if best is None or not (price_ticks >= best if is_bid else price_ticks <= best):
        return price_ticks, False
    if tif == "ALO":
        return price_ticks, True
    price = best - 1 if is_bid else best + 1
    if price < 1:  # no price inside the spread: nothing a post-only bid can rest at
        return price_ticks, True
    return price, False


def invalid(what: str) -> Reject:
    return Reject(400, f"Invalid parameters: {what}", 400)


def duplicate_cloid(state: EngineState, account: str, cloid: str | None) -> Reject | None:
    owner = state.accounts.get(account)
    if cloid is not None and owner is not None and cloid in owner.cloids:
        return _duplicate(cloid)
    return None


def _duplicate(cloid: str) -> Reject:
    return Reject(Code.DUPLICATE_CLIENT_ORDER_ID, f"Duplicate client order id: {cloid}")


def check_create(state: EngineState, cmd: CreateOrder) -> Plan | Reject:
    symbol = cmd.symbol
    spec = state.markets.get(symbol)
    if spec is None:
        return book_not_found(symbol)
    price_ticks, size_lots = cmd.price_ticks, cmd.size_lots
    if price_ticks <= 0 or size_lots <= 0:
        return invalid("price and amount must be positive")
    address = cmd.account
    account = state.accounts.get(address)
    cloid = cmd.client_order_id
    if cloid is not None and account is not None and cloid in account.cloids:
        return _duplicate(cloid)
    plan = plan_price(state.books[symbol], cmd.side == "bid", price_ticks, cmd.tif)
    units = plan[0] * size_lots
    reject = check_band(state, spec, price_ticks) or check_order(
        state,
        address,
        account,
        symbol,
        cmd.side,
        size_lots,
        cmd.reduce_only,
        units * state.quanta[symbol].unit,
        1,
        units,
    )
    return plan if reject is None else reject


def check_market(state: EngineState, cmd: CreateMarketOrder) -> int | Reject:
    """A market order's limit in ticks, or why it is rejected: 3, 400, 36, 25 (no mark),
    7/8 at the mark, 10, 23/21/22 or 5 at the limit, and last 25 when nothing on the opposite
    side is within the limit."""
    spec = state.markets.get(cmd.symbol)
    if spec is None:
        return book_not_found(cmd.symbol)
    slippage = cmd.slippage_percent
    if cmd.size_lots <= 0 or not slippage.is_finite() or slippage < 0:
        return invalid("amount must be positive and slippage_percent not negative")
    reject = duplicate_cloid(state, cmd.account, cmd.client_order_id)
    if reject is not None:
        return reject
    mark = state.marks[cmd.symbol]
    if mark <= 0:
        return NO_REASONABLE_PRICE
    is_bid = cmd.side == "bid"
    limit = slipped_limit(spec, mark, is_bid, slippage)
    lot_num, lot_den = state.mark_terms[cmd.symbol].lot_value
    reject = check_order(
        state,
        cmd.account,
        state.accounts.get(cmd.account),
        cmd.symbol,
        cmd.side,
        cmd.size_lots,
        cmd.reduce_only,
        cmd.size_lots * lot_num,
        lot_den,
        limit * cmd.size_lots,
    )
    if reject is None and not state.books[cmd.symbol].would_cross(is_bid, limit):
        reject = NO_REASONABLE_PRICE
    return limit if reject is None else reject


def slipped_limit(spec: MarketSpec, reference: Decimal, is_bid: bool, percent: Decimal) -> int:
    """`reference` moved against the taker by `percent`, in ticks: bids round down, asks up."""
    factor = 1 + percent / 100 if is_bid else 1 - percent / 100
    raw = reference * factor / spec.tick_size
    ticks = int(raw.to_integral_value(rounding=ROUND_FLOOR if is_bid else ROUND_CEILING))
    return max(ticks, 1)


def check_band(state: EngineState, spec: MarketSpec, price_ticks: int) -> Reject | None:
    """Error 30: a limit price more than the configured band away from the mark (none unset)."""
    band = state.mark_terms[spec.symbol].band
    if band is None or band[0] <= price_ticks <= band[1]:
        return None
    return _band_reject(state, spec, price_ticks)


@in_decimal_context  # like every reject message below: a limit create's checks run outside it
def _band_reject(state: EngineState, spec: MarketSpec, price_ticks: int) -> Reject:
    price, mark = spec.ticks_to_price(price_ticks), state.marks[spec.symbol]
    return Reject(
        Code.PRICE_TOO_FAR_FROM_MARK,
        f"Price too far from mark: {format_decimal(price)} {format_decimal(mark)}",
    )


def check_order(
    state: EngineState,
    address: str,
    account: Account | None,
    symbol: str,
    side: str,
    size_lots: int,
    reduce_only: bool,
    size_num: int,
    size_den: int,
    margin_units: int,
    replacing: Order | None = None,
) -> Reject | None:
    """The checks every new order (limit, market, edit, triggered stop) passes: 7/8 size, 10
    open orders, then reduce-only (23, 21, 22) or margin (5); first wins. `account` is
    `address`'s account (None if it has none yet).

    `size_num / size_den` tenths (fixedpoint.py) is the notional the 7/8 limits apply to (at
    the order's price; at the mark for market orders); `margin_units` is the notional, in
    units, it would hold or take at worst (at its limit). `replacing` is the order an edit
    cancels: its margin and open-order slot count as free.

    One frame for the common case (a create): it runs for every order."""
    quanta = state.quanta[symbol]
    low, low_den = quanta.min_size
    high, high_den = quanta.max_size
    if size_num * low_den < low * size_den or size_num * high_den > high * size_den:
        return _size_reject(state, symbol, address, size_num, size_den)
    reject = check_open_orders(state, address, account, replacing is not None)
    if reject is not None:
        return reject
    if reduce_only:
        return _check_reduce_only(state.markets[symbol], address, symbol, side, size_lots, account)
    if account is None:  # no collateral at all
        return _insufficient(state, address, account, symbol, margin_units, replacing)
    # 5, exactly in quanta: the order's margin against free collateral
    settings = account.settings
    setting = settings.get(symbol) if settings else None
    rates = quanta.unit_margin
    required = margin_units * rates[-1 if setting is None else setting.leverage]
    num, den = free_quanta(state, account)
    if replacing is not None and not replacing.reduce_only:
        num += _margin_quanta(state, account, replacing) * den
    if required * den > num:
        return _insufficient(state, address, account, symbol, margin_units, replacing)
    return None


@in_decimal_context
def _size_reject(state: EngineState, symbol: str, address: str, num: int, den: int) -> Reject:
    """7 or 8 for a notional of num / den tenths outside the market's limits."""
    spec = state.markets[symbol]
    notional = state.scale.to_decimal(num, den)
    if notional < spec.min_order_size:
        return Reject(
            Code.ORDER_AMOUNT_TOO_LOW,
            f"Order amount too low for {address}: "
            f"{format_decimal(notional)} < {format_decimal(spec.min_order_size)}",
            error_id="invalid_amount",
        )
    return Reject(
        Code.ORDER_AMOUNT_TOO_HIGH,
        f"Order amount too high for {address}: "
        f"{format_decimal(notional)} > {format_decimal(spec.max_order_size)}",
    )


def check_open_orders(
    state: EngineState, address: str, account: Account | None = None, replacing: bool = False
) -> Reject | None:
    """10: the account already has the configured number of open orders (stops included)."""
    if account is None:
        account = state.accounts.get(address)
    limit = state.config.max_open_orders
    if account is not None and len(account.open_ids) + len(account.stop_ids) - replacing >= limit:
        return Reject(
            Code.OPEN_ORDER_LIMIT_REACHED, f"Open order limit reached for {address}: {limit}"
        )
    return None


@in_decimal_context
def _check_reduce_only(
    spec: MarketSpec, address: str, symbol: str, side: str, size_lots: int, account: Account | None
) -> Reject | None:
    size = 0 if account is None else account.position_size(symbol)
    if size == 0:
        return Reject(
            Code.NO_POSITION_FOR_REDUCE_ONLY_ORDER,
            f"No position found for reduce-only order: {address} {symbol}",
        )
    if (size > 0) == (side == "bid"):
        return Reject(
            Code.INVALID_REDUCE_ONLY_ORDER_SIDE,
            "Invalid reduce-only order side: must be opposite to position side",
        )
    if size_lots > abs(size):
        return Reject(
            Code.INVALID_REDUCE_ONLY_ORDER_AMOUNT,
            f"Invalid reduce-only order amount: {spec.format_amount(size_lots)} exceeds "
            f"position amount {spec.format_amount(abs(size))}",
        )
    return None


def _margin_quanta(state: EngineState, account: Account, order: Order) -> int:
    """The margin a resting non-reduce-only order holds, in quanta."""
    rates = state.quanta[order.symbol].unit_margin
    units = order.remaining_lots * order.price_ticks
    return units * rates[leverage(state, account, order.symbol)]


@in_decimal_context
def _insufficient(
    state: EngineState,
    address: str,
    account: Account | None,
    symbol: str,
    units: int,
    replacing: Order | None,
) -> Reject:
    """Error 5, its amounts shown as the account reads them (Decimal, `collateral`)."""
    required = margin(units_to_usd(state.markets[symbol], units), leverage(state, account, symbol))
    equity, position_margin, order_margin = collateral(state, account)
    free = equity - position_margin - order_margin
    if replacing is not None and not replacing.reduce_only:
        spec = state.markets[replacing.symbol]
        units = replacing.remaining_lots * replacing.price_ticks
        free += margin(units_to_usd(spec, units), leverage(state, account, replacing.symbol))
    return insufficient_balance(address, required, free)


def insufficient_balance(address: str, required: Decimal, free: Decimal) -> Reject:
    return Reject(
        Code.INSUFFICIENT_BALANCE,
        f"Insufficient balance for {address}: {format_decimal(required)} "
        f"(account value: {format_decimal(free)})",
    )


def free_quanta(state: EngineState, account: Account) -> tuple[int, int]:
    """The account's free collateral in quanta (fixedpoint.py), exactly: (num, den), den > 0.

    The same sum as `collateral` (equity - position margin - order margin), without rounding:
    the balance, less the margin its open orders hold, plus per position its value at the
    mark less its margin and its cost basis."""
    cached = account.balance_quanta
    if cached[0] is not account.balance:  # the balance changed since it was converted
        cached = state.balance_quanta(account)
    _, num, den = cached
    held = 0
    settings = account.settings
    quanta = state.quanta
    for symbol, units in account.order_units.items():
        setting = settings.get(symbol) if settings else None
        held += units * quanta[symbol].unit_margin[-1 if setting is None else setting.leverage]
    num -= held * den
    lcm = state.scale.lcm
    for symbol, position in account.positions.items():
        size = position.size_lots
        lev = leverage(state, account, symbol)
        lot_num, lot_den = state.mark_terms[symbol].lot_value
        # |size| lots at the mark, less their margin: size x lcm - |size| x lcm / lev quanta
        value = (size * lcm - abs(size) * (lcm // lev)) * lot_num
        num = num * lot_den + value * den
        den *= lot_den
        num -= position.cost_units * quanta[symbol].unit * lcm * den
    return num, den


def leverage(state: EngineState, account: Account | None, symbol: str) -> int:
    """The account's leverage in `symbol`: its setting, else the market's maximum."""
    if account is not None:
        setting = account.settings.get(symbol)
        if setting is not None:
            return setting.leverage
    return state.markets[symbol].max_leverage


def collateral(state: EngineState, account: Account | None) -> tuple[Decimal, Decimal, Decimal]:
    """(equity, position margin, order margin); free collateral is the first minus the others."""
    if account is None:
        return _ZERO, _ZERO, _ZERO
    equity, position_margin = position_terms(state, account)
    order_margin = _ZERO
    unit_values = state.unit_values
    for symbol, units in sorted(account.order_units.items()):
        order_margin += margin(units * unit_values[symbol], leverage(state, account, symbol))
    return equity, position_margin, order_margin


def position_terms(state: EngineState, account: Account) -> tuple[Decimal, Decimal]:
    """Equity (balance + unrealised PnL at mark) and position margin: the part of `collateral`
    that depends on positions."""
    equity = account.balance
    position_margin = _ZERO
    # Symbol order, not insertion order: rounded quotients (leverage 3, say) must be summed in
    # the same order before and after a snapshot/restore.
    for symbol, position in sorted(account.positions.items()):
        spec = state.markets[symbol]
        mark = state.marks[symbol]
        equity += position.size_lots * spec.lot_size * mark - units_to_usd(
            spec, position.cost_units
        )
        position_margin += margin(
            abs(position.size_lots) * spec.lot_size * mark, leverage(state, account, symbol)
        )
    return equity, position_margin


def summary(state: EngineState, address: str) -> AccountSummary:
    account = state.accounts.get(address)
    equity, position_margin, order_margin = collateral(state, account)
    return AccountSummary(
        balance=_ZERO if account is None else account.balance,
        equity=equity,
        margin_used=position_margin,
        order_margin=order_margin,
        available_to_spend=equity - position_margin - order_margin,
        orders_count=0 if account is None else len(account.open_ids),
        stop_orders_count=0 if account is None else len(account.stop_ids),
        positions_count=0 if account is None else len(account.positions),
    )
