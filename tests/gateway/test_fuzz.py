"""No request, however bad, crashes the server or changes state it should not (R8, in process).

Hypothesis throws arbitrary JSON, mangled signed bodies and raw bytes at every route; the answer
must always be a well-formed envelope with a 2xx/4xx status, and the engine must still hold its
invariants. Mangled signed bodies may never change the state.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import OP_TYPES, Harness
from pacifica_recipe import keypair
from tidepool.gateway.app import ROUTES

KP = keypair(21)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "symbol",
    "price",
    "amount",
    "side",
    "tif",
    "reduce_only",
    "client_order_id",
    "order_id",
    "all_symbols",
    "exclude_reduce_only",
    "agent_wallet",
    "account",
    "signature",
    "timestamp",
    "expiry_window",
]
POST_PATHS = sorted(path for method, path in ROUTES if method == "POST")
# /metrics answers Prometheus text, not an envelope (tests/e2e/test_observability.py).
GET_PATHS = sorted(path for method, path in ROUTES if method == "GET" and path != "/metrics")


def _harness(workers: bool) -> Harness:
    h = Harness(workers=workers)
    h.faucet(KP, "1000000")
    h.create(KP, price="90000")
    return h


# Both process layouts: in the worker layout the signature verdicts come from gateway.preverify.
HARNESSES = [_harness(False), _harness(True)]
LAYOUTS = pytest.mark.parametrize("_hx", HARNESSES, ids=["one_process", "workers"])


def _check(status: int, body: Any) -> None:
    assert status < 500, body
    assert set(body) >= {"success", "data", "error", "code"}
    if status >= 400:
        assert body["success"] is False and isinstance(body["error"], str) and body["error"]


@settings(max_examples=300, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(POST_PATHS),
    body=st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64),
        st.fixed_dictionaries({}, optional={f: json_values for f in FIELDS}).map(
            lambda v: json.dumps(v).encode()
        ),
    ),
)
@LAYOUTS
def test_arbitrary_bodies_never_crash(_hx: Harness, path: str, body: bytes) -> None:
    status, answer = _hx.request("POST", path, body=body)
    _check(status, answer)
    _hx.engine.check_invariants()


@settings(max_examples=200, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(sorted(OP_TYPES)),
    field=st.sampled_from(FIELDS),
    value=json_values,
)
@LAYOUTS
def test_a_mangled_signed_body_changes_nothing(
    _hx: Harness, path: str, field: str, value: Any
) -> None:
    payload = {
        "symbol": "BTC",
        "price": "91000",
        "amount": "0.001",
        "side": "bid",
        "tif": "ALO",
        "reduce_only": False,
        "order_id": 1,
        "all_symbols": True,
        "exclude_reduce_only": False,
    }
    signed = _hx.signed(path, KP, payload)
    if signed.get(field) == value:
        return
    signed[field] = value
    before = _hx.engine.state_hash()
    status, answer = _hx.post(path, signed)
    _check(status, answer)
    if field not in ("account", "agent_wallet") and status == 200 and field in payload:
        raise AssertionError(f"a tampered signed field was accepted: {field}={value!r}")
    if status != 200:
        assert _hx.engine.state_hash() == before


@settings(max_examples=500, derandomize=True)
@given(
    path=st.sampled_from(GET_PATHS),
    params=st.dictionaries(
        st.sampled_from(
            [
                "account",
                "symbol",
                "order_id",
                "agent_level",
                "agg_level",
                "limit",
                "cursor",
                "start_time",
                "end_time",
                "interval",
            ]
        ),
        st.text(max_size=12)
        | st.integers(-(2**70), 2**70).map(str)
        | st.sampled_from(["BTC", "1m", "1h", "1M", "99999999999999999", "-99999999999999999"]),
        max_size=4,
    ),
)
@LAYOUTS
def test_arbitrary_queries_never_crash(_hx: Harness, path: str, params: dict[str, str]) -> None:
    status, answer = _hx.get(path, **params)
    _check(status, answer)


# ---------------------------------------------------------------- signed, but hostile values
#
# A valid signature over hostile values: what any key on the internet can send. Every route's
# payload is signed as sent, so the request passes authentication and reaches translation and
# the sequencer. Nothing may answer 5xx, change state when refused, or stop the sequencer.

VALID: dict[str, dict[str, Any]] = {
    "/api/v1/orders/create": {
        "symbol": "BTC", "price": "90000", "amount": "0.001", "side": "bid", "tif": "ALO",
        "reduce_only": False, "client_order_id": "9f3c1a52-8a6e-4c1b-9a57-0d4f6d3b2e11",
        "take_profit": {"stop_price": "120000"},
    },
    "/api/v1/orders/create_market": {
        "symbol": "BTC", "amount": "0.001", "side": "bid", "slippage_percent": "0.5",
        "reduce_only": False,
    },
    "/api/v1/orders/cancel": {"symbol": "BTC", "order_id": 1},
    "/api/v1/orders/edit": {"symbol": "BTC", "price": "90500", "amount": "0.001", "order_id": 1},
    "/api/v1/orders/cancel_all": {"all_symbols": False, "exclude_reduce_only": False,
                                  "symbol": "BTC"},
    "/api/v1/orders/stop/create": {
        "symbol": "BTC", "side": "ask", "reduce_only": True,
        "stop_order": {"stop_price": "80000", "limit_price": "79000", "amount": "0.001"},
    },
    "/api/v1/orders/stop/cancel": {"symbol": "BTC", "order_id": 2},
    "/api/v1/positions/tpsl": {"symbol": "BTC", "side": "ask",
                               "take_profit": {"stop_price": "130000"}},
    "/api/v1/account/leverage": {"symbol": "BTC", "leverage": 10},
    "/api/v1/account/margin": {"symbol": "BTC", "is_isolated": False},
    "/api/v1/agent/bind": {"agent_wallet": str(keypair(22).pubkey())},
    "/api/v1/agent/revoke": {"agent_wallet": str(keypair(22).pubkey())},
    "/api/v1/agent/revoke_all": {},
    "/api/v1/agent/list": {},
}  # fmt: skip
BATCHABLE = {
    "/api/v1/orders/create": "Create",
    "/api/v1/orders/create_market": "CreateMarket",
    "/api/v1/orders/cancel": "Cancel",
    "/api/v1/orders/edit": "Edit",
    "/api/v1/positions/tpsl": "SetPositionTpsl",
    "/api/v1/orders/stop/cancel": "CancelStopOrder",
}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


hostile_values = st.one_of(
    st.sampled_from(
        [2**63, 2**64 - 1, 2**64, -(2**63) - 1, -1, 0, 10**30, -(10**30), 1.5, 1e308, True, None]
    ),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from(
        ["９５０００", "95000\n", "\t1", " 1", "1 ", "+1", "1e3", "1_000", "NaN", "Infinity", "-0",
         "0", "-1", ".", "-", "", "0." + "0" * 40 + "1", "1" * 20, "1" * 21, "9" * 29, "9" * 400,
         "1.0000000000000000000000000001", "١٢٣", "𝟗𝟓", "\u0000", "BTC", "x" * 10_000]
    ),
    st.from_regex(r"-?[0-9]{0,30}(\.[0-9]{0,30})?", fullmatch=True),
    st.integers(min_value=1, max_value=300).map(_nested),
    json_values,
)  # fmt: skip


def _set(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        payload = payload[key]
    payload[path[-1]] = value


FIELD_PATHS = [
    (route, path)
    for route, payload in VALID.items()
    for path in [(k,) for k in payload]
    + [(k, sub) for k, v in payload.items() if isinstance(v, dict) for sub in v]
    + [("symbol",), ("order_id",), ("client_order_id",)]
]


@settings(max_examples=1500, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(FIELD_PATHS),
    value=hostile_values,
    in_batch=st.booleans(),
)
@LAYOUTS
def test_a_signed_request_with_hostile_values_is_refused_cleanly_and_writes_go_on(
    _hx: Harness, target: tuple[str, tuple[str, ...]], value: Any, in_batch: bool
) -> None:
    route, field = target
    payload = json.loads(json.dumps(VALID[route]))
    _set(payload, field, value)
    signed = _hx.signed(route, KP, payload)
    before = _hx.engine.state_hash()
    if in_batch and route in BATCHABLE:
        body = {"actions": [{"type": BATCHABLE[route], "data": signed}]}
        status, answer = _hx.post("/api/v1/orders/batch", body)
    else:
        status, answer = _hx.post(route, signed)
    _check(status, answer)
    if status != 200:
        assert _hx.engine.state_hash() == before, answer
    assert _hx.sequencer.stopped_reason() is None
    _hx.engine.check_invariants()
