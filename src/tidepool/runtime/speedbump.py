"""Pacifica's speedbump: taker-ish orders enter the engine after a random 50–100 ms delay.

Market orders and GTC/IOC limit orders wait; ALO/TOB creates, cancels, cancel-all and TP/SL never
do (spec A5, §3.1). The point is to protect makers: a maker's cancel sent after a taker's crossing
order, but within the taker's delay, reaches the engine first. The delay is drawn here, outside the
engine, from the server's seeded random source; what the journal records is the resulting order
of commands, so replay does not need the draws.
"""

from __future__ import annotations

import asyncio
import random


class Speedbump:
    def __init__(self, min_ms: int = 50, max_ms: int = 100, seed: int | None = None) -> None:
        if not 0 <= min_ms <= max_ms:
            raise ValueError(f"invalid speedbump range {min_ms}..{max_ms} ms")
        self.min_ms = min_ms
        self.max_ms = max_ms
        self._rng = random.Random(seed)

    @property
    def enabled(self) -> bool:
        return self.max_ms > 0

    def draw_ms(self) -> float:
        return self._rng.uniform(self.min_ms, self.max_ms)

    async def wait(self) -> None:
        if self.max_ms > 0:
            await asyncio.sleep(self.draw_ms() / 1000)


DELAYED_TIFS = frozenset({"GTC", "IOC"})

OFF = Speedbump(0, 0)
