"""How one `tidepool serve` setting is declared: its default, how its text is read, its help.

`config.Config` declares every setting once, as a field whose default is `option(...)`; the
flag, the environment variable and the config-file key are all derived from the field's name
(configsources). A value arrives as text from every source (a flag, an environment variable,
or a config-file value rendered as text), so each setting has exactly one parser, and a bad
value is the same error wherever it was written.

A parser raises `BadValue` with a message that does not name the setting: the caller knows
which key and which source it came from, and prefixes both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")

OPTION = "tidepool.option"  # the dataclass field metadata key that holds an Option


class BadValue(ValueError):
    """A value its setting cannot take; the message says why, in a few words."""


@dataclass(frozen=True)
class Option(Generic[T]):
    parse: Callable[[str], T]
    help: str
    shown: str | None = None  # the default as `--help` shows it (None: str() of the default)
    switch: bool = False  # a flag that takes no value: --name / --no-name
    relative: bool = False  # a path: relative in a config file means from the file's directory
    metavar: str | None = None


def option(
    default: T,
    parse: Callable[[str], T],
    help: str,
    *,
    shown: str | None = None,
    switch: bool = False,
    relative: bool = False,
    metavar: str | None = None,
) -> T:
    """A Config field's default, carrying the Option that reads it from text."""
    spec = Option(parse, help, shown, switch, relative, metavar)
    return field(default=default, metadata={OPTION: spec})


def option_of(f: Field[Any]) -> Option[Any] | None:
    found = f.metadata.get(OPTION)
    return cast(Option[Any], found) if found is not None else None


# --------------------------------------------------------------------------- value parsers


def whole(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An integer in [minimum, maximum]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise BadValue(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise BadValue(f"{value} must be at least {minimum}{upper}")
        return value

    return parse


def optional_whole(minimum: int) -> Callable[[str], int | None]:
    """An integer of at least minimum, or none: the empty string or `none` (no limit)."""
    parse_whole = whole(minimum)

    def parse(text: str) -> int | None:
        return None if text.strip().lower() in ("", "none") else parse_whole(text)

    return parse


def fraction(text: str) -> Decimal:
    """A decimal of at least 0 (fees, the price band)."""
    try:
        value = Decimal(text)
    except (ArithmeticError, InvalidOperation):
        raise BadValue(f"{text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BadValue(f"{text} must be a number of at least 0")
    return value


def amount(text: str) -> Decimal:
    """A USDC amount above 0 (a dev account's balance)."""
    value = fraction(text)
    if value == 0:
        raise BadValue("0 is not a balance to fund; give an amount above 0")
    return value


_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


def boolean(text: str) -> bool:
    """true/false, on/off, yes/no or 1/0 (TOML booleans arrive as true/false)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadValue(f"{text!r} is not one of true, false, on, off, yes, no, 1, 0")


def choice(*names: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in names:
            raise BadValue(f"{text!r} is not one of {', '.join(names)}")
        return text

    return parse


def path(text: str) -> Path:
    if not text:
        raise BadValue("an empty path")
    return Path(text)


def optional_path(text: str) -> Path | None:
    """A path; the empty string (an environment variable set to nothing) means none."""
    return Path(text) if text else None
