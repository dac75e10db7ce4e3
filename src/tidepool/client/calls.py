"""Call descriptions: what one API call sends and how its answer reads, with no I/O.

The builders in `reads` and `actions` return these; `BaseClient` signs, sends and parses them, so
each endpoint is written once for `Client` and `AsyncClient`. An `Action` holds the unsigned
payload: it is signed when sent, so a retry carries a fresh timestamp.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, TypeVar

import msgspec

from tidepool.client.errors import DecodingError, error_for
from tidepool.client.models import BatchResult, OrderRef, Page, Snapshot, StopLeg

__all__ = [
    "Action",
    "Answer",
    "Batch",
    "Call",
    "Cheat",
    "Number",
    "Read",
    "decode_answer",
    "nothing",
    "order_ref",
    "page_of",
    "snapshot_of",
    "stop_leg",
    "value_of",
    "wire_decimal",
]

T = TypeVar("T")
Number = Decimal | str | int


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """Pacifica's envelope (spec §0) and the extra top-level keys a client reads."""

    success: bool
    data: msgspec.Raw = msgspec.Raw(b"null")
    error: str | None = None
    code: int | None = None
    error_id: str | None = None
    last_order_id: int | None = None
    next_cursor: str | None = None
    has_more: bool = False


_answer = msgspec.json.Decoder(Answer)


def decode_answer(status: int, content: bytes) -> Answer:
    """The envelope of a successful answer; raises the ApiError of an error answer, or
    DecodingError when the body is not the envelope (a proxy's HTML page, say)."""
    try:
        answer = _answer.decode(content)
    except msgspec.DecodeError as exc:
        raise DecodingError(f"HTTP {status}: not a Pacifica answer ({exc})", status) from None
    if status >= 400 or not answer.success:
        raise error_for(status, answer.code, answer.error or f"HTTP {status}", answer.error_id)
    return answer


@dataclass(frozen=True)
class Call(Generic[T]):
    path: str  # below the base URL, e.g. "/orders/create"
    parse: Callable[[Answer], T]


@dataclass(frozen=True)
class Read(Call[T]):
    """An unsigned GET. An `account` parameter left None is the client's own address."""

    params: Mapping[str, str | int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Action(Call[T]):
    """A signed POST of one operation type (spec §1.6)."""

    op_type: str
    payload: Mapping[str, Any]
    batch_action: str | None = None  # its `type` inside a batch; None: not batchable
    main_key: bool = False  # only the account's own key may sign it (never an agent)
    # The id that makes a resend unable to create a second order; the order is looked up by it
    # when a retry is answered "Duplicate client order id" (spec A4).
    client_order_id: str | None = None


@dataclass(frozen=True)
class Cheat(Call[T]):
    """An unsigned call to a sandbox route: `path` (/sandbox/...) sits beside the REST root, not
    under it. A GET when `body` is None, else a POST of `body`.

    A POST that changes state is not resent once it may have reached the server: a second
    faucet or time advance would not be the same as one (base.py)."""

    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Batch(Call[list[BatchResult]]):
    """POST /orders/batch: each action signed on its own (spec §2.9)."""

    actions: tuple[Action[Any], ...]


def wire_decimal(value: Number, name: str) -> str:
    """A price or amount as its wire string. Floats are refused: 0.1 is not 0.1."""
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise TypeError(f"{name}: pass a Decimal, str or int, not {type(value).__name__}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name}: {value} is not a finite number")
        return format(value, "f")  # plain digits: str() would give "1E+5"
    return str(value)


def stop_leg(leg: StopLeg) -> dict[str, Any]:
    """A stop-leg object, without the keys left out (the server reads absent, not null)."""
    out: dict[str, Any] = {"stop_price": wire_decimal(leg.stop_price, "stop_price")}
    if leg.limit_price is not None:
        out["limit_price"] = wire_decimal(leg.limit_price, "limit_price")
    if leg.amount is not None:
        out["amount"] = wire_decimal(leg.amount, "amount")
    if leg.client_order_id is not None:
        out["client_order_id"] = leg.client_order_id
    if leg.trigger_price_type is not None:
        out["trigger_price_type"] = leg.trigger_price_type
    return out


def value_of(kind: type[T]) -> Callable[[Answer], T]:
    """`data` as `kind`."""
    decoder = msgspec.json.Decoder(kind)
    return lambda answer: decoder.decode(answer.data)


def snapshot_of(kind: type[T]) -> Callable[[Answer], Snapshot[T]]:
    decoder = msgspec.json.Decoder(list[kind])  # type: ignore[valid-type]
    return lambda answer: Snapshot(
        items=decoder.decode(answer.data), last_order_id=answer.last_order_id
    )


def page_of(kind: type[T]) -> Callable[[Answer], Page[T]]:
    decoder = msgspec.json.Decoder(list[kind])  # type: ignore[valid-type]
    return lambda answer: Page(
        items=decoder.decode(answer.data),
        next_cursor=answer.next_cursor,
        has_more=answer.has_more,
    )


def nothing(answer: Answer) -> None:
    """Actions that answer `data: null`."""


class _OrderId(msgspec.Struct, frozen=True):
    order_id: int


_order_id = msgspec.json.Decoder(_OrderId)


def order_ref(client_order_id: str | None) -> Callable[[Answer], OrderRef]:
    """Creates and edits: `{"order_id": N}`, with the client order id that was sent."""
    return lambda answer: OrderRef(
        order_id=_order_id.decode(answer.data).order_id, client_order_id=client_order_id
    )
