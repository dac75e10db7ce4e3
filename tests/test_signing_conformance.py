"""Signing, part 2: R7 auth and staleness conformance at module level (spec A2, A3, §1.2–1.4).

Every body here is signed with tests/pacifica_recipe.py (the official SDK recipe written out
independently), never with tidepool.pacifica, so the verifier cannot agree with its own bugs.
"""

from __future__ import annotations

import json
from typing import Any

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from pacifica_recipe import keypair, sign_request, signed_body, sort_json_keys
from tidepool.gateway.verify import ReplayGuard, SignatureError, VerifyPolicy, verify_request
from tidepool.pacifica import HEADER_KEYS, keys

NOW = 1_750_000_000_000
MAIN = keypair(1)
AGENT = keypair(9)
ACCOUNT = str(MAIN.pubkey())
ORDER: dict[str, Any] = {
    "symbol": "BTC",
    "price": "100000",
    "amount": "0.1",
    "side": "bid",
    "tif": "GTC",
    "reduce_only": False,
}
CREATE_FIELDS = frozenset({*ORDER, "client_order_id", "take_profit", "stop_loss", "builder_code"})
MARKET_FIELDS = frozenset(
    {"symbol", "amount", "side", "slippage_percent", "reduce_only", "client_order_id"}
    | {"take_profit", "stop_loss", "builder_code"}
)
STRICT = VerifyPolicy(strict=True)


def order(timestamp: int = NOW, **kw: Any) -> dict[str, Any]:
    return signed_body(MAIN, "create_order", ORDER, timestamp, **kw)


def rejects(body: dict[str, Any], now: int = NOW, op: str = "create_order", **kw: Any) -> str:
    with pytest.raises(SignatureError) as err:
        verify_request(body, op, now, **kw)
    return err.value.message


def raw_signed(message: dict[str, Any], **flat: Any) -> dict[str, Any]:
    """A body whose signature covers an arbitrary message dict (third-party SDK shapes)."""
    text = json.dumps(sort_json_keys(message), separators=(",", ":"))
    return {
        "account": ACCOUNT,
        "signature": str(MAIN.sign_message(text.encode())),
        "timestamp": message["timestamp"],
        **flat,
    }


# --------------------------------------------------------------------------- time (A2)


@pytest.mark.parametrize("window", [1, 5000, 30_000, 60_000])
def test_expiry_boundary(window: int) -> None:
    ok_edge = order(NOW - window, expiry_window=window)  # now == timestamp + window: valid
    assert verify_request(ok_edge, "create_order", NOW) == ACCOUNT
    inside = order(NOW - window + 1, expiry_window=window)
    assert verify_request(inside, "create_order", NOW) == ACCOUNT
    late = order(NOW - window - 1, expiry_window=window)  # one ms past the window
    assert rejects(late) == "Invalid message"


def test_missing_expiry_window_is_30000_and_signed_absent() -> None:
    body = order(NOW - 30_000, expiry_window=None)
    assert "expiry_window" not in body
    assert verify_request(body, "create_order", NOW) == ACCOUNT
    assert rejects(body, NOW + 1) == "Invalid message"


@pytest.mark.parametrize("signed_window", [30_000, None])
def test_missing_expiry_window_also_accepts_third_party_header_forms(signed_window: Any) -> None:
    """Some SDKs fill in 30000 or serialize null when the body leaves the window out (§1.3)."""
    message = {"type": "create_order", "timestamp": NOW, "expiry_window": signed_window}
    body = raw_signed({**message, "data": ORDER}, **ORDER)
    assert verify_request(body, "create_order", NOW) == ACCOUNT
    assert verify_request({**body, "expiry_window": None}, "create_order", NOW) == ACCOUNT


def test_default_profile_accepts_far_future_timestamps_and_big_windows() -> None:
    """Pacifica has no cap on future timestamps or windows (A2 default profile)."""
    verify_request(order(NOW + 3_600_000), "create_order", NOW)
    verify_request(order(expiry_window=10**9), "create_order", NOW + 10**8)


