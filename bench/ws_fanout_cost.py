"""CPU of the WebSocket fan-out per signed command, in one process, with no socket (issue 14:
"no regression" of signed cancels while 100 subscribers listen).

The real gateway, pipeline, sequencer, bus and channels, driven through ASGI on one event loop
as `bench/http_bench.py`'s REST-under-listeners run drives a server: signed creates (ALO bids,
round-robin over 64 accounts) then cancels of each, while `--listeners` sessions listen to
`book` and `trades` of BTC and one account's `account_order_updates` each. Each session is a
real `SocketSession` whose link only counts the frames it is given, so what is measured is the
fan-out's own work (bus, channels, items, encoding, sessions), without any socket write.

    python -m bench.ws_fanout_cost [--listeners 100] [--commands 4000]

prints the process CPU time per command (`time.process_time`, the best of 3 rounds) with that
many listeners and with none, and the difference: the fan-out's cost per command. Under
`valgrind --tool=callgrind`, compare the instruction counts of two runs that differ only in
`--listeners` (with `--alone --rounds 1`): the signing and the setup are the same in both.

`--together 20` posts 20 commands per turn of the event loop, as a saturated server reads
about 20 requests per turn: the bus then drains their deliveries at once (one frame per drain
for the list channels), as in the real server.

The event loop's clock is a fake one that moves 0.2 ms per command, as at 5,000 commands/s: the
book channel's 250 ms throttle then pushes the same number of snapshots under valgrind as in a
native run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import orjson

from bench import fixtures
from pacifica_recipe import signed_body
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.gateway.app import GatewayApp
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.verify import VerifyPolicy
from tidepool.gateway.ws_session import SocketSession
from tidepool.runtime.clock import ManualClock, SandboxClock
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Sequencer

ACCOUNTS = 64
STEP_S = 0.0002  # fake loop time per command


class _CountingLink:
    """A session's link (ws_session.Link) that counts what it is given."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.last_heard = loop.time()
        self.writable = asyncio.Event()
        self.writable.set()
        self.frames = 0

    def send_frame(self, data: bytes) -> None:
        self.frames += 1


class _Workload:
    def __init__(self, listeners: int, commands: int) -> None:
        self.clock = SandboxClock(ManualClock(time.time_ns() // 1_000_000))
        config = EngineConfig(max_open_orders=commands + 1)
        seqr = Sequencer(Engine(DEFAULT_MARKETS, config), None, self.clock, "none")
        self.clock.follow(seqr.engine.clock_mark())
        markets = {m.symbol: m for m in DEFAULT_MARKETS}
        policy = VerifyPolicy(strict=False)
        self.ex = Exchange(Pipeline(seqr), self.clock, markets, policy)
        self.app = GatewayApp(self.ex, sandbox=True)
        self.listeners = listeners
        self.links: list[_CountingLink] = []
        self.sessions: list[SocketSession] = []
        self.bodies = self._sign(commands)

    def _sign(self, commands: int) -> list[tuple[str, bytes]]:
        book = fixtures.CreateCancelBook(range(ACCOUNTS))
        creates = book.creates(commands // 2)
        book.rest(creates)
        cancels, _ = book.cancels(commands // 2)
        keys = {k: fixtures.keypair(k) for k in range(ACCOUNTS)}
        now = self.clock.now_ms()
        out = []
        for op in creates + cancels:
            body = signed_body(
                keys[op.acct],
                fixtures.OP_TYPES[op.path],
                op.payload,
                now,
                expiry_window=fixtures.EXPIRY_WINDOW,
            )
            out.append((op.path, orjson.dumps(body)))
        return out

    async def post(self, path: str, body: bytes) -> int:
        scope = {"type": "http", "method": "POST", "path": path, "query_string": b"",
                 "headers": [(b"content-type", b"application/json")]}  # fmt: skip
        chunks = [{"type": "http.request", "body": body, "more_body": False}]
        status = 0

        async def receive() -> dict[str, Any]:
            return chunks.pop(0)

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            status = message.get("status", status)

        await self.app(scope, receive, send)
        return status

    async def setup(self) -> None:
        for k in range(ACCOUNTS):
            faucet = {"account": fixtures.account(k), "amount": "1000000"}
            assert await self.post("/sandbox/faucet", orjson.dumps(faucet)) == 200
        loop = asyncio.get_running_loop()
        for i in range(self.listeners):
            link = _CountingLink(loop)
            self.links.append(link)
            session = SocketSession(link, 4096, 3600.0, 86_400.0)
            self.sessions.append(session)
            connection = self.app.ws_connection(session, None)
            account = fixtures.account(i % ACCOUNTS)
            for params in (
                {"source": "book", "symbol": "BTC", "agg_level": 1},
                {"source": "trades", "symbol": "BTC"},
                {"source": "account_order_updates", "account": account},
            ):
                connection.handle(json.dumps({"method": "subscribe", "params": params}).encode())

    async def run(self, fake_time: list[float], together: int) -> float:
        """The CPU seconds of every command (`together` at a time, all answered before the
        next ones are sent)."""
        started = time.process_time()
        bodies = self.bodies
        for first in range(0, len(bodies), together):
            turn = bodies[first : first + together]
            fake_time[0] += STEP_S * len(turn)
            statuses = await asyncio.gather(*(self.post(path, body) for path, body in turn))
            assert set(statuses) == {200}, statuses
            await asyncio.sleep(0)  # a server returns to its loop between requests too
        for _ in range(3):  # the pushes of the last command
            await asyncio.sleep(0)
        return time.process_time() - started

    async def teardown(self) -> None:
        """The listeners go away: their channels close, and every task ends."""
        for session in self.sessions:
            session.ended()
        tasks = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*tasks, return_exceptions=True)


def measure(listeners: int, commands: int, together: int = 1) -> tuple[float, int]:
    """CPU seconds per command, and frames the listeners were given."""
    loop = asyncio.new_event_loop()
    fake_time = [0.0]
    loop.time = lambda: fake_time[0]  # type: ignore[method-assign]
    try:
        work = _Workload(listeners, commands)
        loop.run_until_complete(work.setup())
        before = sum(link.frames for link in work.links)
        cpu = loop.run_until_complete(work.run(fake_time, together))
        frames = sum(link.frames for link in work.links) - before
        loop.run_until_complete(work.teardown())
        return cpu / len(work.bodies), frames
    finally:
        loop.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--listeners", type=int, default=100)
    p.add_argument("--commands", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--alone", action="store_true", help="no run without listeners (valgrind)")
    p.add_argument(
        "--together", type=int, default=1, help="commands per loop turn (~20 at saturation)"
    )
    args = p.parse_args()
    results = {}
    for n in (args.listeners,) if args.alone else (args.listeners, 0):
        runs = [measure(n, args.commands, args.together) for _ in range(args.rounds)]
        results[n] = min(runs)
        cpu, frames = results[n]
        print(f"{n:4d} listeners: {cpu * 1e6:7.1f} µs CPU per command, {frames} frames")
    if args.listeners and not args.alone:
        fanout = results[args.listeners][0] - results[0][0]
        print(f"fan-out: {fanout * 1e6:.1f} µs CPU per command")


if __name__ == "__main__":
    main()
