"""Regenerate signing_vectors.json with Pacifica's official recipe (not tidepool's code):
`json.dumps(sort_json_keys(message), separators=(",", ":"))` signed by solders'
`Keypair.sign_message`, exactly as the official Python SDK's common/utils.py does.

One vector is signed the way JS and Rust clients sign (`ensure_ascii=False`: non-ASCII text as raw
UTF-8), the form spec A3 accepts as a fallback; every other vector is the SDK's own form.

Run: python tests/golden/make_vectors.py (deterministic: fixed seeds, fixed timestamp).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from pacifica_recipe import sort_json_keys

MAIN_SEED = bytes(range(32))
AGENT_SEED = bytes(range(32, 64))
MAIN = Keypair.from_seed(MAIN_SEED)
AGENT = Keypair.from_seed(AGENT_SEED)
SEEDS = {str(MAIN.pubkey()): MAIN_SEED, str(AGENT.pubkey()): AGENT_SEED}
RAW_UTF8 = {"non_ascii_raw_utf8"}
TS = 1748970123456
CLOID = "12345678-1234-1234-1234-123456789abc"

CASES: list[tuple[str, str, int | None, Keypair, dict[str, Any]]] = [
    (
        "create_order",
        "create_order",
        5000,
        MAIN,
        {
            "symbol": "BTC",
            "price": "100000",
            "amount": "0.1",
            "side": "bid",
            "tif": "GTC",
            "reduce_only": False,
            "client_order_id": CLOID,
        },
    ),
    (
        "create_order_no_cloid",
        "create_order",
        5000,
        MAIN,
        {
            "symbol": "ETH",
            "price": "3500.5",
            "amount": "0.25",
            "side": "ask",
            "tif": "ALO",
            "reduce_only": True,
        },
    ),
    (
        "create_order_tpsl",
        "create_order",
        5000,
        MAIN,
        {
            "symbol": "BTC",
            "price": "100000",
            "amount": "0.1",
            "side": "bid",
            "tif": "GTC",
            "reduce_only": False,
            "take_profit": {"stop_price": "120000", "limit_price": "119900"},
            "stop_loss": {"stop_price": "90000"},
        },
    ),
    ("cancel_by_id", "cancel_order", 5000, MAIN, {"symbol": "BTC", "order_id": 42}),
    ("cancel_by_cloid", "cancel_order", 5000, MAIN, {"symbol": "BTC", "client_order_id": CLOID}),
    (
        "cancel_all_symbols",
        "cancel_all_orders",
        5000,
        MAIN,
        {"all_symbols": True, "exclude_reduce_only": False},
    ),
    (
        "cancel_all_one_symbol",
        "cancel_all_orders",
        5000,
        MAIN,
        {"all_symbols": False, "exclude_reduce_only": True, "symbol": "SOL"},
    ),
    ("bind_agent", "bind_agent_wallet", 5000, MAIN, {"agent_wallet": str(AGENT.pubkey())}),
    ("agent_cancel", "cancel_order", 5000, AGENT, {"symbol": "BTC", "order_id": 7}),
    ("no_expiry_window", "cancel_order", None, MAIN, {"symbol": "BTC", "order_id": 1}),
    (
        "non_ascii",
        "create_order",
        5000,
        MAIN,
        {
            "symbol": "BTC",
            "price": "100000",
            "amount": "0.1",
            "side": "bid",
            "tif": "GTC",
            "reduce_only": False,
            "builder_code": "café",
        },
    ),
    (
        "non_ascii_raw_utf8",
        "create_order",
        5000,
        MAIN,
        {
            "symbol": "BTC",
            "price": "100000",
            "amount": "0.1",
            "side": "ask",
            "tif": "IOC",
            "reduce_only": False,
            "builder_code": "日本",
        },
    ),
]


def build() -> list[dict[str, Any]]:
    out = []
    for name, op_type, window, signer, payload in CASES:
        header: dict[str, Any] = {"type": op_type, "timestamp": TS}
        if window is not None:
            header["expiry_window"] = window
        ensure_ascii = name not in RAW_UTF8
        message = json.dumps(
            sort_json_keys({**header, "data": payload}),
            separators=(",", ":"),
            ensure_ascii=ensure_ascii,
        )
        out.append(
            {
                "name": name,
                "op_type": op_type,
                "timestamp": TS,
                "expiry_window": window,
                "payload": payload,
                "ensure_ascii": ensure_ascii,
                "message": message,
                "signer": str(signer.pubkey()),
                "signer_seed_hex": SEEDS[str(signer.pubkey())].hex(),
                "account": str(MAIN.pubkey()),
                "signature": str(signer.sign_message(message.encode("utf-8"))),
            }
        )
    return out


if __name__ == "__main__":
    path = Path(__file__).with_name("signing_vectors.json")
    path.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
