"""Liquidity on tap (`serve --market-maker`, `--price-walk`): a sandbox's own clients.

They run in the engine process, on its event loop, and change the exchange only as a client
does: plain commands through the pipeline (runtime/pipeline.py), journaled, so a replay needs
neither. Layer: above runtime (the pipeline, the bus) and below server (which composes them);
nothing here imports the gateway.

- quotes.py: the maker's ladder and the commands that make its resting orders match it (pure);
- maker.py: the market maker, a bus subscriber;
- walk.py: the seeded random walk of the marks;
- running.py: both, started and stopped together as serve's flags say.
"""

from tidepool.liquidity.maker import MarketMaker
from tidepool.liquidity.running import Liquidity
from tidepool.liquidity.walk import PriceWalk

__all__ = ["Liquidity", "MarketMaker", "PriceWalk"]