# --------------------------------------------------------------------------- verification


@pytest.mark.parametrize("field", sorted(set(ORDER) | {"client_order_id"}))
def test_changing_any_signed_field_fails_verification(field: str) -> None:
    payload = {**ORDER, "client_order_id": "12345678-1234-1234-1234-123456789abc"}
    body = signed_body(MAIN, "create_order", payload, NOW)
    value = body[field]
    body[field] = (not value) if isinstance(value, bool) else value + "1"
    with pytest.raises(SignatureError) as err:
        verify_request(body, "create_order", NOW, known_fields=CREATE_FIELDS)
    assert err.value.message == (
        "Verification failed: signature does not match signer and canonical payload."
    )
    assert err.value.error_id == "signature_verification_failed"


def test_wrong_key_and_wrong_type_fail_verification() -> None:
    impostor = signed_body(keypair(2), "create_order", ORDER, NOW, account=ACCOUNT)
    assert rejects(impostor).startswith("Verification failed")
    assert rejects(order(), op="create_market_order").startswith("Verification failed")


def test_agent_signature_without_agent_wallet_is_checked_against_the_account() -> None:
    body = signed_body(AGENT, "create_order", ORDER, NOW, account=ACCOUNT)
    assert rejects(body).startswith("Verification failed")
    with_agent = {**body, "agent_wallet": str(AGENT.pubkey())}
    assert verify_request(with_agent, "create_order", NOW) == str(AGENT.pubkey())


def test_null_agent_wallet_means_absent() -> None:
    assert verify_request({**order(), "agent_wallet": None}, "create_order", NOW) == ACCOUNT


def test_extra_unsigned_key_next_to_signed_ones_still_verifies() -> None:
    """ccxt sends `slippage` (a float) next to the signed `slippage_percent` (§1.3)."""
    payload = {"symbol": "BTC", "amount": "0.1", "side": "bid", "reduce_only": False}
    payload["slippage_percent"] = "0.5"
    body = {**signed_body(MAIN, "create_market_order", payload, NOW), "slippage": 0.05}
    assert rejects(body, op="create_market_order").startswith("Verification failed")
    signer = verify_request(body, "create_market_order", NOW, known_fields=MARKET_FIELDS)
    assert signer == ACCOUNT


def test_null_optional_fields_verify_whether_signed_or_not() -> None:
    # signed without the optional field, sent with an explicit null
    sent_null = {**order(), "client_order_id": None, "take_profit": {"stop_price": "1"}}
    signed = signed_body(MAIN, "create_order", {**ORDER, "take_profit": {"stop_price": "1"}}, NOW)
    sent_null["signature"] = signed["signature"]
    assert verify_request(sent_null, "create_order", NOW, known_fields=CREATE_FIELDS) == ACCOUNT
    # nulls nested in a stop-leg object are dropped too (serde skip-if-none)
    nested = {**signed, "take_profit": {"stop_price": "1", "limit_price": None}}
    assert verify_request(nested, "create_order", NOW, known_fields=CREATE_FIELDS) == ACCOUNT
    # signed with the null included (the SDK signs whatever dict it was given)
    with_null = signed_body(MAIN, "create_order", {**ORDER, "client_order_id": None}, NOW)
    assert verify_request(with_null, "create_order", NOW, known_fields=CREATE_FIELDS) == ACCOUNT


def test_unknown_keys_do_not_help_a_forgery() -> None:
    """The known-fields fallback only drops keys; a changed signed field still fails."""
    body = {**order(), "slippage": 0.05, "price": "1"}
    assert rejects(body, known_fields=CREATE_FIELDS).startswith("Verification failed")


# --------------------------------------------------------------------------- malformed fields


