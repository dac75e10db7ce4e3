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
