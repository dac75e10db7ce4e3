"""Business rejections: values the engine returns, never exceptions.

Codes are Pacifica's current numbering (spec §6.2). `http_status` is 422 for business
rejections; "Order not found" on a cancel uses the cancel page's own 400 body (spec A1).
"""

from __future__ import annotations

from enum import IntEnum

import msgspec


class Code(IntEnum):
    INTERNAL = 0
    ACCOUNT_NOT_FOUND = 1
    BOOK_NOT_FOUND = 3
    INVALID_TICK_LEVEL = 4
    INSUFFICIENT_BALANCE = 5
    ORDER_NOT_FOUND = 6
    ORDER_AMOUNT_TOO_LOW = 7
    ORDER_AMOUNT_TOO_HIGH = 8
    OPEN_ORDER_LIMIT_REACHED = 10
    INVALID_LEVERAGE = 11
    CANNOT_UPDATE_MARGIN = 12
    POSITION_NOT_FOUND = 13
    INVALID_STOP_TICK = 16
    INVALID_STOP_ORDER_SIDE = 17
    INVALID_STOP_ORDER_AMOUNT = 18
    INVALID_STOP_ORDER_REDUCE_ONLY = 19
    INVALID_ORDER_TYPE = 20
    INVALID_REDUCE_ONLY_ORDER_SIDE = 21
    INVALID_REDUCE_ONLY_ORDER_AMOUNT = 22
    NO_POSITION_FOR_REDUCE_ONLY_ORDER = 23
    NO_REASONABLE_PRICE = 25
    PRICE_TOO_FAR_FROM_MARK = 30
    DUPLICATE_CLIENT_ORDER_ID = 36
    UNUSED_CLIENT_ORDER_ID = 37
    POSITION_TPSL_LIMIT_EXCEEDED = 49


class Reject(msgspec.Struct, frozen=True):
    """A business rejection as the wire shows it: `code` goes into the envelope's `code`."""

    code: int
    message: str
    http_status: int = 422
    error_id: str | None = None


# A request signed by an agent wallet that is not bound to the account (spec A1): 400.
AGENT_NOT_AUTHORIZED = Reject(400, "Agent not authorized for account", 400, "agent_not_authorized")
ORDER_NOT_FOUND_ON_CANCEL = Reject(400, "Order not found", 400, "order_not_found")
# Edit of an order that is not open: HTTP 422 "Order not found" (spec §2.8), code 6.
ORDER_NOT_FOUND_ON_EDIT = Reject(Code.ORDER_NOT_FOUND, "Order not found", 422, "order_not_found")


def book_not_found(symbol: str) -> Reject:
    return Reject(Code.BOOK_NOT_FOUND, f"Book not found: {symbol}")
