"""A seeded stream of valid-looking commands for the real engine (R6-style tests, crash tests).

Adaptive: cancels target orders that a reference engine says were accepted, so a good share of
them succeed. The stream itself is a plain list, replayable anywhere.
"""

from __future__ import annotations

import random
from decimal import Decimal

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import (
    Batch,
    CancelAllOrders,
    CancelOrder,
    Command,
    CreateMarketOrder,
    CreateOrder,
    Faucet,
    SetMarkPrice,
)
from tidepool.engine.engine import Engine, EngineConfig

ACCOUNTS = [f"acct{i}" for i in range(6)]
TS = 1_750_000_000_000


def make_command(rng: random.Random, seq: int, live: list[tuple[str, int]]) -> Command:
    ts = TS + seq
    if seq <= len(ACCOUNTS):
        return Faucet(seq=seq, ts_ms=ts, account=ACCOUNTS[seq - 1], amount=Decimal(1_000_000))
    r = rng.random()
    if r < 0.04:  # a batch: a maker and a market taker in one command
        side = rng.choice(["bid", "ask"])
        maker = CreateOrder(
            seq=seq,
            ts_ms=ts,
            account=rng.choice(ACCOUNTS),
            symbol="BTC",
            side=side,
            price_ticks=100_000,
            size_lots=rng.randint(10, 300),
            tif="ALO",
            reduce_only=False,
        )
        taker = CreateMarketOrder(
            seq=seq,
            ts_ms=ts,
            account=rng.choice(ACCOUNTS),
            symbol="BTC",
            side="ask" if side == "bid" else "bid",
            size_lots=rng.randint(10, 300),
            slippage_percent=Decimal("0.5"),
            reduce_only=False,
        )
        return Batch(seq=seq, ts_ms=ts, actions=[maker, taker])
    if r < 0.6:
        return CreateOrder(
            seq=seq,
            ts_ms=ts,
            account=rng.choice(ACCOUNTS),
            symbol=rng.choice(["BTC", "BTC", "ETH"]),
            side=rng.choice(["bid", "ask"]),
            price_ticks=rng.randint(99_950, 100_050),
            size_lots=rng.randint(10, 300),
            tif=rng.choice(["GTC", "GTC", "IOC", "ALO"]),
            reduce_only=False,
            client_order_id=f"c{seq}" if rng.random() < 0.5 else None,
        )
    if r < 0.9 and live:
        account, order_id = live.pop(rng.randrange(len(live)))
        return CancelOrder(seq=seq, ts_ms=ts, account=account, symbol="BTC", order_id=order_id)
    if r < 0.95:
        return CancelAllOrders(
            seq=seq, ts_ms=ts, account=rng.choice(ACCOUNTS), symbol=None, exclude_reduce_only=False
        )
    price = Decimal(rng.randint(99_900, 100_100))
    return SetMarkPrice(seq=seq, ts_ms=ts, symbol="BTC", price=price)


def real_stream(n: int, seed: int) -> list[Command]:
    rng = random.Random(seed)
    reference = Engine(DEFAULT_MARKETS, EngineConfig())
    live: list[tuple[str, int]] = []
    cmds = []
    for seq in range(1, n + 1):
        cmd = make_command(rng, seq, live)
        outcome = reference.apply(cmd)
        if isinstance(cmd, CreateOrder) and outcome.order_id is not None:
            live.append((cmd.account, outcome.order_id))
        cmds.append(cmd)
    return cmds
