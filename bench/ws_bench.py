"""WebSocket pieces (issue 14): fan-out cost against a bare reference, push latency, and the
signed-cancel REST ratio while WebSocket subscribers listen.

Servers are pinned to CPU 0 (bench/http_bench.py's `Server`); the subscribers
(`python -m bench.ws_bench --subscribe ...`, many connections in one process with a minimal
client, so their CPU is never the server's) and the REST driver (bench/loadgen.py) to CPU 1.

1. Fan-out: a driver trades at a fixed rate over REST (signed GTC pairs that cross at once, on one
   connection so each pair stays in order) while N subscribers listen to `book` and `trades` of
   BTC. Server CPU (/proc) divided by the frames the subscribers counted. N = 0 measures the
   driver alone. Then, per N, a bare reference (`--reference`: uvicorn's websockets-sansio
   protocol, as Tidepool serves it, writing one pre-encoded frame of the same mean size to every
   connection) at the per-subscriber rate Tidepool delivered, measured the same way.
2. Push latency: with 100 other subscribers connected, one client cancels its resting orders one
   at a time, over REST and then over its WebSocket, and times its `account_order_updates` push
   from the cancel's answer (0 when the push came first).
3. The one-process signed-cancel runs of http_bench (verify ceiling, Tidepool, verify ceiling)
   with 100 subscribers on `book`, `trades` and a run account's `account_order_updates`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson

from bench import fixtures, http_bench
from bench.http_bench import CLIENT_CPU, ROOT, Server, faucet, load, tidepool_argv
from pacifica_recipe import signed_body

BOOK = {"source": "book", "symbol": "BTC", "agg_level": 1}
TRADES = {"source": "trades", "symbol": "BTC"}
PRICE = 100_000  # the driver's pairs trade at the mark: no band ever refuses them
_UPGRADE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


# -- a minimal client: cheap enough for a thousand connections in one process --------------------
class WsClient(asyncio.Protocol):
    """The upgrade, masked text frames out, server frames in. Counts text frames and their bytes;
    `on_text(payload, arrival time)`, when set, gets each one (only the latency client decodes)."""

    def __init__(self, on_text: Callable[[bytes, float], None] | None = None) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.upgraded = False
        self.frames = self.bytes = 0
        self.closed = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's have the same API
        self.transport.write(_UPGRADE)

    def send(self, message: dict[str, Any]) -> None:
        payload = orjson.dumps(message)
        n = len(payload)
        # a zero mask key leaves the payload as it is: masked as RFC 6455 requires, for free
        head = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0xFE]) + n.to_bytes(2, "big")
        assert self.transport is not None
        self.transport.write(head + b"\0\0\0\0" + payload)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.buf + data if self.buf else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(RuntimeError(f"upgrade refused: {buf[:200]!r}"))
                return
            self.upgraded = True
            self.opened.set_result(None)
            buf = buf[end + 4 :]
        pos, n = 0, len(buf)
        while n - pos >= 2:  # server frames are unmasked; these servers never fragment
            length, head = buf[pos + 1] & 0x7F, 2
            if length == 126:
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + length
            if end > n:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 1:
                self.frames += 1
                self.bytes += length
                if self.on_text is not None:
                    self.on_text(buf[pos + head : end], now)
            elif opcode == 8:
                self.closed = True
            pos = end
        self.buf = buf[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


async def connect(port: int, on_text: Callable[[bytes, float], None] | None = None) -> WsClient:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: WsClient(on_text), "127.0.0.1", port)
    await client.opened
    return client


async def _subscribe_many(port: int, n: int, sets: list[list[dict[str, Any]]], ready: int) -> None:
    """`--subscribe`: n connections, connection i subscribing to sets[i % len(sets)]; prints
    `ready` once each has received `ready` frames (acks, snapshots), then answers each `mark`
    line on stdin with the totals so far, until stdin closes."""
    clients: list[WsClient] = []
    for start in range(0, n, 100):  # in batches: the listen backlog is not the point here
        clients += await asyncio.gather(*(connect(port) for _ in range(start, min(n, start + 100))))
    for i, client in enumerate(clients):
        for params in sets[i % len(sets)]:
            client.send({"method": "subscribe", "params": params})
    deadline = time.monotonic() + 120.0
    while any(c.frames < ready for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() == "mark":
        totals = {
            "frames": sum(c.frames for c in clients),
            "bytes": sum(c.bytes for c in clients),
            "closed": sum(c.closed for c in clients),
        }
        print(json.dumps(totals), flush=True)
    for client in clients:
        if client.transport is not None:
            client.transport.close()


@contextlib.contextmanager
def subscribers(
    port: int, n: int, sets: list[list[dict[str, Any]]], ready: int
) -> Iterator[Callable[[], dict[str, int]]]:
    """n subscribers in their own process on CPU 1; yields `mark()`, their totals now."""
    argv = [*http_bench.pin(CLIENT_CPU), sys.executable, "-m", "bench.ws_bench", "--subscribe"]
    argv += [str(port), str(n), json.dumps(sets), str(ready)]
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def mark() -> dict[str, int]:
        stdin.write("mark\n")
        stdin.flush()
        totals: dict[str, int] = json.loads(stdout.readline())
        return totals

    try:
        if stdout.readline().strip() != "ready":
            raise RuntimeError("the subscribers did not start")
        yield mark
    finally:
        stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _settled(mark: Callable[[], dict[str, int]]) -> dict[str, int]:
    """Totals once the last pushes arrived (a book push may follow the last trade by 250 ms)."""
    last = mark()
    for _ in range(40):
        time.sleep(0.5)
        now = mark()
        if now["frames"] == last["frames"]:
            return now
        last = now
    return last


# -- the bare reference -------------------------------------------------------------------------
def reference(rate: float, size: int) -> None:
    """`--reference RATE SIZE`: a uvicorn server with the websockets-sansio protocol, as Tidepool
    runs it, that writes one pre-encoded SIZE-byte text frame RATE times a second to every
    connection, and answers any HTTP request (the health probe)."""
    import uvicorn
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    frame = b'{"channel":"trades","data":"' + b"x" * max(0, size - 30) + b'"}'
    peers: set[WebSocketsSansIOProtocol] = set()

    class Protocol(WebSocketsSansIOProtocol):
        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            self.scope["extensions"]["peer"] = self

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the broadcaster runs while the server does
            await receive()
            task = asyncio.get_running_loop().create_task(broadcast())
            await send({"type": "lifespan.startup.complete"})
            await receive()
            task.cancel()
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
        else:
            peer = scope["extensions"]["peer"]
            await receive()
            await send({"type": "websocket.accept"})
            peers.add(peer)
            while (await receive())["type"] != "websocket.disconnect":
                pass  # subscribes are not answered: frames flow to every connection
            peers.discard(peer)

    async def broadcast() -> None:
        sent, t0 = 0, time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            due = int((time.perf_counter() - t0) * rate)
            for _ in range(due - sent):
                for p in peers:
                    p.conn.send_text(frame)
                    p.transport.write(b"".join(p.conn.data_to_send()))
            sent = due

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    print(f"Reference listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", ws=Protocol, ws_per_message_deflate=False,
        ws_ping_interval=None, lifespan="on", log_level="warning", access_log=False,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


# -- 1. fan-out ---------------------------------------------------------------------------------
def _pairs(n: int, start: int) -> list[fixtures.Op]:
    """n trades: a GTC ask that rests, then a GTC bid at its price from the other account. The
    maker alternates, so neither account's position keeps growing."""
    ops = []
    for i in range(start, start + n):
        maker, taker = (0, 1) if i % 2 == 0 else (1, 0)
        for acct, side in ((maker, "ask"), (taker, "bid")):
            payload = fixtures.create_payload(fixtures.cloid(7, acct, i), side, PRICE)
            ops.append(fixtures.Op(acct, fixtures.CREATE, {**payload, "tif": "GTC"}))
    return ops


