"""Integer pre-check of a new limit order: a proven "passes every check" without Decimal.

Why: the Decimal arithmetic of a create's checks (price band, order size, margin) was a third of
the cost of a plain create, the command that dominates journal replay. Integers are ~10x
cheaper, and most orders are nowhere near a limit.

Contract: `passes(...)` True means `risk.check_band` and `risk.check_order` return no Reject for
that order (the order would be accepted). False means "not proven": the caller runs the Decimal
checks, which give the verdict and the message. So this can only skip work, never change a
verdict or a message. tests/engine/test_prechecks.py compares it with the Decimal checks on
hypothesis-drawn markets, balances and orders, most of them near the limits.

Why each answer is exact:
- Band: the prices that pass form one interval of ticks. With r the (monotone) rounding to 40
  digits, g(p) = r(r(p x tick) - mark) is non-decreasing in p, so r(|g(p)|) <= r(mark x band)
  holds on an interval. Its ends, computed once per mark, are confirmed with `check_band`
  itself; then every price between them passes.
- Size: with units = price_ticks x size_lots and units x coef(tick) x coef(lot) < 10**40 (coef:
  the integer coefficient of a Decimal), both factors and the notional are exact (no rounding),
  so notional < min <=> units < ceil(min / unit value), notional > max <=> units > floor(max /
  unit value): an exact test in integers both ways.
- Margin (accounts without positions; others are not tried): integers in quanta of 10**-18 USD
  bound free collateral from below (balance floored, each market's order margin ceiled) and the
  order's margin from above (ceiled). The Decimal path rounds each of its <= 3n + 6 operations
  (n markets with open orders) to 40 significant digits: with every magnitude below 10**20 USD
  (checked), each rounding is off by less than one quantum. So a lower bound of free minus
  required of at least 3n + 7 quanta proves the Decimal `required > free` false.
"""

from __future__ import annotations

from fractions import Fraction

from tidepool.domain.markets import MarketSpec
from tidepool.engine.accounts import Account
from tidepool.engine.money import QUANTA_PER_USD, ceil_fraction
from tidepool.engine.risk import check_band
from tidepool.engine.state import EngineState

_LIMIT = 10**38  # quanta: 10**20 USD


def passes(
    state: EngineState,
    account: Account | None,
    reduce_only: bool,
    symbol: str,
    price_ticks: int,
    plan_ticks: int,
    size_lots: int,
) -> bool:
    """Whether a new limit order provably passes `check_band` (at `price_ticks`) and
    `check_order` (at `plan_ticks`, its price after a TOB re-price). The market exists and
    both prices and the size are positive. Not tried: reduce-only orders, an account's first
    order, accounts with positions. One frame: it runs for every create."""
    all_limits = state.unit_limits
    limits = all_limits[symbol]
    if limits is None or reduce_only or account is None or account.positions:
        return False
    units = plan_ticks * size_lots
    if not limits.min_units <= units <= limits.max_units:
        return False
    mark = state.marks[symbol]
    band = state.band_intervals.get(symbol)
    if band is None or band[0] is not mark:
        band = (mark, *band_interval(state, state.markets[symbol]))
        state.band_intervals[symbol] = band
    if price_ticks < band[1] or (band[2] is not None and price_ticks > band[2]):
        return False
    if len(account.open_ids) + len(account.stop_ids) >= state.config.max_open_orders:
        return False
    # margin, in quanta: free >= balance - order margins (ceiled); required (ceiled)
    settings = account.settings
    setting = settings.get(symbol) if settings else None
    required = -(
        -units
        * limits.unit_quanta
        // (limits.max_leverage if setting is None else setting.leverage)
    )
    order_margin = 0
    held_units = account.order_units
    for s, held in held_units.items():
        held_limits = all_limits[s]
        if held_limits is None:
            return False
        setting = settings.get(s) if settings else None
        lev = held_limits.max_leverage if setting is None else setting.leverage
        order_margin += -(-held * held_limits.unit_quanta // lev)
    cached = account.balance_quanta
    balance = cached[1] if cached is not None and cached[0] is account.balance else None
    if balance is None:
        balance = balance_quanta(account)
    if not (-_LIMIT < balance < _LIMIT and order_margin < _LIMIT and required < _LIMIT):
        return False
    return balance - order_margin - required >= 3 * len(held_units) + 7


def band_interval(state: EngineState, spec: MarketSpec) -> tuple[int, int | None]:
    """(lowest, highest or None for no bound) price in ticks between which every price passes
    `check_band` at the current mark; an empty interval if the ends do not confirm."""
    band = state.config.price_band
    mark = state.marks[spec.symbol]
    if band is None or mark <= 0:
        return 1, None
    tick, m, width = Fraction(spec.tick_size), Fraction(mark), Fraction(mark) * Fraction(band)
    lo, hi = ceil_fraction((m - width) / tick), int((m + width) // tick)
    for _ in range(2):  # a rounding at an end may exclude it: step inwards, then give up
        if check_band(state, spec, lo) is None and check_band(state, spec, hi) is None:
            return lo, hi
        lo, hi = lo + 1, hi - 1
    return 1, 0


def balance_quanta(account: Account) -> int:
    """floor(balance x 10**18), cached on the account for the balance object it came from (a
    Decimal is immutable and the cache holds it, so the same object means the same value)."""
    cached = account.balance_quanta
    balance = account.balance
    if cached is not None and cached[0] is balance:
        return cached[1]
    n, d = balance.as_integer_ratio()
    quanta = n * QUANTA_PER_USD // d
    account.balance_quanta = (balance, quanta)
    return quanta
