"""The price walk in process: its steps are journaled mark commands, the same for the same seed,
and everything that follows marks (stops, the market maker) follows them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from harness import Harness
from pacifica_recipe import keypair
from tidepool.config import LiquidityConfig
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.liquidity import MarketMaker, PriceWalk
from tidepool.liquidity.walk import next_mark

BTC = DEFAULT_MARKETS[0]


def walk_marks(seed: int, steps: int, **cfg: Any) -> list[tuple[Decimal, ...]]:
    """The marks after each of `steps` steps of a fresh server's walk."""
    h = Harness()
    try:
        walk = PriceWalk(h.exchange.pipeline, DEFAULT_MARKETS, seed, LiquidityConfig(**cfg))
        marks = []
        for _ in range(steps):
            h.loop.run_until_complete(walk.step())
            marks.append(tuple(h.engine.mark_price(m.symbol) for m in DEFAULT_MARKETS))
        return marks
    finally:
        h.close()


def test_the_same_seed_walks_the_marks_the_same_way_and_another_seed_does_not() -> None:
    first = walk_marks(7, 20)
    assert walk_marks(7, 20) == first
    assert walk_marks(8, 20) != first
    assert len(set(first)) == 20  # every step moved


def test_each_step_is_a_journaled_mark_on_the_tick_grid() -> None:
    h = Harness()
    try:
        walk = PriceWalk(h.exchange.pipeline, DEFAULT_MARKETS, 0, LiquidityConfig())
        h.loop.run_until_complete(walk.step())
        assert h.sequencer.last_seq == len(DEFAULT_MARKETS)  # one SetMarkPrice per market
        for spec in DEFAULT_MARKETS:
            mark = h.engine.mark_price(spec.symbol)
            assert mark != spec.initial_mark_price
            assert mark % spec.tick_size == 0
            # one step of 10 bps standard deviation stays within √3 x 10 bps
            assert abs(mark / spec.initial_mark_price - 1) <= Decimal("0.00174")
    finally:
        h.close()


def test_a_step_is_bounded_by_the_volatility_and_never_reaches_zero() -> None:
    top = 2**53 - 1
    assert next_mark(BTC, Decimal(100_000), top // 2, Decimal(10)) == Decimal(100_000)
    assert next_mark(BTC, Decimal(100_000), 0, Decimal(100)) == Decimal(98_268)  # -√3 %
    assert next_mark(BTC, Decimal(100_000), top, Decimal(100)) == Decimal(101_732)
    assert next_mark(BTC, Decimal(3), 0, Decimal(10_000)) == BTC.tick_size


def test_a_stop_triggers_after_a_price_walk_and_fills_against_the_maker() -> None:
    h = Harness()
    cfg = LiquidityConfig(market_maker=True, walk_volatility_bps=Decimal(50))
    maker = MarketMaker(h.exchange.pipeline, str(keypair(99).pubkey()), DEFAULT_MARKETS, cfg)
    walk = PriceWalk(h.exchange.pipeline, DEFAULT_MARKETS, 3, cfg)
    try:
        h.loop.run_until_complete(maker.start())
        alice = keypair(1)
        h.faucet(alice)
        stop = {"stop_price": "100300", "amount": "0.001"}
        payload = {"symbol": "BTC", "side": "bid", "reduce_only": False, "stop_order": stop}
        status, body = h.post_signed("/api/v1/orders/stop/create", alice, payload)
        assert status == 200, body
        for _ in range(200):
            if not h.open_orders(alice):
                break
            h.loop.run_until_complete(walk.step())
        assert h.open_orders(alice) == []
        [position] = h.engine.positions(str(alice.pubkey()))
        assert (position.symbol, position.side, position.size_lots) == ("BTC", "bid", 100)
    finally:
        h.loop.run_until_complete(maker.stop())
        h.close()
