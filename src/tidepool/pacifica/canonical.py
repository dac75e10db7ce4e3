"""The canonical message: the exact bytes a Pacifica signature covers (spec A3, §1.1–1.2).

Guarantees:

* `canonical_message` returns exactly the bytes of Pacifica's official recipe,
  ``json.dumps(sort_json_keys({"type", "timestamp", "expiry_window", "data"}),
  separators=(",", ":")).encode()``. orjson produces them when it provably gives the same bytes
  (only dicts with str keys, lists, str, bool, None and 64-bit ints, and for the default
  ``ensure_ascii`` form no byte outside printable ASCII); anything else goes through the stdlib,
  so the fast path can never change a byte.
* `message_forms` yields the A3 forms of one message: the ``ensure_ascii`` form the official SDK
  signs, then the raw UTF-8 form JS and Rust clients sign, only when its bytes differ.
* Nothing here reads a clock or keeps state: the same arguments give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, Final

import orjson

__all__ = [
    "AGENT_PAYLOAD_OPS",
    "DEFAULT_EXPIRY_WINDOW",
    "HEADER_KEYS",
    "WINDOW_ABSENT",
    "canonical_message",
    "fast_ascii_message",
    "message_forms",
]

# The auth fields of a flat signed body (§1.2); everything else is the signed payload.
HEADER_KEYS: Final[frozenset[str]] = frozenset(
    {"account", "agent_wallet", "signature", "timestamp", "expiry_window"}
)
# The window a request that leaves `expiry_window` out gets (§1.2).
DEFAULT_EXPIRY_WINDOW: Final = 30_000

# Operations whose `agent_wallet` is the signed subject of the request (the main key signs it),
# not the agent that signed (spec §1.4).
AGENT_PAYLOAD_OPS: Final[frozenset[str]] = frozenset(
    {
        "bind_agent_wallet",
        "revoke_agent_wallet",
        "add_agent_whitelisted_ip",
        "remove_agent_whitelisted_ip",
        "set_agent_ip_whitelist_enabled",
    }
)


class _Absent:
    """Marks an `expiry_window` key left out of the message (distinct from a JSON null)."""


# The `window` of `fast_ascii_message` and `message_forms` that leaves the key out.
WINDOW_ABSENT: Final = _Absent()


def _sort_json_keys(value: Any) -> Any:
    """The official SDK's `sort_json_keys`, kept literal so the fallback is the reference."""
    if isinstance(value, dict):
        return {key: _sort_json_keys(value[key]) for key in sorted(value.keys())}
    if isinstance(value, list):
        return [_sort_json_keys(item) for item in value]
    return value


def _stdlib(message: Mapping[str, Any], ensure_ascii: bool) -> bytes:
    text = json.dumps(_sort_json_keys(message), separators=(",", ":"), ensure_ascii=ensure_ascii)
    return text.encode("utf-8")


def _orjson_safe(value: Any) -> bool:
    """True if orjson renders `value` like the stdlib (up to the ASCII question).

    Exact type checks on purpose: floats print differently (``1e16`` vs ``1e+16``, NaN), tuples
    are not key-sorted by the SDK recipe, and orjson serializes types (enums, dataclasses, UUIDs)
    that the stdlib refuses. Non-str keys and ints beyond 64 bits make orjson raise, which the
    caller treats as "use the stdlib".
    """
    kind = type(value)
    if kind is dict:
        items = value.values()
    elif kind is list:
        items = value
    else:
        return kind in _SCALARS
    # Scalars are tested inline: payloads are mostly flat, and a call per field would cost more
    # than the orjson encoding this check protects.
    for item in items:
        kind = type(item)
        if kind in _SCALARS:
            continue
        if (kind is dict or kind is list) and _orjson_safe(item):
            continue
        return False
    return True


_SCALARS: Final = frozenset({str, int, bool, type(None)})


