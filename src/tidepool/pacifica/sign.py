"""Client-side signing: what the official SDK does before it sends a signed request (§1.1–1.2).

The signature covers `canonical_message` in its ``ensure_ascii`` form, the one every Pacifica
verifier tries first. Nothing here reads a clock: the caller passes the timestamp, so a signed
body is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from solders.keypair import Keypair

from tidepool.pacifica.canonical import canonical_message
from tidepool.pacifica.keys import as_keypair

__all__ = ["sign_payload", "signed_body"]


def sign_payload(
    secret_key_b58: Keypair | str | bytes,
    op_type: str,
    payload: Mapping[str, Any],
    *,
    timestamp: int,
    expiry_window: int | None = 5000,
) -> str:
    """Base58 ed25519 signature of the canonical message, as the official SDK produces it."""
    keypair = as_keypair(secret_key_b58)
    message = canonical_message(op_type, timestamp, expiry_window, payload)
    return str(keypair.sign_message(message))


def signed_body(
    keypair_or_secret: Keypair | str | bytes,
    op_type: str,
    payload: Mapping[str, Any],
    *,
    timestamp: int,
    expiry_window: int | None = 5000,
    account: str | None = None,
    agent_wallet: str | None = None,
) -> dict[str, Any]:
    """The flat wire body of §1.2: auth fields next to the payload fields.

    `account` defaults to the signer. To sign as an agent pass the agent's key, the main
    `account` and ``agent_wallet=<agent pubkey>``. For bind/revoke the agent key belongs in
    `payload`, where it is signed.
    """
    keypair = as_keypair(keypair_or_secret)
    body: dict[str, Any] = {
        "account": account if account is not None else str(keypair.pubkey()),
        "signature": sign_payload(
            keypair, op_type, payload, timestamp=timestamp, expiry_window=expiry_window
        ),
        "timestamp": timestamp,
    }
    if expiry_window is not None:
        body["expiry_window"] = expiry_window
    if agent_wallet is not None:
        body["agent_wallet"] = agent_wallet
    clash = body.keys() & payload.keys()
    if clash:
        raise ValueError(f"payload keys {sorted(clash)} collide with the auth fields")
    body.update(payload)
    return body
