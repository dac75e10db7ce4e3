"""`--explain-auth`: why a signed request was refused, for the server's log only.

"Verification failed" is all Pacifica (and so Tidepool's wire answer) says about a bad
signature, and it is the first question every signed-API user asks. With `--explain-auth`,
the request's log line (gateway.accesslog) also carries:

- `check`: the check that failed (the wire message);
- `expected`: the canonical message the server verified for this body, the bytes a client must
  sign (the official recipe's form; `forms` says how many A3 forms were tried in all);
- `hint`: the likely cause, found by re-running the same verification (gateway.verify) with one
  thing changed: a timestamp in seconds rather than milliseconds, an expired window (by how many
  ms), another operation type that the signature does verify, the account's own key where an
  agent was named, or the key of another account the server knows; otherwise a field changed
  after signing (or signed differently) is what remains.

Nothing here is on the path of a request that passes, and nothing changes the answer. It logs
no secret: a signature is public, and a message holds only what the client sent.
"""

from __future__ import annotations

from typing import Any

from solders.pubkey import Pubkey
from solders.signature import Signature

from tidepool.gateway.exchange import Exchange
from tidepool.gateway.operations import OPERATIONS, Operation
from tidepool.gateway.verify import SignatureError, VerifyPolicy, verify_signature
from tidepool.pacifica import DEFAULT_EXPIRY_WINDOW, INVALID_MESSAGE

# Timestamps below this many ms are before 1973: a client that sends seconds lands far below.
SECONDS_BELOW = 10**11
# Other accounts' keys tried for "a key of another account"; each costs one ed25519 check.
MAX_KEYS_TRIED = 1000

_NO_EXPIRY = 0  # verifying "as of" time 0: nothing has expired, so the messages get checked
_ANY = VerifyPolicy()


def explain(ex: Exchange, raw: dict[str, Any], op: Operation, check: str) -> dict[str, str]:
    """The log's account of a refused signature (`check`: the wire message)."""
    now_ms = ex.clock.now_ms()
    tried: list[bytes] = []

    def record(signature: Signature, public_key: Pubkey, message: bytes) -> bool:
        tried.append(message)
        return False

    _verifies(raw, op, record)
    found: dict[str, str] = {"check": check, "hint": _hint(ex, raw, op, check, now_ms)}
    if tried:
        found["expected"] = tried[0].decode("utf-8", "replace")
        found["forms"] = str(len(tried))
    return found


def _verifies(raw: dict[str, Any], op: Operation, check: Any = None) -> bool:
    """Does the signature verify for `op`, ignoring time (and with `check` as the primitive)?"""
    extra = {} if check is None else {"check": check}
    try:
        verify_signature(
            raw,
            op.op_type,
            _NO_EXPIRY,
            known_fields=op.known,
            policy=_ANY,
            agent_wallet_is_payload=op.agent_is_payload,
            **extra,
        )
    except SignatureError:
        return False
    return True


def _hint(ex: Exchange, raw: dict[str, Any], op: Operation, check: str, now_ms: int) -> str:
    timestamp, window = raw.get("timestamp"), raw.get("expiry_window")
    if type(timestamp) is int and 0 <= timestamp < SECONDS_BELOW:
        return (
            f"timestamp {timestamp} looks like seconds; Pacifica wants milliseconds "
            f"({timestamp * 1000}), and the server time is {now_ms}"
        )
    if check.startswith(f"{INVALID_MESSAGE}: "):  # the strict profile's checks say it all
        return check.removeprefix(f"{INVALID_MESSAGE}: ")
    if check.startswith(INVALID_MESSAGE):
        effective = DEFAULT_EXPIRY_WINDOW if window is None else window
        if type(timestamp) is int and type(effective) is int:
            late = now_ms - (timestamp + effective)
            if late > 0:
                return (
                    f"expired by {late} ms: timestamp {timestamp} + expiry_window {effective} "
                    f"is before the server time {now_ms}"
                )
            ahead = timestamp - now_ms
            if ahead > 0:
                return f"timestamp is {ahead} ms ahead of the server time {now_ms}"
        return "timestamp and expiry_window must be integers of milliseconds"
    if _verifies(raw, op):
        return "the signature is valid but this request was refused as a duplicate or by a cap"
    for other in OPERATIONS:
        if other.op_type != op.op_type and _verifies(raw, other):
            return (
                f"signed as operation type {other.op_type!r}, but {op.path} verifies {op.op_type!r}"
            )
    agent = None if op.agent_is_payload else raw.get("agent_wallet")
    if agent is not None:
        own = {k: v for k, v in raw.items() if k != "agent_wallet"}
        if _verifies(own, op):
            return (
                "signed with the account's own key, but agent_wallet names another signer; "
                "sign with the agent's key or leave agent_wallet out"
            )
    else:
        account = raw.get("account")
        for other_account in ex.engine.account_addresses(MAX_KEYS_TRIED):
            if other_account != account and _verifies({**raw, "account": other_account}, op):
                return (
                    f"signed with the key of account {other_account}, not of {account}; "
                    "sign with this account's key, or bind the signer as its agent"
                )
    return (
        "the signature does not cover this body: a field changed after signing, or the client "
        "signed other fields or values; sign exactly the message in `expected`"
    )
