"""Server configuration: one frozen value built from the command line (see `tidepool serve -h`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec

from tidepool.domain.markets import DEFAULT_MARKETS, MarketSpec

Durability = Literal["none", "process", "fsync"]


@dataclass(frozen=True)
class LiquidityConfig:
    """`serve --market-maker` and `--price-walk` (tidepool/liquidity/): both off by default."""

    market_maker: bool = False
    mm_levels: int = 3  # quotes a side, per market
    mm_spread_bps: Decimal = Decimal(5)  # level i sits i x this from the mark
    mm_notional: Decimal = Decimal(10_000)  # USDC per quote
    mm_balance: Decimal = Decimal(1_000_000)  # USDC the maker's account starts with
    price_walk: bool = False
    walk_volatility_bps: Decimal = Decimal(10)  # standard deviation of one step
    walk_interval_ms: int = 1000


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 7700
    state_dir: Path = Path("tidepool-data")
    durability: Durability = "process"
    snapshot_every: int = 100_000
    strict_auth: bool = False
    markets: tuple[MarketSpec, ...] = field(default=DEFAULT_MARKETS)
    maker_fee: Decimal = Decimal("0.00015")
    taker_fee: Decimal = Decimal("0.0004")
    max_open_orders: int = 1000
    price_band_percent: Decimal = Decimal(50)  # error 30 beyond it; 0 = no band
    log_level: str = "info"
    speedbump_ms: int = 100  # delays are drawn from [speedbump_ms / 2, speedbump_ms]; 0 = off
    seed: int = 0  # the dev accounts' keys and the speedbump's draws; fixed, so runs repeat
    workers: int = 0  # gateway worker processes in front of the engine process; 0 = none
    sandbox: bool = True  # serve the unauthenticated /sandbox/ routes (faucet, mark price, ...)
    accounts: int = 10  # dev accounts derived from the seed, funded when the state dir is new
    balance: Decimal = Decimal(100_000)  # USDC each dev account starts with
    config_out: Path | None = None  # where to write the banner as JSON
    liquidity: LiquidityConfig = field(default_factory=LiquidityConfig)


def load_markets(path: Path) -> tuple[MarketSpec, ...]:
    """A JSON list of market objects with the fields of MarketSpec (decimals as strings)."""
    markets = msgspec.json.decode(path.read_bytes(), type=list[MarketSpec])
    if not markets:
        raise ValueError(f"{path}: no markets defined")
    symbols = [m.symbol for m in markets]
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"{path}: duplicate symbols in {symbols}")
    for m in markets:
        if m.tick_size <= 0 or m.lot_size <= 0 or m.max_leverage < 1:
            raise ValueError(
                f"{path}: {m.symbol}: tick_size, lot_size and max_leverage must be positive"
            )
    return tuple(markets)
