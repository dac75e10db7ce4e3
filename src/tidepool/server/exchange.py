"""The exchange a server process holds: the state dir recovered into a sequencer, the pipeline
in front of it, the clock, the markets and the signature policy (with, under `--strict-auth`,
the replay guard rebuilt from the journal's last minute)."""

from __future__ import annotations

from tidepool.config import Config
from tidepool.engine.engine import EngineConfig
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.verify import VerifyPolicy
from tidepool.runtime.clock import SystemClock
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Sequencer
from tidepool.runtime.speedbump import Speedbump
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
    clock = SystemClock()
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
    speedbump = Speedbump(cfg.speedbump_ms // 2, cfg.speedbump_ms, cfg.seed)
    return Exchange(
        pipeline=Pipeline(sequencer, speedbump),
        clock=clock,
        markets={m.symbol: m for m in cfg.markets},
        policy=policy,
        replay_guard=replay_guard_at_boot(cfg, policy, clock.now_ms()),  # after recovery
    )
