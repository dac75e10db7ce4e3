"""Cost of request signing and verification, in microseconds per call (best of 5 runs).

Run: python bench/signing_cost.py [--number N]

Measures verify_request on a typical create_order body (as the gateway calls it, with the
endpoint's known fields), its parts (signature decode, ed25519 verify, canonical message), the
orjson fast path against the stdlib recipe, and the public-key cache against a fresh decode.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from typing import Any

from solders.keypair import Keypair
from solders.signature import Signature

from tidepool.gateway.verify import ReplayGuard, VerifyPolicy, verify_request
from tidepool.pacifica import canonical, canonical_message, keys, parse_public_key, signed_body

NOW = 1_750_000_000_000
ORDER: dict[str, Any] = {
    "symbol": "BTC",
    "price": "100000",
    "amount": "0.1",
    "side": "bid",
    "tif": "GTC",
    "reduce_only": False,
    "client_order_id": "12345678-1234-1234-1234-123456789abc",
}
KNOWN = frozenset({*ORDER, "take_profit", "stop_loss", "builder_code"})


def per_call_us(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20_000)
    n = parser.parse_args().number

    kp = Keypair.from_seed(bytes(range(32)))
    body = signed_body(kp, "create_order", ORDER, timestamp=NOW)
    message = canonical_message("create_order", NOW, 5000, ORDER)
    header = {"type": "create_order", "timestamp": NOW, "expiry_window": 5000, "data": ORDER}
    signature = Signature.from_string(body["signature"])
    account = body["account"]
    pubkey = parse_public_key(account)
    assert pubkey is not None
    strict = VerifyPolicy(strict=True)
    ts = iter(range(NOW, NOW + 10**9))

    def strict_fresh() -> None:
        # a new signed body each call would measure signing; reuse one and a fresh guard instead
        verify_request(body, "create_order", NOW, policy=strict, replay_guard=ReplayGuard())

    def uncached_verify() -> None:
        keys._pubkey_cache.clear()
        verify_request(body, "create_order", NOW, known_fields=KNOWN)

    extra = {**body, "slippage": 0.05}
    rows: list[tuple[str, Callable[[], object]]] = [
        (
            "verify_request create_order (default)",
            lambda: verify_request(body, "create_order", NOW),
        ),
        (
            "verify_request + known_fields (gateway call)",
            lambda: verify_request(body, "create_order", NOW, known_fields=KNOWN),
        ),
        ("verify_request strict + fresh ReplayGuard", strict_fresh),
        ("verify_request, pubkey cache cleared each call", uncached_verify),
        (
            "verify_request extra unsigned float key (fallback)",
            lambda: verify_request(extra, "create_order", NOW, known_fields=KNOWN),
        ),
        ("  Signature.from_string", lambda: Signature.from_string(body["signature"])),
        ("  Signature.verify (ed25519)", lambda: signature.verify(pubkey, message)),
        ("  pubkey: cached lookup", lambda: parse_public_key(account)),
        ("  pubkey: decode + on-curve check", lambda: keys._decode_pubkey(account)),
        (
            "canonical_message (orjson fast path)",
            lambda: canonical._orjson(
                "create_order", header["timestamp"], header["expiry_window"], header["data"]
            ),
        ),
        ("canonical_message (stdlib recipe)", lambda: canonical._stdlib(header, True)),
        (
            "canonical_message public API",
            lambda: canonical_message("create_order", next(ts), 5000, ORDER),
        ),
        (
            "sign_payload (client side)",
            lambda: signed_body(kp, "create_order", ORDER, timestamp=NOW),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, fn in rows:
        print(f"{name:<{width}}  {per_call_us(fn, n):8.2f} µs")


if __name__ == "__main__":
    main()
