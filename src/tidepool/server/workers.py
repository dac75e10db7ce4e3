"""The engine process of `tidepool serve --workers N`.

One process cannot do more signed requests per second than one core can verify (ed25519 is
about half of a request's CPU, HTTP parsing a third, as profiled in earlier benchmark runs).
With workers, N gateway worker processes (server.worker) share the listening socket and do
HTTP and the signature checks; this process keeps the exchange: it recovers the state dir, owns
the one sequencer, engine and journal, and answers every request the workers forward with the same
GatewayApp.dispatch a single-process server uses, trusting the workers' ed25519 verdicts
(gateway.preverify). Ordering, durability and answers are therefore exactly those of the
single-process server: one writer, commands journaled before they are answered.

WebSocket: the workers hold the sockets, this process runs the session logic and the channels
for every worker's connections (server/wsremote.py).

A worker that dies is restarted (its WebSocket connections end with it); SIGINT/SIGTERM stops the
workers (they finish what they hold), then writes the final snapshot and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
from typing import Any

import msgspec
import uvloop

from tidepool.config import Config
from tidepool.gateway.accesslog import Trace
from tidepool.gateway.app import GatewayApp
from tidepool.server.banner import Listening
from tidepool.server.link import READY, FrameProtocol, LinkRequest, LinkResponse, ToEngine
from tidepool.server.wsremote import RemoteConnections

log = logging.getLogger("tidepool.workers")

_decode = msgspec.msgpack.Decoder(ToEngine).decode
_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0
# Bytes queued to a worker beyond which it is taken to have fallen behind for good: its WebSocket
# connections are closed (1011) instead of the engine process buffering pushes without bound.
# Normal bursts stay far below it, as one link frame carries a push for all of a worker's
# subscribers.
LINK_BACKLOG_BYTES = 32 << 20


class _WorkerLink(FrameProtocol):
    """The engine's end of one worker's link: each request becomes a task running dispatch;
    WebSocket frames go to the worker's connections."""

    def __init__(self, app: GatewayApp) -> None:
        super().__init__()
        self._app = app
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ws = RemoteConnections(self, app)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.set_write_buffer_limits(high=LINK_BACKLOG_BYTES)

    def pause_writing(self) -> None:
        log.warning(
            "a gateway worker fell %d bytes behind; closing its WebSockets", LINK_BACKLOG_BYTES
        )
        self._ws.close_all(1011, "server fell behind")

    def frame_received(self, frame: bytes) -> None:
        request = _decode(frame)
        if not isinstance(request, LinkRequest):
            self._ws.received(request)
            return
        if request.method == READY:
            if not self.ready.done():
                self.ready.set_result(None)
            return
        task = asyncio.ensure_future(self._serve(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, request: LinkRequest) -> None:
        trace = Trace(b"")  # the worker holds the request id and writes the log line
        response = await self._app.dispatch(
            request.method,
            request.path,
            request.query,
            request.body,
            trace,
            request.verified,
            api_key=request.api_key,
        )
        self.send(
            LinkResponse(
                request.id,
                response.status,
                response.body,
                response.content_type,
                response.headers,
                trace.account,
                trace.order_id,
                trace.auth,
            )
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._ws.worker_gone()
        if not self.lost.done():
            self.lost.set_result(None)

    async def drain(self) -> None:
        """Wait for the requests already received (their commands complete and are journaled
        even if the worker that sent them is gone: apply-then-append is never cut short)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks))


class _Worker:
    def __init__(self, index: int, cfg: Config, listener: socket.socket, app: GatewayApp) -> None:
        self.index = index
        self._cfg = cfg
        self._listener = listener
        self._app = app
        self.proc: subprocess.Popen[bytes] | None = None
        self.link: _WorkerLink | None = None

    async def start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = [
            sys.executable,
            "-m",
            "tidepool.server.worker",
            "--listen-fd",
            str(self._listener.fileno()),
            "--link-fd",
            str(theirs.fileno()),
            "--log-level",
            self._cfg.log_level,
            *(["--log-json"] if self._cfg.log_json else []),
        ]
        # A new session: a terminal's Ctrl-C reaches only this process, which then stops the
        # workers in order (after their last answers), instead of all at once.
        self.proc = subprocess.Popen(
            argv, pass_fds=(self._listener.fileno(), theirs.fileno()), start_new_session=True
        )
        theirs.close()
        loop = asyncio.get_running_loop()
        _, link = await loop.create_unix_connection(lambda: _WorkerLink(self._app), sock=ours)
        self.link = link
        done, _ = await asyncio.wait(
            {link.ready, link.lost}, timeout=_READY_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if link.ready not in done:
            self.kill()
            raise RuntimeError(f"gateway worker {self.index} did not start")

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()

    async def wait(self, timeout: float) -> None:
        proc = self.proc
        if proc is None:
            return
        deadline = asyncio.get_running_loop().time() + timeout
        while proc.poll() is None and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def _run(cfg: Config, listener: socket.socket, listening: Listening) -> None:
    from tidepool.server.exchange import announce, build_exchange, fund_new_state, liquidity

    exchange = build_exchange(cfg)
    await fund_new_state(exchange, cfg)
    tap = liquidity(exchange, cfg)
    await tap.start()
    app = GatewayApp(exchange, sandbox=cfg.sandbox)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    workers = [_Worker(i, cfg, listener, app) for i in range(cfg.workers)]
    try:
        await asyncio.gather(*(w.start() for w in workers))
        announce(exchange, cfg, listening)
        await _supervise(workers, stop)
    finally:
        await tap.stop()
        for w in workers:
            w.terminate()
        await asyncio.gather(*(w.wait(_STOP_TIMEOUT_S) for w in workers))
        for w in workers:
            if w.link is not None:
                await w.link.drain()
        await exchange.sequencer.close()


async def _supervise(workers: list[_Worker], stop: asyncio.Event) -> None:
    """Until asked to stop: restart any worker whose link closes (it died)."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            lost: dict[asyncio.Future[Any], _Worker] = {
                w.link.lost: w for w in workers if w.link is not None
            }
            waiting: set[asyncio.Future[Any]] = {stopping, *lost}
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                worker = lost.get(future)
                if worker is None or stop.is_set():
                    continue
                await worker.wait(_STOP_TIMEOUT_S)
                code = worker.proc.returncode if worker.proc is not None else None
                log.warning("gateway worker %d exited (%s); restarting it", worker.index, code)
                await worker.start()
    finally:
        stopping.cancel()


def serve_with_workers(cfg: Config, listener: socket.socket, listening: Listening) -> None:
    uvloop.run(_run(cfg, listener, listening))
