"""Solana ed25519 keys as Pacifica's wire carries them: base58 public keys and secret keys.

Guarantees:

* `parse_public_key` accepts exactly what a signature could verify against: base58 of 32 bytes
  that is a point on the ed25519 curve. Valid keys are cached (the curve check costs ~3 µs
  against ~0.1 µs for base58) in a cache of fixed size, so memory is bounded whatever keys a
  client sends.
* `as_keypair` never confuses raw bytes with base58 text, and refuses a 64-byte secret whose
  public half does not match its seed.
"""

from __future__ import annotations

from typing import Final

import base58
from solders.keypair import Keypair
from solders.pubkey import Pubkey

__all__ = ["as_keypair", "is_public_key", "parse_public_key"]

_PUBKEY_CACHE_SIZE: Final = 4096
_pubkey_cache: dict[str, Pubkey] = {}


def _decode_pubkey(text: str) -> Pubkey | None:
    """Uncached: base58, exactly 32 bytes, and a point on the ed25519 curve.

    The curve check gives §1.3's "not a valid 32-byte Ed25519 key" its full meaning: an off-curve
    value (a Solana PDA, random bytes) can never verify anything, and Rust verifiers refuse it
    when parsing the key, so it is "Invalid public key" rather than a failed verification. It is
    also the expensive part, hence the cache.
    """
    try:
        key = Pubkey.from_string(text)
    except ValueError:
        return None
    return key if key.is_on_curve() else None


def parse_public_key(text: object) -> Pubkey | None:
    """The key `text` spells, or None unless it is a base58 ed25519 public key; only valid keys
    are cached."""
    key = _pubkey_cache.get(text) if type(text) is str else None
    if key is not None:
        return key
    if type(text) is not str or (key := _decode_pubkey(text)) is None:
        return None
    if len(_pubkey_cache) >= _PUBKEY_CACHE_SIZE:
        # FIFO eviction: cheap, bounded, and a miss only costs one decode.
        del _pubkey_cache[next(iter(_pubkey_cache))]
    _pubkey_cache[text] = key
    return key


def is_public_key(text: object) -> bool:
    """True if `text` is a base58 ed25519 public key that a signature could verify against."""
    return parse_public_key(text) is not None


def as_keypair(key: Keypair | str | bytes) -> Keypair:
    """A Keypair from itself, raw bytes (64-byte Solana secret or 32-byte seed), or base58 text.

    Raw and base58 bytes cannot be confused: base58 of 32 or 64 bytes is 43–88 characters long.
    """
    if isinstance(key, Keypair):
        return key
    raw = key if isinstance(key, bytes) and len(key) in (32, 64) else base58.b58decode(key)
    if len(raw) == 32:
        return Keypair.from_seed(raw)
    if len(raw) == 64:
        return Keypair.from_bytes(raw)  # checks that the public half matches the seed
    raise ValueError("a secret key is 64 bytes (Solana keypair) or a 32-byte seed")
