"""Query-string parameters of the unsigned GET endpoints, with 400s that name the parameter."""

from __future__ import annotations

from tidepool.gateway.context import Request, WireError
from tidepool.wire.envelope import bad_request


def query_str(req: Request, name: str, default: str | None = None) -> str:
    value = req.query.get(name, default)
    if value is None or value == "":
        raise WireError(bad_request(f"Missing query parameter: {name}"))
    return value


def query_int(req: Request, name: str, default: int | None = None) -> int:
    text = req.query.get(name)
    if text is None:
        if default is None:
            raise WireError(bad_request(f"Missing query parameter: {name}"))
        return default
    try:
        return int(text)
    except ValueError:
        raise WireError(
            bad_request(f"Invalid query parameter {name}: {text!r} is not an integer")
        ) from None


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
    text = req.query.get("cursor")
    if not text:
        return None
    value = 0
    for char in text:
        digit = _B58.find(char)
        if digit < 0 or len(text) > 12:
            raise WireError(bad_request(f"Invalid cursor: {text!r}"))
        value = value * 58 + digit
    return value


def query_limit(req: Request, default: int, maximum: int) -> int:
    limit = query_int(req, "limit", default)
    if not 1 <= limit <= maximum:
        raise WireError(bad_request(f"Invalid query parameter limit: must be 1..{maximum}"))
    return limit


def query_opt_int(req: Request, name: str) -> int | None:
    return query_int(req, name) if req.query.get(name) else None
