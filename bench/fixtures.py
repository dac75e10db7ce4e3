"""Pre-signed request bodies for the HTTP load, signed before any timed run.

Bodies are signed with Pacifica's official recipe (tests/pacifica_recipe.py: sorted keys, compact
json.dumps, solders `sign_message`), never with Tidepool's own signing code, and with a large
`expiry_window` (600 000 ms) so they stay valid for the whole run. Signing is CPU-heavy (~45 µs a
body), so it is spread over all cores with a process pool, and only happens while no server is
being measured.

All ids are deterministic: account k is the ed25519 key seeded with `SEED_BASE + k`, and client
order ids are UUIDs built from (scenario, account, counter).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from solders.keypair import Keypair

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from bench.loadgen import raw_post
from pacifica_recipe import signed_body

EXPIRY_WINDOW = 600_000
SEED_BASE = 0x5EED
CREATE = "/api/v1/orders/create"
CANCEL = "/api/v1/orders/cancel"
OP_TYPES = {CREATE: "create_order", CANCEL: "cancel_order"}


def keypair(k: int) -> Keypair:
    return Keypair.from_seed((SEED_BASE + k).to_bytes(32, "big"))


def account(k: int) -> str:
    return str(keypair(k).pubkey())


def cloid(scenario: int, acct: int, n: int) -> str:
    return str(uuid.UUID(int=(scenario << 96) | (acct << 64) | n | (0x4 << 76)))


@dataclass(frozen=True)
class Op:
    """One request to sign: account index, route, payload."""

    acct: int
    path: str
    payload: dict[str, Any]


def create_payload(cl: str, side: str, price: int) -> dict[str, Any]:
    """A resting post-only (ALO) BTC order: never delayed by the speedbump, never crosses."""
    return {
        "symbol": "BTC",
        "price": str(price),
        "amount": "0.001",
        "side": side,
        "tif": "ALO",
        "reduce_only": False,
        "client_order_id": cl,
    }


def cancel_payload(cl: str) -> dict[str, Any]:
    return {"symbol": "BTC", "client_order_id": cl}


# -- signing (in worker processes) ---------------------------------------------------------
_keys: dict[int, Keypair] = {}


def _sign_chunk(args: tuple[list[Op], int]) -> list[bytes]:
    ops, timestamp = args
    out: list[bytes] = []
    for op in ops:
        kp = _keys.get(op.acct)
        if kp is None:
            kp = _keys[op.acct] = keypair(op.acct)
        body = signed_body(
            kp, OP_TYPES[op.path], op.payload, timestamp, expiry_window=EXPIRY_WINDOW
        )
        out.append(raw_post(op.path, orjson.dumps(body)))
    return out


def sign_all(ops: list[Op], processes: int = 2) -> list[bytes]:
    """Sign every op (in order) into a complete raw HTTP request."""
    if not ops:
        return []
    timestamp = time.time_ns() // 1_000_000
    size = max(1, min(5000, len(ops) // (processes * 4) or 1))
    chunks = [(ops[i : i + size], timestamp) for i in range(0, len(ops), size)]
    if processes <= 1 or len(ops) < 2000:
        return [r for c in chunks for r in _sign_chunk(c)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes) as pool:
        return [r for part in pool.map(_sign_chunk, chunks) for r in part]


# -- scenarios -----------------------------------------------------------------------------
class CreateCancelBook:
    """Creates (ALO bids, unique client ids, round-robin over accounts) and, later, cancels of
    exactly the orders those creates left resting, oldest first, by client order id.

    The caller `rest()`s the create ops that were actually sent (the load generator sends a
    prefix of its list); cancels draw from those, and fall back to unknown ids when none is
    left (still the full verify + engine path, answered 400 "Order not found").
    """

    SCENARIO = 1

    def __init__(self, accounts: range) -> None:
        self.accounts = accounts
        self.made = 0
        self.cancelled = 0
        self.resting: deque[tuple[int, str]] = deque()

    def creates(self, n: int) -> list[Op]:
        ops = []
        n_acc = len(self.accounts)
        for i in range(self.made, self.made + n):
            a = self.accounts[i % n_acc]
            cl = cloid(self.SCENARIO, a, i)
            # bids spread over 2 000 price levels below the 100 000 mark: a deep book
            ops.append(Op(a, CREATE, create_payload(cl, "bid", 90_000 + (i * 7919) % 2000)))
        self.made += n
        return ops

    def rest(self, sent: list[Op]) -> None:
        for op in sent:
            self.resting.append((op.acct, op.payload["client_order_id"]))

    def cancels(self, n: int) -> tuple[list[Op], int]:
        """The next n cancels, and how many of them target resting orders."""
        ops = []
        hits = 0
        for i in range(self.cancelled, self.cancelled + n):
            if self.resting:
                a, cl = self.resting.popleft()
                hits += 1
            else:
                a = self.accounts[i % len(self.accounts)]
                cl = cloid(self.SCENARIO + 1, a, i)
            ops.append(Op(a, CANCEL, cancel_payload(cl)))
        self.cancelled += n
        return ops, hits


def cancel_pool(n: int, accounts: range) -> list[Op]:
    """Cancels of unknown client ids, for the ceilings (which keep no state)."""
    return [
        Op(a, CANCEL, cancel_payload(cloid(9, a, i)))
        for i, a in ((i, accounts[i % len(accounts)]) for i in range(n))
    ]
