"""`serve --price-walk`: every interval, each market's mark takes one step of a seeded random walk.

A step is the command the sandbox's mark-price route submits (SetMarkPrice), through the
pipeline: journaled, replayed, and seen by everything that follows marks (stop and TP/SL
triggers, the `prices` channel, the market maker).

The step multiplies the mark as it is now (whoever set it last) by 1 + r, with r uniform on
[-v√3, v√3) for a volatility v (its standard deviation), drawn from a random source seeded with
the server's seed and used by nothing else; the result is rounded to the tick, and kept between
one tick and the largest price the journal holds. The draws are integers from Python's Mersenne
Twister and the arithmetic is Decimal, so the same seed gives the same steps on every machine.
The n-th step of each market depends on the seed and on the marks it starts from, not on the
wall clock; when steps happen relative to client requests does (the interval is wall time), so
a test that needs exact marks sets them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from tidepool.config import LiquidityConfig
from tidepool.domain.markets import MAX_STEPS, MarketSpec
from tidepool.engine.commands import SetMarkPrice
from tidepool.runtime.pipeline import Pipeline

log = logging.getLogger("tidepool.price_walk")

_DRAW_BITS = 53
_BPS = Decimal(10_000)


def next_mark(spec: MarketSpec, mark: Decimal, draw: int, volatility_bps: Decimal) -> Decimal:
    """The mark after one step; `draw` is uniform in [0, 2**53)."""
    with localcontext() as ctx:
        ctx.prec = 40
        unit = Decimal(2 * draw) / Decimal(2**_DRAW_BITS) - 1  # uniform in [-1, 1)
        width = volatility_bps / _BPS * Decimal(3).sqrt()  # a uniform's sd is width / √3
        moved = mark * (1 + width * unit)
        ticks = (moved / spec.tick_size).to_integral_value(rounding=ROUND_HALF_EVEN)
        # Within what a price can be: one tick, and the most ticks the journal holds.
        return min(max(ticks, Decimal(1)), Decimal(MAX_STEPS)) * spec.tick_size


class PriceWalk:
    def __init__(
        self, pipeline: Pipeline, markets: Sequence[MarketSpec], seed: int, cfg: LiquidityConfig
    ) -> None:
        self._pipeline = pipeline
        self._markets = tuple(markets)
        # A source of its own: the speedbump's draws (seeded with the seed too) never shift it.
        self._rng = random.Random(f"tidepool price walk {seed}")
        self._cfg = cfg
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._cfg.walk_interval_ms / 1000)
            await self.step()

    async def step(self) -> None:
        """One step of every market, in the order of the market list."""
        for spec in self._markets:
            draw = self._rng.getrandbits(_DRAW_BITS)
            mark = self._pipeline.sequencer.engine.mark_price(spec.symbol)
            if mark <= 0:  # a market without a mark yet: nothing to walk from
                continue
            try:
                mark = next_mark(spec, mark, draw, self._cfg.walk_volatility_bps)
                outcome = await self._pipeline.submit(SetMarkPrice(symbol=spec.symbol, price=mark))
            except Exception as exc:  # the sequencer stopped: never raise, try next interval
                log.error("price walk: %s mark not set: %s", spec.symbol, exc)
                continue
            if outcome.reject is not None:
                log.warning("price walk: %s mark refused: %s", spec.symbol, outcome.reject.message)
