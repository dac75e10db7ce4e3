"""Boot: bind the port, build the exchange, serve until SIGINT/SIGTERM (in this process, or with
gateway worker processes in front of it: server/workers.py), snapshot on the way out."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Generator

import uvicorn

from tidepool.config import Config
from tidepool.gateway.app import GatewayApp
from tidepool.server.banner import Listening
from tidepool.server.errors import CannotStart
from tidepool.server.exchange import announce, build_exchange, fund_new_state, liquidity
from tidepool.server.httpguard import http_config

log = logging.getLogger("tidepool")


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


_BIND_HINTS = {
    errno.EADDRINUSE: "another server holds it; pick another --port, or --port 0 for a free one",
    errno.EACCES: "ports below 1024 need privileges; pick a --port above 1024",
    errno.EADDRNOTAVAIL: "that is not an address of this machine; try --host 127.0.0.1",
}


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = _BIND_HINTS.get(exc.errno or 0, "check --host and --port")
        if isinstance(exc, socket.gaierror):
            hint = "--host must be an IPv4 address or a name this machine resolves"
        raise CannotStart(f"cannot listen on {host}:{port}: {exc.strerror}; {hint}") from None
    # Listening from here on: a client that connects while the state is recovered waits in the
    # backlog instead of being refused, and the line below is only printed once it can connect.
    sock.listen(LISTEN_BACKLOG)
    return sock


def serve(cfg: Config) -> None:
    sock = listening_socket(cfg.host, cfg.port)
    listening = Listening(*sock.getsockname()[:2])
    if cfg.workers > 0:
        from tidepool.server.workers import serve_with_workers

        serve_with_workers(cfg, sock, listening)
        return
    exchange = build_exchange(cfg)
    # Its own event loop, run to the end before uvicorn's: the sequencer keeps no loop between
    # commands (the group committer's task ends with its last waiter).
    asyncio.run(fund_new_state(exchange, cfg))
    tap = liquidity(exchange, cfg)  # runs on uvicorn's loop: started by the lifespan

    async def shutdown() -> None:
        await tap.stop()
        await exchange.sequencer.close()

    app = GatewayApp(exchange, shutdown, sandbox=cfg.sandbox, on_startup=tap.start)
    announce(exchange, cfg, listening)
    _Server(http_config(app)).run(sockets=[sock])
