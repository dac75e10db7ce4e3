"""Query-string parameters of the unsigned GET endpoints, with 400s that name the parameter."""

from __future__ import annotations

from tidepool.gateway.envelope import Response, bad_request
from tidepool.gateway.errors import WireError
from tidepool.gateway.request import Request


def query_str(req: Request, name: str, default: str | None = None) -> str:
    value = req.query.get(name, default)
    if value is None or value == "":
        raise WireError(bad_request(f"Missing query parameter: {name}"))
    return value


U64_MAX = 2**64 - 1  # ids and millisecond timestamps: Pacifica's server reads them as u64


def query_int(
    req: Request, name: str, default: int | None = None, *, lo: int = 0, hi: int = U64_MAX
) -> int:
    """An integer parameter in lo..hi; 400 naming it when missing (without a default),
    malformed or out of range."""
    text = req.query.get(name)
    if text is None:
        if default is None:
            raise WireError(bad_request(f"Missing query parameter: {name}"))
        return default
    # ASCII digits only: int() would also take a sign, spaces, underscores and the digits of
    # other scripts. The length check keeps int() from converting thousands of digits.
    if (
        not (text.isascii() and text.isdigit())
        or len(text.lstrip("0")) > len(str(hi))
        or not lo <= int(text) <= hi
    ):
        raise WireError(_out_of_range(name, lo, hi))
    return int(text)


def _out_of_range(name: str, lo: int, hi: int) -> Response:
    return bad_request(f"Invalid query parameter {name}: must be an integer from {lo} to {hi}")


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def encode_cursor(value: int) -> str:
    """A pagination cursor: the id to continue below, base58 (Pacifica's cursors look alike)."""
    digits = ""
    while True:
        value, rest = divmod(value, 58)
        digits = _B58[rest] + digits
        if value == 0:
            return digits


def query_cursor(req: Request) -> int | None:
    """The `cursor` of a history page: base58 of an id, so at most U64_MAX."""
    text = req.query.get("cursor")
    if not text:
        return None
    value = 0
    # 58**12 > 2**64: a longer cursor is out of range, and is refused before any arithmetic
    digits = [_B58.find(char) for char in text] if len(text) <= 12 else [-1]
    for digit in digits:
        value = value * 58 + digit
    if min(digits) < 0 or value > U64_MAX:
        raise WireError(bad_request(f"Invalid query parameter cursor: {text[:20]!r}"))
    return value


def query_limit(req: Request, default: int, maximum: int) -> int:
    return query_int(req, "limit", default, lo=1, hi=maximum)


def query_opt_int(req: Request, name: str) -> int | None:
    return query_int(req, name) if req.query.get(name) else None
