"""Boot: recover state, build the gateway, serve until SIGINT/SIGTERM, snapshot on the way out."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Generator

import uvicorn

from tidepool.config import Config
from tidepool.engine.engine import EngineConfig
from tidepool.gateway.app import GatewayApp
from tidepool.gateway.context import Exchange
from tidepool.gateway.verify import VerifyPolicy
from tidepool.runtime.clock import SystemClock
from tidepool.runtime.httpguard import http_config
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.replays import journal_retention_ms, replay_guard_at_boot
from tidepool.runtime.sequencer import Sequencer
from tidepool.runtime.speedbump import Speedbump

log = logging.getLogger("tidepool")


def engine_config(cfg: Config) -> EngineConfig:
    band = cfg.price_band_percent / 100 if cfg.price_band_percent > 0 else None
    return EngineConfig(
        maker_fee=cfg.maker_fee,
        taker_fee=cfg.taker_fee,
        max_open_orders=cfg.max_open_orders,
        price_band=band,
    )


def build_exchange(cfg: Config) -> Exchange:
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


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown, so the process would die
    by the signal; Tidepool treats both as a clean stop (final snapshot written) and exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
LISTEN_BACKLOG = 2048  # uvicorn's default, which it sets again when it starts serving


def serve(cfg: Config) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((cfg.host, cfg.port))
    # Listening from here on: a client that connects while the state is recovered waits in the
    # backlog instead of being refused, and the line below is only printed once it can connect.
    sock.listen(LISTEN_BACKLOG)
    host, port = sock.getsockname()[:2]
    # Tests and scripts read this line to learn the port chosen by --port 0.
    announce = f"Tidepool listening on http://{host}:{port} (REST under /api/v1)\n"
    if cfg.workers > 0:
        from tidepool.runtime.workers import serve_with_workers

        serve_with_workers(cfg, sock, announce)
        return
    exchange = build_exchange(cfg)
    app = GatewayApp(exchange, on_shutdown=exchange.sequencer.close, sandbox=cfg.sandbox)
    sys.stdout.write(announce)
    sys.stdout.flush()
    _Server(http_config(app)).run(sockets=[sock])
