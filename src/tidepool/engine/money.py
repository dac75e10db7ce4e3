"""Exact collateral arithmetic: the decimal context every engine computation runs in.

Invariants:
- Collateral (balances, fees, PnL, margin) is `Decimal`; no float ever enters the engine.
- Every public `Engine` method computes inside `DECIMAL_CONTEXT` (precision 40, half-even), so the
  caller's thread context (which anyone may change) cannot alter a result.
- Sums and products of grid values (ticks x tick_size, lots x lot_size, fee rates) stay far below
  40 significant digits, so they are exact. Only divisions round, deterministically: margin
  (notional / leverage) and the displayed average prices.
- A "unit" is one tick times one lot of a market: `price_ticks * size_lots` is a notional in units,
  kept as an exact integer (open-order notionals, position cost bases, filled notionals).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    getcontext,
    setcontext,
)
from functools import wraps
from typing import ParamSpec, TypeVar

from tidepool.domain.markets import MarketSpec, format_decimal

DECIMAL_CONTEXT = Context(
    prec=40, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)

# The context object engine code actually runs in: a private copy, so nobody holding
# DECIMAL_CONTEXT can change it under the engine. Only its sticky flags ever change (they never
# alter a result), which is why one object can be reused instead of a fresh copy per call.
ENGINE_CONTEXT = DECIMAL_CONTEXT.copy()

# Average and entry prices are shown rounded to a millionth of a tick.
_PRICE_DIGITS = 6

P = ParamSpec("P")
R = TypeVar("R")


def in_decimal_context(fn: Callable[P, R]) -> Callable[P, R]:
    """Run `fn` with DECIMAL_CONTEXT as the thread's decimal context, restoring the caller's.

    `localcontext()` copies the context on every call (~0.5 µs); swapping in one private,
    never-modified copy and swapping back is ~0.2 µs, and the same guarantee."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        saved = getcontext()
        if saved is ENGINE_CONTEXT:  # already inside an engine call
            return fn(*args, **kwargs)
        setcontext(ENGINE_CONTEXT)
        try:
            return fn(*args, **kwargs)
        finally:
            setcontext(saved)

    return wrapper


def unit_value(spec: MarketSpec) -> Decimal:
    """The USD value of one unit (one tick times one lot)."""
    return spec.tick_size * spec.lot_size


def units_to_usd(spec: MarketSpec, units: int) -> Decimal:
    return units * unit_value(spec)


def average_price(spec: MarketSpec, units: int, lots: int) -> Decimal:
    """`units / lots` ticks as a price, rounded to a millionth of a tick; 0 when `lots` is 0."""
    if lots == 0:
        return Decimal(0)
    quantum = spec.tick_size.scaleb(-_PRICE_DIGITS)
    price = (Decimal(units) * spec.tick_size) / Decimal(lots)
    # Plain notation without trailing zeros: 100000, not 1E+5 or 100000.000000.
    return Decimal(format_decimal(price.quantize(quantum)))


def margin(notional: Decimal, leverage: int) -> Decimal:
    return notional / leverage
