"""ccxt's base58 encoder drops the leading "1" digits that stand for a signature's leading zero
bytes (about one signature in 256). Outside the strict profile Tidepool restores them."""

from __future__ import annotations

import base58
import pytest

from pacifica_recipe import keypair, signed_body
from test_signing_conformance import NOW, ORDER
from tidepool.gateway.verify import SignatureError, VerifyPolicy, verify_request


def test_signature_without_leading_ones_is_restored_outside_strict() -> None:
    kp = keypair(5)
    for ts in range(NOW, NOW + 5000):
        body = signed_body(kp, "create_order", ORDER, ts)
        if body["signature"].startswith("1"):
            break
    else:
        raise AssertionError("no signature with a leading zero byte in 5000 tries")
    raw = base58.b58decode(body["signature"])
    assert raw[0] == 0 and len(raw) == 64
    body["signature"] = body["signature"].lstrip("1")  # what ccxt sends
    assert verify_request(body, "create_order", NOW + 1000) == str(kp.pubkey())
    with pytest.raises(SignatureError, match=r"^Invalid signature$"):
        verify_request(body, "create_order", NOW + 1000, policy=VerifyPolicy(strict=True))
    with pytest.raises(SignatureError, match=r"^Verification failed"):
        verify_request({**body, "price": "100001"}, "create_order", NOW + 1000)
