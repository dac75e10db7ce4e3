"""What a client call raises: one tree, read from the HTTP status and Pacifica's envelope.

    ClientError
     ├── TransportError ............ no answer: connect, timeout, connection dropped (after retries)
     ├── DecodingError ............. an answer that is not Pacifica's envelope, or not the model
     └── ApiError .................. an error envelope: .status .code .message .error_id
          ├── InvalidRequest ....... 400 malformed or invalid parameters, off-tick price, ...
          │    ├── SignatureError .. 400 Invalid signature/message/public key, Verification failed
          │    └── AgentNotAuthorized  400 the agent wallet is not bound to the account
          ├── NotFound ............. 404 unknown path, no history for an order id
          ├── OrderNotFound ........ the order is not open (cancel's 400, edit's 422 code 6)
          │    └── UnusedClientOrderId  422 code 37
          ├── BusinessError ........ 422 with a business code of spec §6.2
          │    ├── BookNotFound ............ 3
          │    ├── InsufficientBalance ..... 5
          │    ├── OrderAmountTooLow ....... 7
          │    ├── OrderAmountTooHigh ...... 8
          │    ├── OpenOrderLimitReached ... 10
          │    ├── InvalidLeverage ......... 11
          │    ├── PositionNotFound ........ 13
          │    ├── NoReasonablePrice ....... 25
          │    ├── PriceTooFarFromMark ..... 30
          │    └── DuplicateClientOrderId .. 36
          ├── RateLimited .......... 429
          └── ServerError .......... 5xx (500 internal error, 503 the journal cannot write)

`error_for` picks the class. The mapping follows the wire, not the exchange's code: the message
texts are Pacifica's (spec §1.3, A1), and the business codes its current numbering (§6.2).

A WebSocket error reply (spec §5.4, A9) has its own codes and no business code: `ws_error_for`
maps it onto the same tree (401, 402 → SignatureError; 403 → AgentNotAuthorized or ApiError;
420 → the class of the business code its text's template names, `.code` set to that number;
400, 429, 5xx as over REST), with `.status` the WebSocket code.
"""

from __future__ import annotations

from typing import Final

from tidepool.pacifica.errors import (
    INVALID_MESSAGE,
    INVALID_PUBLIC_KEY,
    INVALID_SIGNATURE,
    VERIFICATION_FAILED,
)

__all__ = [
    "AgentNotAuthorized",
    "ApiError",
    "BookNotFound",
    "BusinessError",
    "ClientError",
    "DecodingError",
    "DuplicateClientOrderId",
    "InsufficientBalance",
    "InvalidLeverage",
    "InvalidRequest",
    "NoReasonablePrice",
    "NotFound",
    "OpenOrderLimitReached",
    "OrderAmountTooHigh",
    "OrderAmountTooLow",
    "OrderNotFound",
    "PositionNotFound",
    "PriceTooFarFromMark",
    "RateLimited",
    "ServerError",
    "SignatureError",
    "TransportError",
    "UnusedClientOrderId",
    "error_for",
    "ws_error_for",
]


class ClientError(Exception):
    """Anything a `tidepool.client` call raises about the exchange or the way to it."""


class TransportError(ClientError):
    """No answer came back (after the retries the client is allowed to make)."""


