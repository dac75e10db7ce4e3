"""What `--market-maker --price-walk` costs signed cancels, in one process, with no socket (issue
15: "the market maker re-quoting on every mark change does not move the signed-cancel ratio by
more than 5 %").

The real gateway, pipeline, sequencer and engine, driven through ASGI on one event loop as
`bench/ws_fanout_cost.py` drives them (its workload, with no listener): signed ALO creates over
64 accounts (not measured), then signed cancels of them, `--together` per turn of the loop as a
saturated server reads them. The maker and the walk are the server's own (liquidity/), with the
http piece's settings (MAKER_ARGS: 2 bps steps); the walk's timer is replaced by a step every
`--cancels-per-step` cancels (950: 10 steps a second at 9,500 cancels a second, as in the http
piece), so the same cancels meet the same marks in every run.

    python -m bench.maker_cost plain|present|maker|steps [--cancels 3800]

- plain: no maker, no walk (the http piece's plain server);
- present: the maker quoting, no walk step (what its mere subscription costs every command);
- maker: the maker and the walk steps (the http piece's maker server);
- steps: the walk steps alone, as many as `maker` takes, with no cancel (the maker's own work).

It prints the process CPU per cancel (`time.process_time`). Instruction counts, which the VM's
speed does not move, come from `valgrind --tool=callgrind --instr-atstart=no python -m
bench.maker_cost MODE --callgrind` (the interpreter itself, not a shim): the measured phase alone
is instrumented and dumped (`callgrind_control`), so the dump ending in `.1` holds its
instructions. Compare `maker` with `plain`, and `present` with `plain`; set PYTHONHASHSEED for
runs to compare (dict layouts move counts by ~0.1 %).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
from decimal import Decimal

from bench import fixtures
from bench.ws_fanout_cost import STEP_S, _Workload
from tidepool.config import LiquidityConfig
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.liquidity import MarketMaker, PriceWalk

MODES = ("plain", "present", "maker", "steps")
# The http piece's MAKER_ARGS (bench/http_bench.py): the interval is not used here.
LIQUIDITY = LiquidityConfig(
    market_maker=True, price_walk=True, walk_volatility_bps=Decimal(2), walk_interval_ms=100
)
MAKER = fixtures.account(10_000)  # not one of the run's accounts
WALK_SEED = 7


def _callgrind(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True, capture_output=True)


async def _settle(maker: MarketMaker | None) -> None:
    """Until the last command's deliveries ran and the maker is done with them."""
    for _ in range(3):
        await asyncio.sleep(0)
    while maker is not None and not maker.idle:
        await asyncio.sleep(0)


class _Run:
    def __init__(self, mode: str, cancels: int, per_step: int, together: int) -> None:
        self.mode = mode
        self.cancels = cancels
        self.per_step = per_step
        self.together = together
        self.fake_time = [0.0]
        self.work = _Workload(0, 2 * cancels)
        self.steps = 0
        self.commands = 0

    async def _post_all(self, bodies: list[tuple[str, bytes]], walk: PriceWalk | None) -> None:
        """`bodies`, `together` per turn; a step of `walk` every `per_step` of them."""
        turns_per_step = max(1, self.per_step // self.together)
        for turn, first in enumerate(range(0, len(bodies), self.together)):
            these = bodies[first : first + self.together]
            self.fake_time[0] += STEP_S * len(these)
            statuses = await asyncio.gather(*(self.work.post(p, b) for p, b in these))
            assert set(statuses) == {200}, statuses
            await asyncio.sleep(0)  # a server returns to its loop between reads too
            if walk is not None and turn % turns_per_step == 0:
                await walk.step()
                self.steps += 1

    async def go(self, callgrind: bool) -> float:
        """The CPU seconds of the measured phase (the cancels, or the steps alone)."""
        work = self.work
        pipeline = work.ex.pipeline
        await work.setup()
        maker = None
        if self.mode != "plain":
            maker = MarketMaker(pipeline, MAKER, DEFAULT_MARKETS, LIQUIDITY)
            await maker.start()
        walk = None
        if self.mode in ("maker", "steps"):
            walk = PriceWalk(pipeline, DEFAULT_MARKETS, WALK_SEED, LIQUIDITY)
        creates, cancels = work.bodies[: self.cancels], work.bodies[self.cancels :]
        await self._post_all(creates, None)
        await _settle(maker)
        first_seq = pipeline.sequencer.last_seq
        if callgrind:
            _callgrind("--instr=on")
        started = time.process_time()
        if self.mode == "steps":
            assert walk is not None
            turns = -(-self.cancels // self.together)
            for _ in range(-(-turns // max(1, self.per_step // self.together))):  # as `maker`
                await walk.step()
                self.steps += 1
                await _settle(maker)
        else:
            await self._post_all(cancels, walk)
        await _settle(maker)
        cpu = time.process_time() - started
        if callgrind:
            _callgrind("--dump")
            _callgrind("--instr=off")
        self.commands = pipeline.sequencer.last_seq - first_seq
        if maker is not None:
            await maker.stop()
        return cpu


def measure(
    mode: str, cancels: int, per_step: int = 950, together: int = 20, callgrind: bool = False
) -> tuple[float, _Run]:
    """CPU seconds per cancel of one run, and the run (its steps and commands)."""
    loop = asyncio.new_event_loop()
    run = _Run(mode, cancels, per_step, together)
    loop.time = lambda: run.fake_time[0]  # type: ignore[method-assign]
    try:
        cpu = loop.run_until_complete(run.go(callgrind))
    finally:
        loop.close()
    return cpu / cancels, run


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=MODES)
    p.add_argument("--cancels", type=int, default=3800)
    p.add_argument("--cancels-per-step", type=int, default=950)
    p.add_argument("--together", type=int, default=20, help="requests per loop turn")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--callgrind", action="store_true", help="under callgrind, --instr-atstart=no")
    args = p.parse_args()
    runs = [
        measure(args.mode, args.cancels, args.cancels_per_step, args.together, args.callgrind)
        for _ in range(args.rounds)
    ]
    cpu, run = min(runs, key=lambda r: r[0])
    print(
        f"{args.mode}: {cpu * 1e6:.1f} µs CPU per cancel ({args.cancels} cancels), "
        f"{run.steps} walk steps, {run.commands} commands"
    )


if __name__ == "__main__":
    main()
