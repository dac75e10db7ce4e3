"""Pacifica's signed-request protocol, safe for a client to import.

It imports nothing else of tidepool (tests/test_package_boundaries.py checks), so a bot
or SDK can sign exactly as the server verifies without pulling in the exchange.

* `canonical`: the bytes a signature covers, and the A3 forms a verifier tries.
* `keys`: public-key parsing (base58, 32 bytes, on the curve) and keypairs from secrets.
* `sign`: a payload's signature and the flat signed body of §1.2.
* `errors`: Pacifica's exact texts for a refused signature.

The server's verification (expiry, strict profile, replay guard) is
`tidepool.gateway.verify`, which builds its messages with this package.
"""

from tidepool.pacifica.canonical import (
    AGENT_PAYLOAD_OPS,
    DEFAULT_EXPIRY_WINDOW,
    HEADER_KEYS,
    WINDOW_ABSENT,
    canonical_message,
    fast_ascii_message,
    message_forms,
)
from tidepool.pacifica.errors import (
    INVALID_MESSAGE,
    INVALID_PUBLIC_KEY,
    INVALID_SIGNATURE,
    VERIFICATION_FAILED,
    VERIFICATION_FAILED_ID,
)
from tidepool.pacifica.keys import as_keypair, is_public_key, parse_public_key
from tidepool.pacifica.sign import sign_payload, signed_body

__all__ = [
    "AGENT_PAYLOAD_OPS",
    "DEFAULT_EXPIRY_WINDOW",
    "HEADER_KEYS",
    "INVALID_MESSAGE",
    "INVALID_PUBLIC_KEY",
    "INVALID_SIGNATURE",
    "VERIFICATION_FAILED",
    "VERIFICATION_FAILED_ID",
    "WINDOW_ABSENT",
    "as_keypair",
    "canonical_message",
    "fast_ascii_message",
    "is_public_key",
    "message_forms",
    "parse_public_key",
    "sign_payload",
    "signed_body",
]