class DecodingError(ClientError):
    """An answer came back that is not Pacifica's envelope, or whose data is not the model."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ApiError(ClientError):
    """The server answered with an error envelope."""

    def __init__(self, status: int, code: int | None, message: str, error_id: str | None) -> None:
        super().__init__(f"{status} {message}" if code in (None, status) else f"{message} ({code})")
        self.status = status
        self.code = code
        self.message = message
        self.error_id = error_id


class InvalidRequest(ApiError):
    pass


class SignatureError(InvalidRequest):
    pass


class AgentNotAuthorized(InvalidRequest):
    pass


class NotFound(ApiError):
    pass


class OrderNotFound(ApiError):
    pass


class UnusedClientOrderId(OrderNotFound):
    pass


class BusinessError(ApiError):
    pass


class BookNotFound(BusinessError):
    pass


class InsufficientBalance(BusinessError):
    pass


class OrderAmountTooLow(BusinessError):
    pass


class OrderAmountTooHigh(BusinessError):
    pass


class OpenOrderLimitReached(BusinessError):
    pass


class InvalidLeverage(BusinessError):
    pass


class PositionNotFound(BusinessError):
    pass


class NoReasonablePrice(BusinessError):
    pass


class PriceTooFarFromMark(BusinessError):
    pass


class DuplicateClientOrderId(BusinessError):
    pass


class RateLimited(ApiError):
    pass


class ServerError(ApiError):
    pass


# Business codes (spec §6.2) with a class of their own; the rest are BusinessError.
BUSINESS_CODES: Final[dict[int, type[ApiError]]] = {
    3: BookNotFound,
    5: InsufficientBalance,
    6: OrderNotFound,
    7: OrderAmountTooLow,
    8: OrderAmountTooHigh,
    10: OpenOrderLimitReached,
    11: InvalidLeverage,
    13: PositionNotFound,
    25: NoReasonablePrice,
    30: PriceTooFarFromMark,
    36: DuplicateClientOrderId,
    37: UnusedClientOrderId,
}
DUPLICATE_CLIENT_ORDER_ID: Final = 36

# Prefixes, because verifiers append a detail ("Invalid message: expired ...") and ccxt matches
# these texts by prefix too (spec §6.4).
_SIGNATURE_TEXTS: Final = (
    INVALID_SIGNATURE,
    INVALID_MESSAGE,
    INVALID_PUBLIC_KEY,
    VERIFICATION_FAILED.partition(":")[0],
)
# The wire text of spec A1; the server's copy lives in a package a client may not import.
_AGENT_NOT_AUTHORIZED: Final = "Agent not authorized"
_ORDER_NOT_FOUND: Final = "Order not found"


def error_for(status: int, code: int | None, message: str, error_id: str | None) -> ApiError:
    """The exception for one error answer."""
    kind: type[ApiError] = ApiError
    if status == 422:
        kind = BUSINESS_CODES.get(code, BusinessError) if code is not None else BusinessError
    elif message.startswith(_ORDER_NOT_FOUND):
        kind = OrderNotFound
    elif status == 400:
        if message.startswith(_SIGNATURE_TEXTS):
            kind = SignatureError
        elif message.startswith(_AGENT_NOT_AUTHORIZED):
            kind = AgentNotAuthorized
        else:
            kind = InvalidRequest
    elif status == 404:
        kind = NotFound
    elif status == 429:
        kind = RateLimited
    elif status >= 500:
        kind = ServerError
    return kind(status, code, message, error_id)


# The templates' fixed beginnings (spec §6.2) of the business codes with a class of their own:
# a WebSocket rejection carries only the text.
_BUSINESS_TEXTS: Final = (
    ("Book not found", 3),
    ("Insufficient balance", 5),
    (_ORDER_NOT_FOUND, 6),
    ("Order amount too low", 7),
    ("Order amount too high", 8),
    ("Open order limit reached", 10),
    ("Cannot decrease leverage", 11),
    ("Position not found", 13),
    ("No reasonable price", 25),
    ("Price too far from mark", 30),
    ("Duplicate client order id", DUPLICATE_CLIENT_ORDER_ID),
    ("Unused client order id", 37),
)


def ws_error_for(code: int, message: str) -> ApiError:
    """The exception for one WebSocket error reply `{"code", "err"}`."""
    kind: type[ApiError]
    business: int | None = code
    if code == 420:
        business = next((n for text, n in _BUSINESS_TEXTS if message.startswith(text)), None)
        kind = BusinessError if business is None else BUSINESS_CODES[business]
    elif code in (401, 402):
        kind = SignatureError
    elif code == 403:
        kind = AgentNotAuthorized if message.startswith(_AGENT_NOT_AUTHORIZED) else ApiError
    else:
        return error_for(code, code, message, None)
    return kind(code, business, message, None)
