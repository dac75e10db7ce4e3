"""What the engine and the edges agree on: market specs with the decimal <-> ticks/lots codec,
and business rejections (Pacifica's codes and texts)."""

from tidepool.domain.errors import AGENT_NOT_AUTHORIZED, Code, Reject, book_not_found
from tidepool.domain.markets import (
    DEFAULT_MARKETS,
    MarketSpec,
    OffGrid,
    OutOfRange,
    format_decimal,
    parse_decimal,
    to_steps,
)

__all__ = [
    "AGENT_NOT_AUTHORIZED",
    "DEFAULT_MARKETS",
    "Code",
    "MarketSpec",
    "OffGrid",
    "OutOfRange",
    "Reject",
    "book_not_found",
    "format_decimal",
    "parse_decimal",
    "to_steps",
]
