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
GET_PATHS = sorted(path for method, path in ROUTES if method == "GET")


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


@settings(max_examples=100, derandomize=True)
@given(
    path=st.sampled_from(GET_PATHS),
    params=st.dictionaries(
        st.sampled_from(
            ["account", "symbol", "order_id", "agent_level", "agg_level", "limit", "cursor"]
        ),
        st.text(max_size=12),
        max_size=3,
    ),
)
@LAYOUTS
def test_arbitrary_queries_never_crash(_hx: Harness, path: str, params: dict[str, str]) -> None:
    status, answer = _hx.get(path, **params)
    _check(status, answer)
