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

from tidepool.engine.commands import Batch, Command, CreateMarketOrder, CreateOrder


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


def delayed(cmd: Command) -> bool:
    """Whether `cmd` waits for the speedbump: market orders, GTC/IOC creates, and a batch that
    holds either. Decided from the command alone, whichever front end it came from."""
    if isinstance(cmd, CreateOrder):
        return cmd.tif in DELAYED_TIFS
    if isinstance(cmd, CreateMarketOrder):
        return True
    return isinstance(cmd, Batch) and any(delayed(action) for action in cmd.actions)


OFF = Speedbump(0, 0)
