"""The market maker and the price walk that serve's flags turn on, started and stopped together
on the engine process's event loop (both process layouts run them there)."""

from __future__ import annotations

from collections.abc import Sequence

from tidepool.config import LiquidityConfig
from tidepool.domain.markets import MarketSpec
from tidepool.liquidity.maker import MarketMaker
from tidepool.liquidity.walk import PriceWalk
from tidepool.runtime.pipeline import Pipeline


class Liquidity:
    def __init__(
        self,
        pipeline: Pipeline,
        markets: Sequence[MarketSpec],
        seed: int,
        cfg: LiquidityConfig,
        maker_account: str,
    ) -> None:
        self.maker = (
            MarketMaker(pipeline, maker_account, markets, cfg) if cfg.market_maker else None
        )
        self.walk = PriceWalk(pipeline, markets, seed, cfg) if cfg.price_walk else None

    async def start(self) -> None:
        """Returns once the maker's first quotes rest (the walk's first step is one interval
        away): a client that reaches the server after this finds liquidity."""
        if self.maker is not None:
            await self.maker.start()
        if self.walk is not None:
            self.walk.start()

    async def stop(self) -> None:
        """Before the sequencer closes: nothing of theirs is in flight after this. Their
        resting orders stay (journaled state like any client's)."""
        if self.walk is not None:
            await self.walk.stop()
        if self.maker is not None:
            await self.maker.stop()
