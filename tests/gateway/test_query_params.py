"""Every numeric query parameter of every GET route is a bounded integer: anything else is a 400
envelope naming the parameter, never a 500 (issue 12, finding 7)."""

from __future__ import annotations

from typing import Any

import pytest

from harness import Harness
from pacifica_recipe import keypair
from tidepool.gateway.query import encode_cursor

U64_MAX = 2**64 - 1
ACCOUNT = str(keypair(1).pubkey())
KLINE = {"symbol": "BTC", "interval": "1m", "start_time": 0}

# (path, the other parameters it needs, a numeric parameter)
NUMERIC: list[tuple[str, dict[str, Any], str]] = [
    ("/api/v1/kline", KLINE, "start_time"),
    ("/api/v1/kline", KLINE, "end_time"),
    ("/api/v1/kline", KLINE, "limit"),
    ("/api/v1/trades/history", {"account": ACCOUNT}, "start_time"),
    ("/api/v1/trades/history", {"account": ACCOUNT}, "end_time"),
    ("/api/v1/trades/history", {"account": ACCOUNT}, "limit"),
    ("/api/v1/orders/history", {"account": ACCOUNT}, "limit"),
    ("/api/v1/trades", {"symbol": "BTC"}, "limit"),
    ("/api/v1/orders/history_by_id", {}, "order_id"),
    ("/api/v1/book", {"symbol": "BTC"}, "agg_level"),
]
BAD = [
    "-99999999999999999",
    "-1",
    str(2**64),
    "9" * 5000,
    "12abc",
    "1e3",
    "+5",
    " 5",
    "5\n",
    "1_000",
    "0x10",
    "\uff15",  # a fullwidth 5
    "\u0665",  # an Arabic-Indic 5
]


def _assert_names(status: int, body: dict[str, Any], name: str) -> None:
    assert status == 400
    assert body["success"] is False and body["data"] is None and body["code"] == 400
    assert f"Invalid query parameter {name}" in body["error"]


@pytest.mark.parametrize(("path", "params", "name"), NUMERIC)
@pytest.mark.parametrize("value", BAD)
def test_a_malformed_or_out_of_range_number_is_400_naming_the_parameter(
    hx: Harness, path: str, params: dict[str, Any], name: str, value: str
) -> None:
    status, body = hx.get(path, **{**params, name: value})
    _assert_names(status, body, name)


@pytest.mark.parametrize("cursor", ["0OIl", "z" * 12, "1" * 13, encode_cursor(U64_MAX + 1), "-1"])
@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/trades/history", {"account": ACCOUNT}),
        ("/api/v1/orders/history", {"account": ACCOUNT}),
    ],
)
def test_a_cursor_that_is_not_a_u64_is_400_naming_it(
    hx: Harness, path: str, params: dict[str, Any], cursor: str
) -> None:
    _assert_names(*hx.get(path, **params, cursor=cursor), "cursor")


def test_the_largest_u64_ids_and_timestamps_are_accepted(hx: Harness) -> None:
    assert hx.get("/api/v1/kline", **{**KLINE, "start_time": U64_MAX}) == (
        200,
        {"success": True, "data": [], "error": None, "code": None},
    )
    assert hx.get("/api/v1/kline", **{**KLINE, "start_time": 99999999999999999})[0] == 200
    _, ends_at_zero = hx.get("/api/v1/kline", **KLINE, end_time=0)
    assert ends_at_zero["data"] == []
    page = hx.get("/api/v1/trades/history", account=ACCOUNT, start_time=U64_MAX, end_time=U64_MAX)
    assert page[0] == 200 and page[1]["data"] == []
    cursor = encode_cursor(U64_MAX)
    assert hx.get("/api/v1/orders/history", account=ACCOUNT, cursor=cursor)[0] == 200
    status, body = hx.get("/api/v1/orders/history_by_id", order_id=U64_MAX)
    assert (status, body["error"]) == (404, f"Order history not found for order ID: {U64_MAX}")


def test_limit_is_bounded_by_the_route_maximum(hx: Harness) -> None:
    _assert_names(*hx.get("/api/v1/trades", symbol="BTC", limit=0), "limit")
    _assert_names(*hx.get("/api/v1/trades", symbol="BTC", limit=1001), "limit")
    assert hx.get("/api/v1/trades", symbol="BTC", limit=1000)[0] == 200
    _assert_names(*hx.get("/api/v1/kline", **KLINE, limit=4001), "limit")


@pytest.mark.parametrize("interval", ["1m", "1w", "1M"])
def test_kline_at_plus_or_minus_1e17_never_answers_500(hx: Harness, interval: str) -> None:
    """The calendar intervals once overflowed a datetime on such a start_time."""
    for name in ("start_time", "end_time"):
        params = {**KLINE, "interval": interval}
        _assert_names(*hx.get("/api/v1/kline", **{**params, name: -99999999999999999}), name)
        status, body = hx.get("/api/v1/kline", **{**params, name: 99999999999999999})
        assert status == 200 and isinstance(body["data"], list)