def _orjson(op_type: Any, timestamp: Any, window: Any, data: dict[str, Any]) -> bytes | None:
    """orjson's sorted compact form of the message (raw UTF-8), or None where it could differ
    from the stdlib.

    Only `data` goes through orjson; the header is framed around it by hand. The four keys sort
    as data, expiry_window, timestamp, type whatever the values, and an int (never a bool) prints
    the same digits in both encoders; the type string goes through orjson like any other string.
    This skips building and sorting an outer dict for every candidate message.
    """
    if window is WINDOW_ABSENT:
        window_part = b""
    elif window is None:
        window_part = b',"expiry_window":null'
    elif type(window) is int:
        window_part = b',"expiry_window":%d' % window
    else:
        return None
    if type(op_type) is not str or type(timestamp) is not int or not _orjson_safe(data):
        return None
    try:
        body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        kind = orjson.dumps(op_type)
    except TypeError:  # orjson.JSONEncodeError: non-str key, >64-bit int, lone surrogate
        return None
    return b'{"data":%b%b,"timestamp":%d,"type":%b}' % (body, window_part, timestamp, kind)


def _ascii_equal(raw: bytes) -> bool:
    # The stdlib's ensure_ascii escapes everything outside " "..."~" as \\uXXXX; orjson leaves
    # non-ASCII and DEL raw and escapes control characters exactly like the stdlib does.
    # DEL is looked for as the int 127: `b"\x7f" in raw` first tries the bytes as an int, and
    # the TypeError it makes and drops costs more than the search (~0.3 µs per request).
    return raw.isascii() and 127 not in raw


def _data(payload: Any) -> dict[str, Any]:
    return payload if type(payload) is dict else dict(payload)


def _header(
    op_type: str, timestamp: Any, expiry_window: Any, data: dict[str, Any]
) -> dict[str, Any]:
    message: dict[str, Any] = {"type": op_type, "timestamp": timestamp}
    if expiry_window is not WINDOW_ABSENT:
        message["expiry_window"] = expiry_window
    message["data"] = data
    return message


def canonical_message(
    op_type: str,
    timestamp: int,
    expiry_window: int | None,
    payload: Mapping[str, Any],
    *,
    ensure_ascii: bool = True,
) -> bytes:
    """The exact bytes Pacifica signs (spec §1.1); ``expiry_window=None`` leaves the key out.

    ``ensure_ascii=True`` is the official Python SDK's form; ``False`` is what JS and Rust
    clients sign (non-ASCII text as raw UTF-8).
    """
    window: Any = WINDOW_ABSENT if expiry_window is None else expiry_window
    data = _data(payload)
    raw = _orjson(op_type, timestamp, window, data)
    if raw is not None and (not ensure_ascii or _ascii_equal(raw)):
        return raw
    return _stdlib(_header(op_type, timestamp, window, data), ensure_ascii)


def fast_ascii_message(
    op_type: str, timestamp: int, window: Any, data: dict[str, Any]
) -> bytes | None:
    """The ``ensure_ascii`` form when orjson alone provably produces it (the message nearly
    every client signs), else None. `window` is an int, None (a JSON null) or WINDOW_ABSENT."""
    raw = _orjson(op_type, timestamp, window, data)
    return raw if raw is not None and _ascii_equal(raw) else None


def message_forms(
    op_type: str, timestamp: int, window: Any, data: dict[str, Any]
) -> Iterator[bytes]:
    """The ensure_ascii form, then the raw UTF-8 form if (and only if) its bytes differ (A3).

    They differ exactly when some string holds non-ASCII text (or DEL, the one ASCII character
    Python escapes); the raw form is built lazily because it is only needed after a failure.
    `window` is an int, None (a JSON null) or WINDOW_ABSENT.
    """
    raw = _orjson(op_type, timestamp, window, data)
    if raw is not None:
        if _ascii_equal(raw):
            yield raw
            return
        yield _stdlib(_header(op_type, timestamp, window, data), True)
        yield raw
        return
    message = _header(op_type, timestamp, window, data)
    ascii_form = _stdlib(message, True)
    yield ascii_form
    try:
        raw = _stdlib(message, False)
    except UnicodeEncodeError:  # lone surrogates have no UTF-8 form
        return
    if raw != ascii_form:
        yield raw
