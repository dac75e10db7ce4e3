"""Pacifica's REST envelope: every body is `{"success", "data", "error", "code"}` (spec §0, A1).

Responses are encoded once, here, with msgspec. Extra top-level keys (`last_order_id`,
`cancelled_count`, `next_cursor`, `has_more`, `error_id`) follow the four envelope keys.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tidepool.domain.errors import Reject

_encoder = msgspec.json.Encoder(decimal_format="string")


JSON = b"application/json"


class Response(msgspec.Struct, frozen=True):
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()  # beyond content type and length
    content_type: bytes = JSON  # every answer is JSON but /metrics' Prometheus text


def ok(data: Any = None, *, inline: dict[str, Any] | None = None, **after: Any) -> Response:
    """Success envelope. Key order follows Pacifica's examples: `inline` keys (the cancel-all
    page's `cancelled_count`, pagination's `next_cursor`/`has_more`) sit between `data` and
    `error`; `after` keys (`last_order_id`) follow `code`."""
    payload: dict[str, Any] = {"success": True, "data": data}
    if inline:
        payload.update(inline)
    payload["error"] = None
    payload["code"] = None
    payload.update(after)
    return Response(200, _encoder.encode(payload))


def error(
    status: int, message: str, code: int | None = None, error_id: str | None = None
) -> Response:
    """`code` defaults to the HTTP status, as Pacifica does for non-422 errors."""
    payload: dict[str, Any] = {
        "success": False,
        "data": None,
        "error": message,
        "code": status if code is None else code,
    }
    if error_id is not None:
        payload["error_id"] = error_id
    return Response(status, _encoder.encode(payload))


def rejected(reject: Reject) -> Response:
    return error(reject.http_status, reject.message, reject.code, reject.error_id)


# The answer of every successful action without data (cancel, leverage, agent bind...): encoded
# once, shared (a Response is immutable).
OK_EMPTY = ok(None)


def ok_or_rejected(reject: Reject | None) -> Response:
    """An action's answer: its rejection's envelope, or success without data."""
    return OK_EMPTY if reject is None else rejected(reject)


def bad_request(message: str, error_id: str | None = None) -> Response:
    return error(400, message, 400, error_id)


def invalid_parameters(detail: str) -> Response:
    """Cancel pages' form: the message starts with "Invalid parameters" (spec A1)."""
    return bad_request(f"Invalid parameters: {detail}", "invalid_parameters")


INTERNAL_ERROR = error(500, "Internal server error", 500)