OFF_CURVE = str(Pubkey.find_program_address([b"tidepool"], Pubkey.default())[0])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("signature", "0OIl" * 22, "Invalid signature"),  # not base58
        ("signature", "3" * 30, "Invalid signature"),  # base58, wrong length
        ("signature", base58.b58encode(bytes(65)).decode(), "Invalid signature"),
        ("signature", 5, "Invalid signature"),
        ("signature", None, "Invalid signature"),
        ("signature", {"type": "hardware", "value": "x"}, "Invalid signature"),
        ("account", "abc", "Invalid public key"),
        ("account", base58.b58encode(bytes(31)).decode(), "Invalid public key"),  # short
        ("account", OFF_CURVE, "Invalid public key"),  # 32 bytes, not an ed25519 point
        ("account", None, "Invalid public key"),
        ("account", 42, "Invalid public key"),
        ("agent_wallet", "xyz", "Invalid public key"),
        ("agent_wallet", OFF_CURVE, "Invalid public key"),
        ("timestamp", "1750000000000", "Invalid message"),
        ("timestamp", 1.75e12, "Invalid message"),
        ("timestamp", True, "Invalid message"),
        ("timestamp", -1, "Invalid message"),
        ("timestamp", None, "Invalid message"),
        ("expiry_window", -1, "Invalid message"),
        ("expiry_window", "5000", "Invalid message"),
        ("expiry_window", 2**64, "Invalid message"),
    ],
)
def test_malformed_auth_fields(field: str, value: Any, message: str) -> None:
    assert rejects({**order(), field: value}).startswith(message)


def test_missing_auth_fields() -> None:
    body = order()
    for field, message in [
        ("signature", "Invalid signature"),
        ("account", "Invalid public key"),
        ("timestamp", "Invalid message"),
    ]:
        short = {k: v for k, v in body.items() if k != field}
        assert rejects(short).startswith(message)


def test_checks_run_in_the_documented_order() -> None:
    body = order(NOW - 100_000)  # expired
    bad_everything = {**body, "signature": "!", "account": "!", "timestamp": "!"}
    assert rejects(bad_everything) == "Invalid signature"
    assert rejects({**body, "account": "!", "timestamp": "!"}) == "Invalid public key"
    assert rejects({**body, "account": OFF_CURVE}) == "Invalid public key"
    assert rejects({**body, "timestamp": "!"}).startswith("Invalid message:")
    tampered_and_expired = {**body, "price": "1"}
    assert rejects(tampered_and_expired) == "Invalid message"  # expiry before verification


# --------------------------------------------------------------------------- non-ASCII (A3)


def test_non_ascii_payload_verifies_in_both_encodings() -> None:
    payload = {**ORDER, "builder_code": "naïve😀"}
    sdk_body = signed_body(MAIN, "create_order", payload, NOW)  # ensure_ascii form
    message = {"type": "create_order", "timestamp": NOW, "expiry_window": 5000, "data": payload}
    text = json.dumps(sort_json_keys(message), separators=(",", ":"), ensure_ascii=False)
    js_body = {
        **sdk_body,
        "signature": str(MAIN.sign_message(text.encode("utf-8"))),  # what JSON.stringify signs
    }
    assert sdk_body["signature"] != js_body["signature"]
    assert verify_request(sdk_body, "create_order", NOW) == ACCOUNT
    assert verify_request(js_body, "create_order", NOW) == ACCOUNT
    tampered = {**js_body, "builder_code": "naive😀"}
    assert rejects(tampered).startswith("Verification failed")


# --------------------------------------------------------------------------- strict profile (A2)


def test_strict_profile_rejects_duplicates_while_valid() -> None:
    guard = ReplayGuard()
    body = order()
    verify_request(body, "create_order", NOW, policy=STRICT, replay_guard=guard)
    message = rejects(body, NOW + 1, policy=STRICT, replay_guard=guard)
    assert message == "Invalid message: duplicate request"
    assert rejects(body, NOW + 5001, policy=STRICT, replay_guard=guard) == "Invalid message"
    verify_request(body, "create_order", NOW + 1)  # the default profile has no replay check
    verify_request(body, "create_order", NOW + 1, replay_guard=guard)  # nor with a guard


