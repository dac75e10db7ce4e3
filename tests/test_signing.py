"""Signing, part 1: bytes and signatures.

Golden vectors made with Pacifica's official recipe (tests/golden/make_vectors.py) pin the exact
message bytes and signatures; property tests prove the orjson fast path of `canonical_message`
byte-identical to the stdlib recipe. Conformance (R7) lives in test_signing_conformance.py.
"""

from __future__ import annotations

import importlib.util
import json
from collections import OrderedDict
from enum import Enum
from pathlib import Path
from typing import Any

import base58
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.signature import Signature

from pacifica_recipe import sort_json_keys
from tidepool.gateway.verify import SignatureError, verify_request
from tidepool.pacifica import (
    AGENT_PAYLOAD_OPS,
    HEADER_KEYS,
    canonical_message,
    is_public_key,
    sign_payload,
    signed_body,
)

GOLDEN = Path(__file__).parent / "golden"
VECTORS: list[dict[str, Any]] = json.loads(
    (GOLDEN / "signing_vectors.json").read_text(encoding="utf-8")
)
VECTOR_IDS = [v["name"] for v in VECTORS]
SPEC_EXAMPLE = (
    '{"data":{"amount":"0.1","client_order_id":"12345678-1234-1234-1234-123456789abc",'
    '"price":"100000","reduce_only":false,"side":"bid","symbol":"BTC","tif":"GTC"},'
    '"expiry_window":5000,"timestamp":1748970123456,"type":"create_order"}'
)


def recipe(
    op_type: str,
    timestamp: Any,
    expiry_window: Any,
    payload: Any,
    *,
    ensure_ascii: bool = True,
) -> bytes:
    """The official SDK's message bytes, written out here independently of tidepool."""
    header: dict[str, Any] = {"type": op_type, "timestamp": timestamp}
    if expiry_window is not None:
        header["expiry_window"] = expiry_window
    text = json.dumps(
        sort_json_keys({**header, "data": payload}),
        separators=(",", ":"),
        ensure_ascii=ensure_ascii,
    )
    return text.encode("utf-8")


def wire_body(v: dict[str, Any]) -> dict[str, Any]:
    """The flat §1.2 body a client sends for vector `v`."""
    body = {
        "account": v["account"],
        "signature": v["signature"],
        "timestamp": v["timestamp"],
        **v["payload"],
    }
    if v["expiry_window"] is not None:
        body["expiry_window"] = v["expiry_window"]
    if v["signer"] != v["account"]:
        body["agent_wallet"] = v["signer"]
    return body


