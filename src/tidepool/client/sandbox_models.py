"""Typed answers of the sandbox routes (docs/sandbox.md): frozen msgspec structs, `Decimal`
amounts and prices, fields in the order the server writes them (the CLI prints them back as
JSON)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from solders.keypair import Keypair

__all__ = [
    "AccountBalance",
    "DevAccount",
    "FaucetCredit",
    "MarkPrice",
    "MarkPrices",
    "ResetSummary",
    "ServerTime",
    "SnapshotId",
    "StateHash",
]


class _Model(msgspec.Struct, frozen=True, kw_only=True):
    pass


class FaucetCredit(_Model, frozen=True):
    """What the faucet credited, and the balance after it."""

    account: str
    amount: Decimal
    balance: Decimal


class AccountBalance(_Model, frozen=True):
    account: str
    balance: Decimal


class MarkPrice(_Model, frozen=True):
    symbol: str
    price: Decimal


class MarkPrices(_Model, frozen=True):
    prices: dict[str, Decimal]


class ServerTime(_Model, frozen=True):
    """The server clock: ms since the epoch, and whether it is frozen."""

    now_ms: int
    frozen: bool


class SnapshotId(_Model, frozen=True):
    """A snapshot's id (what `snapshot` made, or what `revert` went back to)."""

    id: int


class ResetSummary(_Model, frozen=True):
    """How many dev accounts a reset funded again, and with how much each."""

    accounts: int
    balance: Decimal


class DevAccount(_Model, frozen=True):
    """A dev account the server derived from its seed: public by design, never for real funds."""

    index: int
    public_key: str
    secret_key: str  # base58 of the 64-byte secret
    balance: Decimal  # when it was read

    @property
    def keypair(self) -> Keypair:
        return Keypair.from_base58_string(self.secret_key)


class StateHash(_Model, frozen=True):
    """The hash of the trading state at sequence number `seq`."""

    state_hash: str
    seq: int
