"""Server configuration: one frozen value, and the table of every `tidepool serve` setting.

Each field of `Config` is one setting, declared once with `option(default, parser, help)`
(tidepool.options). From that one entry come:

- the flag `--field-name` (and `--no-field-name` for a `switch=True` setting), with its default
  shown in `tidepool serve --help`;
- the environment variable `TIDEPOOL_FIELD_NAME`;
- the config-file key `field-name` (or `field_name`), in a TOML file given with `--config`, or
  under `[tool.tidepool]` in the `pyproject.toml` of the working directory.

Precedence is flags > environment > file > the default written here (tidepool.configsources).

To add a setting: add one field here, `name: Type = option(default, parser, "help")`, with a
parser from tidepool.options (or a new one there: text in, value out, `BadValue` with a short
reason when the text is not a value), then read `cfg.name` where it is used. Nothing else
lists settings; a test walks this table to check every setting is reachable all three ways.

The engine's own settings (fees, the open-order limit, the price band) take their defaults from
`EngineConfig`, which is where they are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, cast

import msgspec

from tidepool.domain.markets import DEFAULT_MARKETS, MarketSpec, format_decimal
from tidepool.engine.config import EngineConfig
from tidepool.options import (
    BadValue,
    amount,
    boolean,
    choice,
    fraction,
    option,
    optional_path,
    optional_whole,
    path,
    whole,
)

Durability = Literal["none", "process", "fsync"]
LogLevel = Literal["debug", "info", "warning", "error", "critical"]

_ENGINE = EngineConfig()
_BAND = _ENGINE.price_band * 100 if _ENGINE.price_band is not None else Decimal(0)


def _markets(text: str) -> tuple[MarketSpec, ...]:
    """`--markets FILE`: the file read and checked (load_markets), its problems as BadValue."""
    try:
        return load_markets(Path(text))
    except OSError as exc:
        raise BadValue(f"{text}: {exc.strerror}") from None
    except ValueError as exc:
        raise BadValue(f"{text}: {exc}") from None


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


_LIQUIDITY = LiquidityConfig()  # the market maker's and price walk's defaults, written above


@dataclass(frozen=True)
class Config:
    host: str = option("127.0.0.1", str, "address to listen on")
    port: int = option(7700, whole(0, 65535), "0 picks a free port and prints it")
    state_dir: Path = option(
        Path("tidepool-data"), path, "journal and snapshots", relative=True, metavar="DIR"
    )
    durability: Durability = option(
        "process",
        cast(Any, choice("process", "fsync", "none")),
        "process: journaled to the OS before the answer (survives kill -9); "
        "fsync: fsynced with group commit (survives power loss); none: in memory only",
        metavar="{process,fsync,none}",
    )
    snapshot_every: int = option(100_000, whole(1), "commands between snapshots")
    markets: tuple[MarketSpec, ...] = option(
        DEFAULT_MARKETS,
        _markets,
        "JSON file with the market list: each market's symbol, tick_size, lot_size, "
        "min_order_size, max_order_size, max_leverage and initial_mark_price",
        shown=", ".join(m.symbol for m in DEFAULT_MARKETS) + " (built in)",
        relative=True,
        metavar="FILE",
    )
    strict_auth: bool = option(False, boolean, "reject replays and future timestamps", switch=True)
    max_open_orders: int = option(_ENGINE.max_open_orders, whole(1), "per account")
    price_band_percent: Decimal = option(
        _BAND,
        fraction,
        "reject limit prices further than this from the mark (error 30); 0 turns it off",
        shown=format_decimal(_BAND),
    )
    maker_fee: Decimal = option(_ENGINE.maker_fee, fraction, "of notional")
    taker_fee: Decimal = option(_ENGINE.taker_fee, fraction, "of notional")
    log_level: LogLevel = option(
        "info",
        cast(Any, choice("debug", "info", "warning", "error", "critical")),
        "server log verbosity; info logs one line per request",
        metavar="{debug,info,warning,error,critical}",
    )
    log_json: bool = option(
        False, boolean, "log JSON lines (one object per line) instead of text", switch=True
    )
    explain_auth: bool = option(
        False,
        boolean,
        "log why each refused signature failed: the message the server verified and a hint "
        "(only in the log, never in the answer)",
        switch=True,
    )
    speedbump_ms: int = option(
        100,
        whole(0),
        "market orders, GTC/IOC creates and batches holding either wait a random delay in "
        "[N/2, N] ms before matching; 0 turns it off",
    )
    seed: int = option(
        0,
        whole(0, 2**64 - 1),
        "derives the dev accounts' keys and the speedbump's random delays",
    )
    workers: int = option(
        0,
        whole(0, 64),
        "gateway worker processes doing HTTP and signature checks in front of the engine "
        "process (more signed requests/s on several cores); 0 = one process does everything",
    )
    sandbox: bool = option(
        True,
        boolean,
        "off: no /sandbox/ routes (faucet, balance, marks, time, snapshot and revert, reset, "
        "...: docs/sandbox.md); they take no signature",
        shown="on",
        metavar="{on,off}",
    )
    rate_limit: int | None = option(
        None,
        optional_whole(1),
        "credits per rolling 60 s per account for requests with a PF-API-KEY header "
        "(1 a request, 0.5 a cancel; over it: 429); none: no quota",
        shown="none",
    )
    accounts: int = option(10, whole(0, 1000), "dev accounts to derive")
    balance: Decimal = option(Decimal(100_000), amount, "USDC each dev account starts with")
    config_out: Path | None = option(
        None,
        optional_path,
        "also write the start-up banner there as JSON",
        shown="none",
        relative=True,
        metavar="FILE",
    )
    market_maker: bool = option(
        _LIQUIDITY.market_maker,
        boolean,
        "quote a ladder around each mark from an account of its own, re-quoted as marks move: "
        "market orders fill at once (tidepool/liquidity/)",
        switch=True,
    )
    mm_levels: int = option(_LIQUIDITY.mm_levels, whole(1, 50), "market maker: quotes a side")
    mm_spread_bps: Decimal = option(
        _LIQUIDITY.mm_spread_bps,
        fraction,
        "market maker: level i sits i times this many basis points from the mark (and at least "
        "i ticks)",
    )
    mm_size: Decimal = option(
        _LIQUIDITY.mm_notional, amount, "market maker: notional of each quote, in USDC"
    )
    mm_balance: Decimal = option(
        _LIQUIDITY.mm_balance,
        amount,
        "market maker: USDC its account is funded with once, when it is new",
    )
    price_walk: bool = option(
        _LIQUIDITY.price_walk,
        boolean,
        "move each mark by a random walk seeded by --seed",
        switch=True,
    )
    walk_volatility_bps: Decimal = option(
        _LIQUIDITY.walk_volatility_bps,
        fraction,
        "price walk: standard deviation of one step, in basis points of the mark",
    )
    walk_interval_ms: int = option(
        _LIQUIDITY.walk_interval_ms, whole(1), "price walk: milliseconds between two steps"
    )

    @property
    def liquidity(self) -> LiquidityConfig:
        """The market maker's and price walk's settings, as tidepool.liquidity reads them."""
        return LiquidityConfig(
            market_maker=self.market_maker,
            mm_levels=self.mm_levels,
            mm_spread_bps=self.mm_spread_bps,
            mm_notional=self.mm_size,
            mm_balance=self.mm_balance,
            price_walk=self.price_walk,
            walk_volatility_bps=self.walk_volatility_bps,
            walk_interval_ms=self.walk_interval_ms,
        )


# The keys a markets file entry may have, and those it must have: every field without a
# default, and the initial mark price (without one the book has no reference price at all).
_MARKET_KEYS = frozenset(MarketSpec.__struct_fields__)
_REQUIRED_MARKET_KEYS = frozenset(
    MarketSpec.__struct_fields__[
        : len(MarketSpec.__struct_fields__) - len(MarketSpec.__struct_defaults__)
    ]
) | {"initial_mark_price"}


def load_markets(path: Path) -> tuple[MarketSpec, ...]:
    """A JSON list of market objects with the fields of MarketSpec (decimals as strings).

    Raises ValueError naming the market and the key at fault (an unknown key, a missing one, a
    value of the wrong type), or OSError when the file cannot be read."""
    try:
        raw = msgspec.json.decode(path.read_bytes())
    except msgspec.DecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise ValueError("expected a non-empty JSON list of market objects")
    markets = tuple(_market(i, entry) for i, entry in enumerate(raw))
    symbols = [m.symbol for m in markets]
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"duplicate symbols in {symbols}")
    return markets


def _market(index: int, entry: Any) -> MarketSpec:
    if not isinstance(entry, dict):
        raise ValueError(f"market #{index + 1}: expected a JSON object")
    symbol = entry.get("symbol")
    name = f"market {symbol}" if isinstance(symbol, str) and symbol else f"market #{index + 1}"
    unknown = sorted(set(entry) - _MARKET_KEYS)
    if unknown:
        raise ValueError(f"{name}: unknown key {', '.join(map(repr, unknown))}")
    missing = sorted(_REQUIRED_MARKET_KEYS - set(entry))
    if missing:
        raise ValueError(f"{name}: missing key {', '.join(map(repr, missing))}")
    try:
        # Not strict: numbers are as good as decimal strings in a file a person writes.
        m = msgspec.convert(entry, MarketSpec, strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{name}: {exc}") from None
    if m.tick_size <= 0 or m.lot_size <= 0 or m.max_leverage < 1:
        raise ValueError(f"{name}: tick_size, lot_size and max_leverage must be positive")
    if m.initial_mark_price <= 0:
        raise ValueError(f"{name}: 'initial_mark_price' must be above 0")
    return m
