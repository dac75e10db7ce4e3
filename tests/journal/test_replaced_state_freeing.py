"""A sandbox revert or reset through the pipeline: answered before the state it replaced is
freed, other requests served while that state is freed in pieces, and nothing of it left."""

from __future__ import annotations

import asyncio
import gc
from decimal import Decimal
from pathlib import Path

import pytest

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine import teardown
from tidepool.engine.commands import (
    CreateOrder,
    Faucet,
    ResetState,
    RevertSnapshot,
    TakeSnapshot,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.orders import Order
from tidepool.runtime.clock import ManualClock
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Sequencer


def _pipeline() -> Pipeline:
    engine = Engine(DEFAULT_MARKETS, EngineConfig(max_open_orders=10_000))
    return Pipeline(Sequencer(engine, None, ManualClock(), "none"))


async def _rest(pipeline: Pipeline, count: int) -> None:
    await pipeline.submit(Faucet(account="maker", amount=Decimal(10**9)))
    for i in range(count):
        order = CreateOrder(
            account="maker",
            symbol="BTC",
            side="bid",
            price_ticks=50_000 + i % 500,
            size_lots=100,
            tif="ALO",
            reduce_only=False,
        )
        assert (await pipeline.submit(order)).reject is None


def _live_orders() -> int:
    return sum(type(o) is Order for o in gc.get_objects())


async def _until_freed(pipeline: Pipeline) -> None:
    for _ in range(100_000):
        if not pipeline.sequencer.reclaimer.busy:
            return
        await asyncio.sleep(0)
    raise AssertionError("the replaced state was never freed")


def test_requests_are_served_while_a_reset_state_of_5000_orders_is_freed() -> None:
    """The reset answers with the replaced state still to free; a client sending one request
    after another meanwhile is answered between the pieces, not after the whole."""
    pipeline = _pipeline()

    async def go() -> int:
        await _rest(pipeline, 5_000)
        await pipeline.submit(ResetState(fund=[]))
        served = 0
        while pipeline.sequencer.reclaimer.busy:
            outcome = await pipeline.submit(Faucet(account="other", amount=Decimal(1)))
            assert outcome.reject is None
            served += 1
            await asyncio.sleep(0)  # as a client's next request comes in a later loop turn
        return served

    assert asyncio.run(go()) >= 3
    assert pipeline.sequencer.engine.order_count == 0


def test_many_reverts_and_resets_leave_nothing_of_the_states_they_replaced() -> None:
    """With the collector off, as under the server's GC policy (runtime/gcpolicy.py): only
    reference counting frees the replaced states, and it frees all of them."""
    gc.collect()
    others = _live_orders()
    pipeline = _pipeline()

    async def go() -> None:
        for _ in range(5):
            await _rest(pipeline, 1_500)
            snapshot_id = (await pipeline.submit(TakeSnapshot())).snapshot_id
            assert snapshot_id is not None
            await _rest(pipeline, 1_500)
            await pipeline.submit(RevertSnapshot(snapshot_id=snapshot_id))
            await pipeline.submit(ResetState(fund=[]))
        await _until_freed(pipeline)

    gc.disable()
    try:
        asyncio.run(go())
        assert _live_orders() - others == 0
    finally:
        gc.enable()


def test_a_state_being_freed_when_the_loop_shuts_down_is_freed_all_the_same() -> None:
    gc.collect()
    others = _live_orders()
    pipeline = _pipeline()

    async def go() -> None:
        await _rest(pipeline, 5_000)
        await pipeline.submit(ResetState(fund=[]))
        assert pipeline.sequencer.reclaimer.busy  # asyncio.run cancels the task that frees it

    gc.disable()
    try:
        asyncio.run(go())
        assert not pipeline.sequencer.reclaimer.busy
        assert _live_orders() - others == 0
    finally:
        gc.enable()


def test_resets_waiting_on_one_fsync_each_leave_their_state_to_the_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `--durability fsync` a reset's answer waits for its group commit; a second reset
    applied meanwhile must not find the first one's state still parked and free it at once
    inside its own apply (the stall this freeing in pieces exists to avoid)."""
    at_once: list[int] = []
    free = teardown.free
    monkeypatch.setattr(teardown, "free", lambda state: at_once.append(1) or free(state))
    config = EngineConfig()
    seqr = Sequencer.open(
        tmp_path, DEFAULT_MARKETS, config, ManualClock(), "fsync", gc_policy=False
    )

    async def go() -> None:
        pipeline = Pipeline(seqr)
        await _rest(pipeline, 50)
        resets = [pipeline.submit(ResetState(fund=[])) for _ in range(3)]
        assert all(o.reject is None for o in await asyncio.gather(*resets))
        await _until_freed(pipeline)
        await seqr.close()

    asyncio.run(go())
    assert at_once == []