def test_strict_profile_caps_future_timestamps_and_windows() -> None:
    verify_request(order(NOW + 5000), "create_order", NOW, policy=STRICT)  # exactly the skew
    assert rejects(order(NOW + 5001), policy=STRICT) == (
        "Invalid message: timestamp too far in the future"
    )
    verify_request(order(expiry_window=60_000), "create_order", NOW, policy=STRICT)
    assert rejects(order(expiry_window=60_001), policy=STRICT) == (
        "Invalid message: expiry window too large"
    )
    custom = VerifyPolicy(strict=True, max_future_ms=0, max_window_ms=1000)
    assert rejects(order(NOW + 1, expiry_window=1000), policy=custom).endswith("future")
    assert rejects(order(expiry_window=1001), policy=custom).endswith("too large")


def test_strict_guard_records_only_verified_requests() -> None:
    guard = ReplayGuard()
    body = order()
    rejects({**body, "price": "1"}, policy=STRICT, replay_guard=guard)
    assert len(guard) == 0
    verify_request(body, "create_order", NOW, policy=STRICT, replay_guard=guard)
    assert len(guard) == 1


def test_replay_guard_forgets_expired_entries() -> None:
    guard = ReplayGuard()
    for i in range(100):
        body = order(NOW + i, expiry_window=1000)
        verify_request(body, "create_order", NOW + i, policy=STRICT, replay_guard=guard)
    assert len(guard) == 100
    later = NOW + 1099  # entries with timestamp + 1000 < later are gone
    verify_request(order(later), "create_order", later, policy=STRICT, replay_guard=guard)
    assert len(guard) == 100 - 99 + 1
    assert guard.check_and_record("s", b"x", expires_at_ms=10, now_ms=10) is False
    assert guard.check_and_record("s", b"x", expires_at_ms=10, now_ms=10) is True  # equal: valid


def test_replay_guard_has_a_hard_ceiling() -> None:
    guard = ReplayGuard(max_entries=3)
    for i in range(10):
        assert guard.check_and_record("s", bytes([i]), expires_at_ms=100 + i, now_ms=0) is False
    assert len(guard) == 3
    assert guard.check_and_record("s", bytes([9]), expires_at_ms=109, now_ms=0) is True
    with pytest.raises(ValueError):
        ReplayGuard(max_entries=0)


# --------------------------------------------------------------------------- pubkey cache


def test_pubkey_cache_is_bounded_and_holds_only_valid_keys() -> None:
    body = order()
    keys._pubkey_cache.clear()
    verify_request(body, "create_order", NOW)
    assert ACCOUNT in keys._pubkey_cache
    rejects({**body, "account": OFF_CURVE})
    assert OFF_CURVE not in keys._pubkey_cache
    many = [str(Keypair().pubkey()) for _ in range(keys._PUBKEY_CACHE_SIZE + 50)]
    for key in many:
        assert keys.is_public_key(key)
    assert len(keys._pubkey_cache) == keys._PUBKEY_CACHE_SIZE
    assert many[-1] in keys._pubkey_cache and ACCOUNT not in keys._pubkey_cache
    assert verify_request(body, "create_order", NOW) == ACCOUNT  # evicted keys decode again


# --------------------------------------------------------------------------- property


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    payload=st.dictionaries(
        st.text(min_size=1, max_size=6).filter(lambda k: k not in HEADER_KEYS),
        st.none() | st.booleans() | st.integers(0, 2**64 - 1) | st.text(max_size=6),
        max_size=6,
    ),
    window=st.none() | st.integers(1, 60_000),
    age=st.integers(0, 60_000),
)
def test_any_recipe_signed_body_verifies_and_any_change_fails(
    payload: dict[str, Any], window: int | None, age: int
) -> None:
    effective = 30_000 if window is None else window
    timestamp = NOW - min(age, effective)
    body = signed_body(MAIN, "create_order", payload, timestamp, expiry_window=window)
    _, signature = sign_request(MAIN, "create_order", payload, timestamp, window)
    assert body["signature"] == signature
    assert verify_request(body, "create_order", NOW) == ACCOUNT
    assert rejects({**body, "zz-added": 1}).startswith("Verification failed")
    assert rejects({**body, "timestamp": timestamp + 1}).startswith("Verification failed")