def tamper(value: Any) -> Any:
    """A different value of the same JSON type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("X" if value[-1] != "X" else "Y")
    return {**value, "extra": "1"}


# --------------------------------------------------------------------------- golden vectors


def _make_vectors() -> Any:
    # tests/golden is a folder of data plus its generator script, not a package.
    spec = importlib.util.spec_from_file_location("make_vectors", GOLDEN / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_golden_vectors_cover_the_brief_and_regenerate_identically() -> None:
    make_vectors = _make_vectors()
    assert VECTORS[0]["message"] == SPEC_EXAMPLE
    assert make_vectors.build() == VECTORS, "signing_vectors.json is stale: rerun make_vectors.py"
    ops = {v["op_type"] for v in VECTORS}
    assert {"create_order", "cancel_order", "cancel_all_orders", "bind_agent_wallet"} <= ops
    assert any(v["expiry_window"] is None for v in VECTORS)
    assert any(v["signer"] != v["account"] for v in VECTORS)
    assert any(not v["message"].isascii() for v in VECTORS)
    assert any("\\u00e9" in v["message"] for v in VECTORS)


@pytest.mark.parametrize("v", VECTORS, ids=VECTOR_IDS)
def test_canonical_message_reproduces_the_golden_bytes(v: dict[str, Any]) -> None:
    message = canonical_message(
        v["op_type"],
        v["timestamp"],
        v["expiry_window"],
        v["payload"],
        ensure_ascii=v["ensure_ascii"],
    )
    assert message == v["message"].encode("utf-8")


@pytest.mark.parametrize("v", VECTORS, ids=VECTOR_IDS)
def test_sign_payload_reproduces_the_golden_signature(v: dict[str, Any]) -> None:
    seed = bytes.fromhex(v["signer_seed_hex"])
    if v["ensure_ascii"]:
        signature = sign_payload(
            seed,
            v["op_type"],
            v["payload"],
            timestamp=v["timestamp"],
            expiry_window=v["expiry_window"],
        )
    else:  # sign_payload signs the SDK's form; a JS client signs the raw UTF-8 one
        raw = canonical_message(
            v["op_type"], v["timestamp"], v["expiry_window"], v["payload"], ensure_ascii=False
        )
        signature = str(Keypair.from_seed(seed).sign_message(raw))
    assert signature == v["signature"]


@pytest.mark.parametrize("v", VECTORS, ids=VECTOR_IDS)
def test_verify_request_accepts_each_golden_body(v: dict[str, Any]) -> None:
    now = v["timestamp"] + 1000
    assert verify_request(wire_body(v), v["op_type"], now) == v["signer"]


@pytest.mark.parametrize("v", VECTORS, ids=VECTOR_IDS)
def test_verify_request_rejects_each_golden_body_with_a_field_changed(v: dict[str, Any]) -> None:
    body, now = wire_body(v), v["timestamp"] + 1000
    variants: list[dict[str, Any]] = [
        {**body, key: tamper(value)} for key, value in v["payload"].items()
    ]
    variants.append({**body, "timestamp": body["timestamp"] - 1})
    variants.append({**body, "expiry_window": (v["expiry_window"] or 30_000) + 1})
    # a payload key the signature does not cover (no known_fields to fall back on)
    variants.append({**body, "zz_unsigned": "1"})
    for changed in variants:
        with pytest.raises(SignatureError) as err:
            verify_request(changed, v["op_type"], now)
        assert err.value.message.startswith("Verification failed"), changed
        assert err.value.error_id == "signature_verification_failed"
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify_request(body, "edit_order", now)  # wrong `type`


@pytest.mark.parametrize("v", VECTORS, ids=VECTOR_IDS)
def test_verify_request_rejects_each_golden_signature_with_one_byte_flipped(
    v: dict[str, Any],
) -> None:
    raw = bytearray(base58.b58decode(v["signature"]))
    now = v["timestamp"] + 1000
    for index in (0, 31, 32, 63):
        flipped = bytearray(raw)
        flipped[index] ^= 0x01
        body = {**wire_body(v), "signature": base58.b58encode(bytes(flipped)).decode()}
        with pytest.raises(SignatureError, match=r"^Verification failed"):
            verify_request(body, v["op_type"], now)


def test_golden_message_bytes_flip_detected() -> None:
    """One byte changed in the signed message itself no longer verifies."""
    v = VECTORS[0]
    key = Keypair.from_seed(bytes.fromhex(v["signer_seed_hex"])).pubkey()
    signature = Signature.from_string(v["signature"])
    message = bytearray(v["message"].encode())
    assert signature.verify(key, bytes(message))
    message[10] ^= 0x01
    assert not signature.verify(key, bytes(message))


# --------------------------------------------------------------------------- canonical message

# Text that exercises every place the encoders could disagree: DEL, control characters, quotes,
# backslashes, line/paragraph separators, non-BMP characters and lone surrogates.
tricky_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\x7f", "\x00", "\x1f", '"', "\\", "/", "\u2028", "\u2029", "é"]),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    ),
    max_size=8,
)
ascii_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=8)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1])
    | st.floats()
    | tricky_text
    | ascii_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(tricky_text | ascii_text, children, max_size=3)
    ),
    max_leaves=12,
)
payloads = st.dictionaries(tricky_text | ascii_text, json_values, max_size=6)


def _both(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:  # both sides must fail the same way, or succeed identically
        return "error", type(exc)


@settings(max_examples=1500, derandomize=True, deadline=None)
@given(
    op_type=tricky_text | ascii_text,
    timestamp=st.integers(min_value=0, max_value=2**64 - 1),
    expiry_window=st.none() | st.integers(min_value=0, max_value=2**64 - 1),
    payload=payloads,
    ensure_ascii=st.booleans(),
)
@example(op_type="t", timestamp=1, expiry_window=5, payload={"a": "\x7f"}, ensure_ascii=True)
@example(op_type="t", timestamp=1, expiry_window=5, payload={"a": 1e16}, ensure_ascii=True)
@example(op_type="t", timestamp=1, expiry_window=5, payload={"a": 2**64}, ensure_ascii=True)
@example(op_type="t", timestamp=1, expiry_window=5, payload={"a": "\ud800"}, ensure_ascii=False)
@example(op_type="t", timestamp=1, expiry_window=None, payload={"é": 1, "z": 2}, ensure_ascii=False)
def test_canonical_message_is_the_stdlib_recipe_byte_for_byte(
    op_type: str,
    timestamp: int,
    expiry_window: int | None,
    payload: dict[str, Any],
    ensure_ascii: bool,
) -> None:
    got = _both(
        canonical_message, op_type, timestamp, expiry_window, payload, ensure_ascii=ensure_ascii
    )
    want = _both(recipe, op_type, timestamp, expiry_window, payload, ensure_ascii=ensure_ascii)
    assert got == want


class Colour(Enum):
    RED = "red"


@pytest.mark.parametrize(
    "payload",
    [
        {"n": float("nan"), "i": float("inf"), "x": -0.0, "y": 1e16, "z": 0.1},
        {"big": 2**64, "neg": -(2**63) - 1},
        {"t": (1, {"b": 1, "a": 2})},  # the SDK recipe does not sort inside tuples
        {1: "x", 2: "y"},  # non-str keys: the stdlib stringifies them
        OrderedDict([("b", 1), ("a", 2)]),
        {"s": "caf\u00e9\x7f"},
    ],
)
def test_canonical_message_falls_back_where_orjson_would_differ(payload: Any) -> None:
    for ensure_ascii in (True, False):
        expected = recipe("t", 1, 5, payload, ensure_ascii=ensure_ascii)
        assert canonical_message("t", 1, 5, payload, ensure_ascii=ensure_ascii) == expected


def test_canonical_message_refuses_what_the_recipe_refuses() -> None:
    with pytest.raises(TypeError):
        recipe("t", 1, 5, {"c": Colour.RED})
    with pytest.raises(TypeError):  # orjson would have serialized the enum
        canonical_message("t", 1, 5, {"c": Colour.RED})


def test_expiry_window_none_leaves_the_key_out() -> None:
    message = canonical_message("cancel_order", 7, None, {"symbol": "BTC"})
    assert message == b'{"data":{"symbol":"BTC"},"timestamp":7,"type":"cancel_order"}'


# --------------------------------------------------------------------------- client helpers


def test_sign_payload_accepts_every_form_of_the_secret() -> None:
    kp = Keypair.from_seed(bytes(range(32)))
    forms: list[Keypair | str | bytes] = [
        kp,
        bytes(range(32)),
        bytes(kp),
        str(kp),  # base58 of the 64-byte Solana secret
        str(kp).encode(),
        base58.b58encode(bytes(range(32))).decode(),
    ]
    signatures = {sign_payload(f, "cancel_order", {"order_id": 1}, timestamp=5) for f in forms}
    assert len(signatures) == 1
    with pytest.raises(ValueError):
        sign_payload(base58.b58encode(b"short").decode(), "x", {}, timestamp=1)


def test_signed_body_is_flat_and_verifies() -> None:
    main, agent = Keypair.from_seed(bytes(range(32))), Keypair.from_seed(bytes(range(32, 64)))
    body = signed_body(main, "cancel_order", {"symbol": "BTC", "order_id": 1}, timestamp=10)
    assert body.keys() == {
        "account",
        "signature",
        "timestamp",
        "expiry_window",
        "symbol",
        "order_id",
    }
    assert verify_request(body, "cancel_order", 10) == str(main.pubkey())

    as_agent = signed_body(
        agent,
        "cancel_order",
        {"symbol": "BTC", "order_id": 1},
        timestamp=10,
        expiry_window=None,
        account=str(main.pubkey()),
        agent_wallet=str(agent.pubkey()),
    )
    assert "expiry_window" not in as_agent
    assert as_agent["account"] == str(main.pubkey())
    assert verify_request(as_agent, "cancel_order", 10) == str(agent.pubkey())

    with pytest.raises(ValueError, match="collide"):
        signed_body(main, "x", {"timestamp": 1}, timestamp=1)


def test_bind_and_revoke_sign_agent_wallet_as_payload() -> None:
    """For AGENT_PAYLOAD_OPS `agent_wallet` is signed data and the account is the signer."""
    main, agent = Keypair.from_seed(bytes(range(32))), Keypair.from_seed(bytes(range(32, 64)))
    assert "agent_wallet" in HEADER_KEYS
    for op in sorted(AGENT_PAYLOAD_OPS):
        body = signed_body(main, op, {"agent_wallet": str(agent.pubkey())}, timestamp=10)
        assert verify_request(body, op, 10) == str(main.pubkey())
        assert verify_request(body, op, 10, agent_wallet_is_payload=True) == str(main.pubkey())
        with pytest.raises(SignatureError, match=r"^Verification failed"):
            verify_request(body, op, 10, agent_wallet_is_payload=False)


def test_is_public_key() -> None:
    kp = Keypair.from_seed(bytes(range(32)))
    assert is_public_key(str(kp.pubkey()))
    assert not is_public_key("1" * 31)
    assert not is_public_key(base58.b58encode(bytes(31)).decode())
    assert not is_public_key("0OIl" * 11)
    assert not is_public_key(None)
    assert not is_public_key(12345)


def test_typical_payloads_take_the_orjson_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the speed claim: ASCII payloads of str/int/bool/None/nesting never hit the stdlib."""
    from tidepool.pacifica import canonical

    def no_stdlib(*_: Any) -> bytes:
        raise AssertionError("stdlib fallback used")

    monkeypatch.setattr(canonical, "_stdlib", no_stdlib)
    for v in VECTORS:
        if v["message"].isascii() and "\\u" not in v["message"]:
            assert (
                canonical_message(v["op_type"], v["timestamp"], v["expiry_window"], v["payload"])
                == v["message"].encode()
            )
            assert verify_request(wire_body(v), v["op_type"], v["timestamp"]) == v["signer"]
