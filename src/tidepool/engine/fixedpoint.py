"""Fixed-point money for the risk checks: every verdict is an exact integer comparison.

Why integers: a create's checks (price band, order size, margin) used to compare Decimal amounts
built by ~20 Decimal operations inside the engine's decimal context. Here they are a few integer
operations that need no context, and they are exact. Margin is notional / leverage, which
Decimal rounded to 40 digits; compared exactly, a verdict can differ from the rounded one only
at a tie in the 40th significant digit (docs/wire-decisions.md, "Margin checks are exact").
State keeps its money in Decimal (balances, fees, PnL, marks): this module only reads it, and
reject messages are still formatted from Decimal.

The scale. A "tenth" is 10**-digits USD, with `digits` >= 18 and >= the decimals of every
market's unit value (tick x lot, `money.py`), so one unit of every market is a whole number of
tenths. A "quantum" is a tenth / `lcm`, where `lcm` = lcm(1 .. the largest max_leverage of any
market): a whole number of tenths divided by any allowed leverage is a whole number of quanta.
So an order's notional (units) and its margin (units / leverage) are exact integers of quanta,
precomputed per unit and leverage (`MarketQuanta.unit_margin`).

A Decimal with more decimals than `digits` (a mark with many digits times a lot size, a balance
carrying the dust of fees) is kept as the exact fraction num / den (den > 0, a product of 2s
and 5s); comparisons cross-multiply, so nothing ever rounds.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import ceil, floor, gcd, lcm

from tidepool.domain.markets import MarketSpec
from tidepool.engine.money import ENGINE_CONTEXT

_MIN_DIGITS = 18


class Scale:
    """The engine's fixed-point scale (see the module docstring); fixed by its markets."""

    __slots__ = ("lcm", "tenths_per_usd")

    def __init__(self, markets: list[MarketSpec]) -> None:
        digits = _MIN_DIGITS
        for spec in markets:
            exponent = (spec.tick_size * spec.lot_size).normalize().as_tuple().exponent
            assert isinstance(exponent, int), f"{spec.symbol}: tick and lot sizes are finite"
            digits = max(digits, -exponent)
        self.tenths_per_usd = 10**digits
        self.lcm = lcm(1, *(range(1, 1 + max((s.max_leverage for s in markets), default=1))))

    def tenths(self, value: Decimal | Fraction) -> tuple[int, int]:
        """`value` in tenths, exactly: (num, den), den > 0 and 1 whenever it can be."""
        num, den = value.as_integer_ratio()
        num *= self.tenths_per_usd
        if den != 1:
            common = gcd(num, den)
            num, den = num // common, den // common
        return num, den

    def to_decimal(self, num: int, den: int) -> Decimal:
        """num / den tenths in USD, for messages; exact when it has at most 40 digits (it
        always has for the amounts messages show: products of grid values)."""
        return ENGINE_CONTEXT.divide(Decimal(num), Decimal(den * self.tenths_per_usd))


class MarketQuanta:
    """One market's constants in fixed point (derived from its spec, never mutated)."""

    __slots__ = ("max_size", "min_size", "unit", "unit_margin")

    def __init__(self, scale: Scale, spec: MarketSpec) -> None:
        unit, den = scale.tenths(Fraction(spec.tick_size) * Fraction(spec.lot_size))
        assert den == 1, "the scale has a tenth small enough for every unit value"
        self.unit = unit  # one unit (tick x lot) in tenths
        # the margin of one unit at leverage `lev`, in quanta: unit_margin[lev] (0 unused;
        # [-1] is at the market's max leverage, the default)
        levels = range(1, 1 + spec.max_leverage)
        self.unit_margin = [0, *(unit * (scale.lcm // lev) for lev in levels)]
        # the order size limits (min_order_size / max_order_size) in tenths
        self.min_size = scale.tenths(spec.min_order_size)
        self.max_size = scale.tenths(spec.max_order_size)


class MarkTerms:
    """What the checks need of one market's mark, computed once per mark (`EngineState.set_mark`).

    `lot_value` is one lot at the mark, in tenths (num, den); `band` is the range of limit
    prices, in ticks, within the configured band around the mark (None: no band applies)."""

    __slots__ = ("band", "lot_value")

    def __init__(self, scale: Scale, spec: MarketSpec, mark: Decimal, band: Decimal | None) -> None:
        exact = Fraction(mark)
        self.lot_value = scale.tenths(exact * Fraction(spec.lot_size))
        self.band: tuple[int, int] | None = None
        if band is not None and mark > 0:
            # |price - mark| <= mark x band, with price = ticks x tick_size
            width, tick = exact * Fraction(band), Fraction(spec.tick_size)
            self.band = (ceil((exact - width) / tick), floor((exact + width) / tick))
