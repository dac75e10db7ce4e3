"""Market specifications and the decimal-string <-> integer codec.

Inside the engine a price is an integer number of ticks and an amount an integer number of
lots. The conversion happens once, at the edge, with the market's spec. Off-grid values are
rejected, never rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import msgspec


class MarketSpec(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_order_size: Decimal  # USD notional
    max_order_size: Decimal  # USD notional
    max_leverage: int
    min_tick: Decimal = Decimal(0)
    max_tick: Decimal = Decimal(1_000_000)
    created_at: int = 1748881333944
    initial_mark_price: Decimal = Decimal(0)

    def ticks_to_price(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def lots_to_amount(self, lots: int) -> Decimal:
        return lots * self.lot_size

    def notional(self, price_ticks: int, size_lots: int) -> Decimal:
        return (price_ticks * self.tick_size) * (size_lots * self.lot_size)

    def format_price(self, ticks: int) -> str:
        return format_decimal(ticks * self.tick_size)

    def format_amount(self, lots: int) -> str:
        return format_decimal(lots * self.lot_size)


DEFAULT_MARKETS: tuple[MarketSpec, ...] = (
    MarketSpec(
        symbol="BTC",
        tick_size=Decimal("1"),
        lot_size=Decimal("0.00001"),
        min_order_size=Decimal("10"),
        max_order_size=Decimal("5000000"),
        max_leverage=50,
        created_at=1748881333944,
        initial_mark_price=Decimal("100000"),
    ),
    MarketSpec(
        symbol="ETH",
        tick_size=Decimal("0.1"),
        lot_size=Decimal("0.0001"),
        min_order_size=Decimal("10"),
        max_order_size=Decimal("5000000"),
        max_leverage=50,
        created_at=1748881333945,
        initial_mark_price=Decimal("3500"),
    ),
    MarketSpec(
        symbol="SOL",
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.01"),
        min_order_size=Decimal("10"),
        max_order_size=Decimal("2000000"),
        max_leverage=20,
        created_at=1748881333946,
        initial_mark_price=Decimal("150"),
    ),
)


class OffGrid(ValueError):
    """A decimal string that is not a positive multiple of its grid step."""


class OutOfRange(OffGrid):
    """A decimal string too large to be a price or an amount (the message says why)."""


MAX_INTEGER_DIGITS = 20  # Pacifica's decimals are rust_decimal (28 digits); 20 covers any price
MAX_STEPS = 2**63 - 1  # ticks and lots are journaled as msgpack integers (int64)

# ASCII digits only, one optional leading minus, no exponent, no padding: `Decimal()` alone
# would also take "+1", " 1", "1e3", "1_0", "９５０００" and "95000\n". The integer part's leading
# zeros are captured apart so only significant digits count against MAX_INTEGER_DIGITS.
_DECIMAL = re.compile(r"-?0*([0-9]*)(?:\.[0-9]*)?")


def parse_decimal(text: str) -> Decimal:
    """Parse a wire decimal string strictly: plain finite decimal notation only."""
    if not isinstance(text, str) or not text or len(text) > 40:
        raise OffGrid(f"{text!r} is not a decimal string")
    match = _DECIMAL.fullmatch(text)
    if match is None or text.strip("-.") == "":
        raise OffGrid(f"{text!r} is not a plain decimal string")
    if len(match.group(1)) > MAX_INTEGER_DIGITS:
        raise OutOfRange(f"{text} has more than {MAX_INTEGER_DIGITS} integer digits")
    return Decimal(text)


def to_steps(text: str, step: Decimal) -> int:
    """`text` as an integer count of `step`; raises OffGrid if not an exact positive multiple,
    OutOfRange if the count does not fit the journal's integers."""
    value = parse_decimal(text)
    if value <= 0:
        raise OffGrid(f"{text} must be positive")
    try:
        steps, rest = divmod(value, step)
    except InvalidOperation:  # the quotient needs more digits than the decimal context holds
        raise OutOfRange(f"{text} is too large") from None
    if rest != 0:
        raise OffGrid(f"{text} is not a multiple of {format_decimal(step)}")
    if steps > MAX_STEPS:
        raise OutOfRange(f"{text} is too large")
    return int(steps)


def format_decimal(value: Decimal) -> str:
    """Plain decimal notation with no exponent and no trailing zeros ("0.1", "100000", "0")."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