def _none() -> dict[str, int]:
    return {"frames": 0, "bytes": 0, "closed": 0}


def _window(
    server: Server, mark: Callable[[], dict[str, int]], work: Callable[[], Any], settle: bool
) -> tuple[dict[str, int], float, Any]:
    """Frames the subscribers counted and server CPU seconds while `work()` ran (and, if
    `settle`, until the last push it caused arrived), and what `work()` returned."""
    before, cpu0 = mark(), server.cpu_seconds()
    result = work()
    after = _settled(mark) if settle else mark()
    delta = {k: after[k] - before[k] for k in ("frames", "bytes")} | {"closed": after["closed"]}
    return delta, server.cpu_seconds() - cpu0, result


def _fanout(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Rounds of: per size, Tidepool, then the reference at what Tidepool delivered (alternated,
    so a drift of the shared machine's speed hits both sides); the best of each side per size."""
    runs: list[dict[str, Any]] = []
    with Server("tidepool", tidepool_argv(workdir / "fanout")) as srv:
        faucet(srv.url, range(2))
        for _ in range(plan.rounds):
            for n in plan.sizes:  # 0 first: the driver alone
                made = sum(r["pairs"] for r in runs if r["server"] == "tidepool")
                runs.append(_trade(srv, plan, workdir, n, made))
                if n:
                    runs.append(_reference(plan, runs[-1]))
    driver_us = min(
        r["server_cpu_s"] / max(r["trades"], 1) * 1e6 for r in runs if not r["subscribers"]
    )
    sizes = []
    for n in plan.sizes[1:]:
        tide = [r for r in runs if r["server"] == "tidepool" and r["subscribers"] == n]
        ref = min(
            r["us_per_frame"] for r in runs if r["server"] == "reference" and r["subscribers"] == n
        )
        best = min(r["us_per_frame"] for r in tide)
        # what the fan-out alone costs: the server CPU the driver's trades did not use
        net = min(
            (r["server_cpu_s"] - r["trades"] * driver_us / 1e6) / r["frames"] * 1e6 for r in tide
        )
        row = {"subscribers": n, "tidepool_us": best, "reference_us": ref, "ratio": best / ref}
        sizes.append({**row, "fanout_only_us": net, "closed": max(r["closed"] for r in tide)})
    return {"driver_us_per_trade": driver_us, "sizes": sizes, "runs": runs}


def _trade(srv: Server, plan: Plan, workdir: Path, n: int, made: int) -> dict[str, Any]:
    """The driver trades while n subscribers listen to book and trades."""
    trades_per_s = min(plan.max_trades_per_s, plan.frames_per_s / max(n, 1))
    ops = _pairs(int(trades_per_s * plan.duration * 1.05) + 10, made)
    requests = fixtures.sign_all(ops)
    listen = subscribers(srv.port, n, [[BOOK, TRADES]], 3) if n else None
    with listen or contextlib.nullcontext(_none) as mark:
        http_bench.wait_until_quiet(plan.quiet_wait)
        trade = functools.partial(
            load, srv, requests, workdir, rate=2 * trades_per_s, warmup=0.0,
            duration=plan.duration, connections=1,
        )  # fmt: skip
        frames, cpu, res = _window(srv, mark, trade, settle=True)
    row = {"server": "tidepool", "subscribers": n, "pairs": len(ops) // 2, **frames}
    row |= {"trades": res["completed"] // 2, "server_cpu_s": cpu, "statuses": res["statuses_all"]}
    row["us_per_frame"] = cpu / frames["frames"] * 1e6 if frames["frames"] else None
    return row


def _reference(plan: Plan, tidepool: dict[str, Any]) -> dict[str, Any]:
    """The bare reference at the rate and mean frame size Tidepool delivered to each of as many
    subscribers."""
    n, frames = tidepool["subscribers"], tidepool["frames"]
    rate, size = frames / n / plan.duration, tidepool["bytes"] // max(frames, 1)
    argv = [sys.executable, "-m", "bench.ws_bench", "--reference", f"{rate:.1f}", str(size)]
    with Server("reference", argv) as ref, subscribers(ref.port, n, [[BOOK, TRADES]], 0) as mark:
        http_bench.wait_until_quiet(plan.quiet_wait)
        got, cpu, _ = _window(ref, mark, lambda: time.sleep(plan.duration), settle=False)
    row = {"server": "reference", "subscribers": n, "frames_per_s_each": rate, **got}
    row |= {"server_cpu_s": cpu, "us_per_frame": cpu / max(got["frames"], 1) * 1e6}
    return row


# -- 2. push latency ----------------------------------------------------------------------------
class _HttpClient(asyncio.Protocol):
    """One keep-alive connection; `answer` resolves with the time the whole answer was read."""

    def __init__(self) -> None:
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, float]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].lower()
        at = head.index(b"content-length:") + 15
        stop = head.find(b"\r\n", at)
        total = end + 4 + int(head[at : stop if stop > 0 else len(head)])
        if len(self.buf) >= total and self.answer is not None:
            self.answer.set_result((int(self.buf[9:12]), now))
            self.buf = self.buf[total:]


async def _time_cancels(
    port: int, account: str, rest: list[tuple[bytes, str]], ws: list[tuple[dict[str, Any], str]]
) -> dict[str, list[float]]:
    """Push time minus answer time (s) of each cancel: first the REST ones, then the WS ones."""
    loop = asyncio.get_running_loop()
    pushes: dict[str, asyncio.Future[float]] = {}
    replies: dict[int, asyncio.Future[float]] = {}

    def on_text(payload: bytes, t: float) -> None:
        msg = orjson.loads(payload)
        if msg.get("channel") == "account_order_updates":
            for item in msg["data"]:
                push = pushes.get(item["I"])
                if push is not None and item["os"] == "cancelled" and not push.done():
                    push.set_result(t)
        elif msg.get("id") in replies:
            if msg.get("code") != 200:
                raise RuntimeError(f"WS cancel refused: {msg}")
            replies[msg["id"]].set_result(t)

    client = await connect(port, on_text)
    own = {"source": "account_order_updates", "account": account}
    client.send({"method": "subscribe", "params": own})
    while client.frames < 1:  # the ack
        await asyncio.sleep(0.001)
    _, http = await loop.create_connection(_HttpClient, "127.0.0.1", port)
    out: dict[str, list[float]] = {"rest": [], "ws": []}
    for request, cl in rest:
        push = pushes[cl] = loop.create_future()
        http.answer = loop.create_future()
        assert http.transport is not None
        http.transport.write(request)
        status, answered = await asyncio.wait_for(http.answer, 30)
        if status != 200:
            raise RuntimeError(f"REST cancel answered {status}")
        out["rest"].append(await asyncio.wait_for(push, 30) - answered)
    for i, (frame, cl) in enumerate(ws):
        push = pushes[cl] = loop.create_future()
        reply = replies[i] = loop.create_future()
        client.send({"id": i, **frame})
        answered = await asyncio.wait_for(reply, 30)
        out["ws"].append(await asyncio.wait_for(push, 30) - answered)
    assert client.transport is not None and http.transport is not None
    client.transport.close()
    http.transport.close()
    return out


def _latency(plan: Plan, workdir: Path) -> dict[str, Any]:
    k = 2  # the timed client's account; 0 and 1 are the driver's
    book = fixtures.CreateCancelBook(range(k, k + 1))
    with Server("tidepool", tidepool_argv(workdir / "latency")) as srv:
        faucet(srv.url, range(k + 1))
        creates = book.creates(2 * plan.samples)
        load(
            srv, fixtures.sign_all(creates), workdir, rate=0, warmup=0, duration=600, connections=4
        )
        book.rest(creates)
        cancels, _ = book.cancels(2 * plan.samples)
        rest_ops, ws_ops = cancels[: plan.samples], cancels[plan.samples :]
        ts = time.time_ns() // 1_000_000
        ws = [
            (
                {"params": {"cancel_order": signed_body(
                    fixtures.keypair(op.acct), "cancel_order", op.payload, ts,
                    expiry_window=fixtures.EXPIRY_WINDOW,
                )}},
                op.payload["client_order_id"],
            )
            for op in ws_ops
        ]  # fmt: skip
        signed = fixtures.sign_all(rest_ops)
        cloids = [op.payload["client_order_id"] for op in rest_ops]
        rest = list(zip(signed, cloids, strict=True))
        with subscribers(srv.port, plan.listeners, [[BOOK, TRADES]], 3):
            http_bench.wait_until_quiet(plan.quiet_wait)
            before = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {CLIENT_CPU})
            try:
                times = asyncio.run(_time_cancels(srv.port, fixtures.account(k), rest, ws))
            finally:
                os.sched_setaffinity(0, before)
    out: dict[str, Any] = {"other_subscribers": plan.listeners, "samples": plan.samples}
    for way, diffs in times.items():
        lat = sorted(max(0.0, d) * 1e3 for d in diffs)  # 0: the push was there first
        out[way] = {
            "p50_ms": lat[len(lat) // 2],
            "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            "max_ms": lat[-1],
            "push_first": sum(d <= 0 for d in diffs),
        }
    return out


# -- 3. REST under listeners, and the piece -----------------------------------------------------
def _listeners(plan: Plan, accounts: int) -> http_bench.Listeners:
    """Subscribers on book, trades and one run account's order updates each, as bots listen."""
    sets = [
        [BOOK, TRADES, {"source": "account_order_updates", "account": fixtures.account(k)}]
        for k in range(accounts)
    ]
    return lambda srv: subscribers(srv.port, plan.listeners, sets, len(sets[0]) + 1)


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]  # subscribers of each fan-out run; 0 (the driver alone) first
    rounds: int  # of every size, each side; the best counts
    duration: float  # seconds of trading (or broadcasting) per run
    frames_per_s: int  # to deliver in all; the driver's trade rate follows from it
    max_trades_per_s: int
    samples: int  # cancels timed, over REST and again over WS
    listeners: int  # other subscribers while latency and REST are measured
    quiet_wait: float  # up to this long before each run, wait for the machine to be idle

    @staticmethod
    def make(quick: bool) -> Plan:
        if quick:
            return Plan((0, 3, 10), 1, 0.6, 2000, 100, 20, 10, 0.0)
        return Plan((0, 10, 100, 1000), 2, 5.0, 20_000, 400, 500, 100, 20.0)


def raise_fd_limit(needed: int) -> None:
    """1,000 subscribers are as many sockets on each side; children inherit the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(quick: bool) -> dict[str, Any]:
    plan = Plan.make(quick)
    raise_fd_limit(2 * max(plan.sizes) + 256)
    workdir = Path(tempfile.mkdtemp(prefix="tidepool-bench-ws-"))
    try:
        fanout = _fanout(plan, workdir)
        latency = _latency(plan, workdir)
        http = http_bench.Plan.make(quick)
        pool = fixtures.sign_all(fixtures.cancel_pool(http.ceiling_pool, range(http.accounts)))
        listeners = _listeners(plan, http.accounts)
        rest = http_bench.one_process_cancels(http, workdir, pool, listeners)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"plan": plan.__dict__, "fanout": fanout, "latency": latency, "rest_runs": rest}


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--subscribe", nargs=4, metavar=("PORT", "N", "SETS", "READY"))
    p.add_argument("--reference", nargs=2, metavar=("RATE", "SIZE"))
    args = p.parse_args()
    if args.subscribe:
        port, n, sets, ready = args.subscribe
        import uvloop

        uvloop.run(_subscribe_many(int(port), int(n), json.loads(sets), int(ready)))
    elif args.reference:
        reference(float(args.reference[0]), int(args.reference[1]))
