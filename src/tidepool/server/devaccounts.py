"""Dev accounts: ed25519 keys derived from the server's seed, funded when a state dir is new.

The same seed gives the same keys on every machine and every run, so a bot's test config can
name a dev key once and keep it (as anvil's mnemonic does). The keys are public by design: anyone
who knows the seed (its default is 0) rebuilds them, so they are for local testing only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from solders.keypair import Keypair

from tidepool.engine.commands import Faucet
from tidepool.gateway.exchange import Exchange

# Domain separation: these bytes never collide with another use of sha256 over a seed.
_DOMAIN = b"tidepool dev account"
_MAKER_DOMAIN = b"tidepool market maker"  # `serve --market-maker`'s account: no dev account


@dataclass(frozen=True)
class DevAccount:
    index: int
    keypair: Keypair

    @property
    def public_key(self) -> str:
        return str(self.keypair.pubkey())

    @property
    def secret_key(self) -> str:
        """base58 of the 64-byte secret: what `Keypair.from_base58_string` reads."""
        return str(self.keypair)


def dev_accounts(seed: int, count: int) -> tuple[DevAccount, ...]:
    """Account i's 32-byte ed25519 seed is sha256(domain, seed, i), each as fixed-width bytes
    so that no two (seed, i) pairs hash the same input."""
    return tuple(DevAccount(i, _derive(_DOMAIN, seed, i)) for i in range(count))


def market_maker_account(seed: int) -> DevAccount:
    """The account `serve --market-maker` quotes from: derived from the seed like the dev
    accounts, under its own domain, so it is none of them whatever --accounts says."""
    return DevAccount(0, _derive(_MAKER_DOMAIN, seed, 0))


def _derive(domain: bytes, seed: int, index: int) -> Keypair:
    seed_bytes = seed.to_bytes(8, "big")  # --seed is in [0, 2**64)
    return Keypair.from_seed(
        hashlib.sha256(domain + seed_bytes + index.to_bytes(4, "big")).digest()
    )


async def fund_dev_accounts(
    exchange: Exchange, accounts: tuple[DevAccount, ...], balance: Decimal
) -> None:
    """On a new state dir (nothing journaled yet), credit each dev account `balance` with a
    Faucet command through the pipeline, so it is journaled and replayed like a faucet request;
    a restart of an existing state dir funds nothing again."""
    if exchange.sequencer.last_seq != 0:
        return
    for account in accounts:
        outcome = await exchange.pipeline.submit(Faucet(account=account.public_key, amount=balance))
        if outcome.reject is not None:
            raise RuntimeError(f"funding dev account {account.index} failed: {outcome.reject}")
