"""Pacifica's official Python SDK signing recipe, written out independently of tidepool.pacifica.

Tests sign with this, never with the server's own code, so a bug in tidepool.pacifica cannot
agree with itself: the message is `json.dumps(sorted, separators=(",", ":"))` and the signature is
solders' `Keypair.sign_message`, exactly as the SDK's common/utils.py does.
"""

from __future__ import annotations

import json
from typing import Any

from solders.keypair import Keypair


def sort_json_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: sort_json_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_json_keys(v) for v in value]
    return value


def sign_request(
    keypair: Keypair,
    op_type: str,
    payload: dict[str, Any],
    timestamp: int,
    expiry_window: int | None = 5000,
) -> tuple[str, str]:
    header: dict[str, Any] = {"type": op_type, "timestamp": timestamp}
    if expiry_window is not None:
        header["expiry_window"] = expiry_window
    message = json.dumps(sort_json_keys({**header, "data": payload}), separators=(",", ":"))
    return message, str(keypair.sign_message(message.encode("utf-8")))


def signed_body(
    keypair: Keypair,
    op_type: str,
    payload: dict[str, Any],
    timestamp: int,
    *,
    account: str | None = None,
    agent_wallet: str | None = None,
    expiry_window: int | None = 5000,
) -> dict[str, Any]:
    """The flat wire body: header fields next to the payload (spec §1.2)."""
    _, signature = sign_request(keypair, op_type, payload, timestamp, expiry_window)
    body: dict[str, Any] = {
        "account": account or str(keypair.pubkey()),
        "signature": signature,
        "timestamp": timestamp,
        **payload,
    }
    if expiry_window is not None:
        body["expiry_window"] = expiry_window
    if agent_wallet is not None:
        body["agent_wallet"] = agent_wallet
    return body


def keypair(n: int) -> Keypair:
    """Deterministic test keys."""
    return Keypair.from_seed(bytes([n]) * 32)
