"""The exchange a server process holds: the state dir recovered into a sequencer, the pipeline
in front of it, the clock, the markets and the signature policy (with, under `--strict-auth`,
the replay guard rebuilt from the journal's last minute)."""

from __future__ import annotations

import sys

from tidepool.config import Config
from tidepool.engine.engine import EngineConfig
from tidepool.gateway.exchange import DevKeys, Exchange
from tidepool.gateway.ratelimit import RateMeter
from tidepool.gateway.verify import VerifyPolicy
from tidepool.liquidity.running import Liquidity
from tidepool.runtime.clock import SandboxClock
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Sequencer
from tidepool.runtime.speedbump import Speedbump
from tidepool.server.banner import Banner, Listening, MarketRow, rows, show, to_json
from tidepool.server.devaccounts import dev_accounts, fund_dev_accounts, market_maker_account
from tidepool.server.errors import CannotStart
from tidepool.server.replays import journal_retention_ms, replay_guard_at_boot


def engine_config(cfg: Config) -> EngineConfig:
    band = cfg.price_band_percent / 100 if cfg.price_band_percent > 0 else None
    return EngineConfig(
        maker_fee=cfg.maker_fee,
        taker_fee=cfg.taker_fee,
        max_open_orders=cfg.max_open_orders,
        price_band=band,
    )


def build_exchange(cfg: Config) -> Exchange:
    """Raises CannotStart when the state dir cannot be used (not writable, a file, ...)."""
    try:
        return _build(cfg)
    except (PermissionError, NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
        where = exc.filename or cfg.state_dir
        raise CannotStart(
            f"state dir {cfg.state_dir}: {exc.strerror}: {where}; --state-dir must name a "
            "directory this user can write (it is created if missing)"
        ) from None


def _build(cfg: Config) -> Exchange:
    clock = SandboxClock()
    policy = VerifyPolicy(strict=cfg.strict_auth)
    sequencer = Sequencer.open(
        cfg.state_dir,
        cfg.markets,
        engine_config(cfg),
        clock,
        cfg.durability,
        cfg.snapshot_every,
        retain_journal_ms=journal_retention_ms(policy),
    )
    clock.follow(sequencer.engine.clock_mark())  # the sandbox time the state dir holds
    speedbump = Speedbump(cfg.speedbump_ms // 2, cfg.speedbump_ms, cfg.seed)
    accounts = dev_accounts(cfg.seed, cfg.accounts)
    return Exchange(
        pipeline=Pipeline(sequencer, speedbump),
        clock=clock,
        markets={m.symbol: m for m in cfg.markets},
        policy=policy,
        replay_guard=replay_guard_at_boot(cfg, policy, clock.now_ms()),  # after recovery
        meter=RateMeter(cfg.rate_limit),
        explain_auth=cfg.explain_auth,
        dev=DevKeys(tuple((a.public_key, a.secret_key) for a in accounts), cfg.balance),
    )


async def fund_new_state(exchange: Exchange, cfg: Config) -> None:
    """Both layouts call this after build_exchange and before announcing: the dev accounts are
    funded by the time a client can learn the port."""
    await fund_dev_accounts(exchange, dev_accounts(cfg.seed, cfg.accounts), cfg.balance)


def liquidity(exchange: Exchange, cfg: Config) -> Liquidity:
    """The market maker and price walk of `--market-maker` / `--price-walk` (both layouts start
    it on the engine process's loop before serving, and stop it before the sequencer closes)."""
    maker = market_maker_account(cfg.seed).public_key
    return Liquidity(exchange.pipeline, cfg.markets, cfg.seed, cfg.liquidity, maker)


def announce(exchange: Exchange, cfg: Config, listening: Listening) -> None:
    """`--config-out` first (a script that waits for the listening line finds the file), then
    the listening line and the banner, with the balances and marks the state holds now (a
    restarted state dir shows what its dev accounts have left)."""
    engine = exchange.sequencer.engine
    accounts = dev_accounts(cfg.seed, cfg.accounts)
    banner = Banner(
        seed=cfg.seed,
        accounts=rows(accounts, [engine.balance(a.public_key) for a in accounts]),
        urls=listening.urls,
        markets=tuple(MarketRow(s, engine.mark_price(s)) for s in exchange.markets),
        market_maker=(
            market_maker_account(cfg.seed).public_key if cfg.liquidity.market_maker else None
        ),
    )
    if cfg.config_out is not None:
        try:
            cfg.config_out.write_bytes(to_json(banner))
        except OSError as exc:
            raise CannotStart(
                f"--config-out {cfg.config_out}: {exc.strerror}; name a file this user can write"
            ) from None
    sys.stdout.write(listening.line)
    show(banner, sys.stdout)
    sys.stdout.flush()
