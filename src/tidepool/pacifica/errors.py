"""Pacifica's wire texts for a refused signed request (spec §1.3), shared by whoever raises or
matches them.

The texts are exact: clients (the official SDK's examples, ccxt) show them verbatim, and bots
match on them. "Invalid message" is also the prefix of every timestamp and expiry refusal; the
verifier appends the detail after a colon.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "INVALID_MESSAGE",
    "INVALID_PUBLIC_KEY",
    "INVALID_SIGNATURE",
    "VERIFICATION_FAILED",
    "VERIFICATION_FAILED_ID",
]

INVALID_SIGNATURE: Final = "Invalid signature"
INVALID_MESSAGE: Final = "Invalid message"
INVALID_PUBLIC_KEY: Final = "Invalid public key"
VERIFICATION_FAILED: Final = (
    "Verification failed: signature does not match signer and canonical payload."
)
# The machine-readable id Pacifica sends next to VERIFICATION_FAILED.
VERIFICATION_FAILED_ID: Final = "signature_verification_failed"
