"""The sandbox routes (docs/sandbox.md), one builder each, named after the route: the cheats of
a local Tidepool server. Pacifica itself has none of them (it answers 404, NotFound).

Amounts, balances and prices take `Decimal`, `str` or `int` (never float), as the actions do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidepool.client.calls import Cheat, Number, value_of, wire_decimal
from tidepool.client.sandbox_models import (
    AccountBalance,
    DevAccount,
    FaucetCredit,
    MarkPrice,
    MarkPrices,
    ResetSummary,
    ServerTime,
    SnapshotId,
    StateHash,
)

__all__ = [
    "accounts",
    "advance_time",
    "balance",
    "faucet",
    "freeze_time",
    "mark_price",
    "mark_prices",
    "reset",
    "revert",
    "set_time",
    "snapshot",
    "state_hash",
    "time",
    "unfreeze_time",
]


def faucet(account: str, amount: Number) -> Cheat[FaucetCredit]:
    """Add `amount` USDC (> 0) to the account's collateral; a new account is created."""
    body = {"account": account, "amount": wire_decimal(amount, "amount")}
    return Cheat("/sandbox/faucet", value_of(FaucetCredit), body)


def balance(account: str, balance: Number) -> Cheat[AccountBalance]:
    """Set the account's USDC collateral (>= 0)."""
    body = {"account": account, "balance": wire_decimal(balance, "balance")}
    return Cheat("/sandbox/balance", value_of(AccountBalance), body)


def mark_price(symbol: str, price: Number) -> Cheat[MarkPrice]:
    """Move one market's mark; the stops and TP/SL it crosses trigger at once."""
    body = {"symbol": symbol, "price": wire_decimal(price, "price")}
    return Cheat("/sandbox/mark_price", value_of(MarkPrice), body)


def mark_prices(prices: Mapping[str, Number]) -> Cheat[MarkPrices]:
    """Move several marks, all or none (one bad symbol or price moves nothing)."""
    body = {"prices": {s: wire_decimal(p, f"prices.{s}") for s, p in prices.items()}}
    return Cheat("/sandbox/mark_price", value_of(MarkPrices), body)


def time() -> Cheat[ServerTime]:
    """The server clock (GET /sandbox/time)."""
    return Cheat("/sandbox/time", value_of(ServerTime))


def _clock(body: Mapping[str, Any]) -> Cheat[ServerTime]:
    return Cheat("/sandbox/time", value_of(ServerTime), body)


def advance_time(advance_ms: int) -> Cheat[ServerTime]:
    """Move the server clock forward; a frozen clock stays frozen."""
    return _clock({"advance_ms": advance_ms})


def set_time(set_ms: int) -> Cheat[ServerTime]:
    """Set the server clock (ms since the epoch); earlier than now is InvalidRequest."""
    return _clock({"set_ms": set_ms})


def freeze_time() -> Cheat[ServerTime]:
    """Stop the server clock where it is: every command gets the same timestamp."""
    return _clock({"freeze": True})


def unfreeze_time() -> Cheat[ServerTime]:
    """Let a frozen clock run on from where it stands."""
    return _clock({"freeze": False})


def snapshot() -> Cheat[SnapshotId]:
    """Keep the whole exchange state (not the clock) under a new id, for `revert`."""
    return Cheat("/sandbox/snapshot", value_of(SnapshotId), {})


def revert(id: int) -> Cheat[SnapshotId]:
    """Go back to snapshot `id`; it and every later snapshot are dropped. An unknown id is
    NotFound. WebSocket subscriptions are closed (1012): their clients resubscribe."""
    return Cheat("/sandbox/revert", value_of(SnapshotId), {"id": id})


def reset() -> Cheat[ResetSummary]:
    """The state of a new server: no orders, initial marks, dev accounts funded again."""
    return Cheat("/sandbox/reset", value_of(ResetSummary), {})


def accounts() -> Cheat[list[DevAccount]]:
    """The dev accounts with their keys and current balances (GET /sandbox/accounts)."""
    return Cheat("/sandbox/accounts", value_of(list[DevAccount]))


def state_hash() -> Cheat[StateHash]:
    """The hash of the trading state (GET /sandbox/state_hash)."""
    return Cheat("/sandbox/state_hash", value_of(StateHash))
