"""The event bus behind the sequencer: what subscribers (WebSocket topics, a market maker) get
from the commands the exchange applies."""

from __future__ import annotations

import asyncio
import itertools
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import CancelAllOrders, CancelOrder, CreateOrder, Faucet, ResetState
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.events import OrderAccepted, OrderCancelled, OrderFilled
from tidepool.runtime.bus import Bus, Delivery, Subscription, topics_of
from tidepool.runtime.clock import ManualClock
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Durability, Sequencer

ACCOUNTS = [f"acct{i}" for i in range(4)]


def _sequencer(
    tmp_path: Path | None = None, durability: Durability = "none", max_open: int = 1000
) -> Sequencer:
    config = EngineConfig(max_open_orders=max_open)
    if durability == "none":
        return Sequencer(Engine(DEFAULT_MARKETS, config), None, ManualClock(), "none")
    assert tmp_path is not None
    return Sequencer.open(
        tmp_path, DEFAULT_MARKETS, config, ManualClock(), durability, gc_policy=False
    )


def _create(account: str, price: int, side: str = "bid", tif: str = "GTC") -> CreateOrder:
    return CreateOrder(
        account=account,
        symbol="BTC",
        side=side,  # type: ignore[arg-type]
        price_ticks=price,
        size_lots=100,
        tif=tif,  # type: ignore[arg-type]
        reduce_only=False,
    )


async def _fund(seqr: Sequencer) -> None:
    for account in ACCOUNTS:
        await seqr.submit(Faucet(account=account, amount=Decimal(10**9)))


def _mixed_stream(n: int, seed: int) -> list[CreateOrder | CancelOrder]:
    rng = random.Random(seed)
    stream: list[CreateOrder | CancelOrder] = []
    for _ in range(n):
        account = rng.choice(ACCOUNTS)
        if rng.random() < 0.3:
            stream.append(CancelOrder(account=account, symbol="BTC", order_id=rng.randint(1, n)))
        else:
            side = rng.choice(["bid", "ask"])
            price = 100_000 + rng.randint(-20, 20)
            stream.append(_create(account, price, side))
    return stream


def test_li_never_decreases_on_a_topic_and_deliveries_come_in_command_order() -> None:
    seqr = _sequencer()
    topics = [("book", "BTC"), ("trades", "BTC")] + [
        (channel, a) for a in ACCOUNTS for channel in ("account_order_updates", "account_trades")
    ]
    sub = seqr.bus.subscribe(topics, maxsize=100_000)

    async def go() -> list[Delivery]:
        await _fund(seqr)
        for cmd in _mixed_stream(600, seed=5):
            await seqr.submit(cmd)
        sub.close()
        return [d async for d in sub]

    deliveries = asyncio.run(go())
    assert {d.topic for d in deliveries} == set(topics)  # fills and cancels happened everywhere
    for topic in topics:
        on_topic = [d for d in deliveries if d.topic == topic]
        assert [d.seq for d in on_topic] == sorted({d.seq for d in on_topic})
        assert all(a.li <= b.li for a, b in itertools.pairwise(on_topic))
        for d in on_topic:
            assert all(e.seq == d.seq for e in d.events)


def test_a_slow_subscriber_is_dropped_without_delaying_others_or_the_answer() -> None:
    seqr = _sequencer()
    slow = seqr.bus.subscribe([("account_order_updates", "acct0")], maxsize=5)
    fast = seqr.bus.subscribe([("account_order_updates", "acct0")], maxsize=1000)

    async def go() -> list[Delivery]:
        await _fund(seqr)
        for i in range(20):  # nobody reads `slow`; every submit still answers at once
            outcome = await asyncio.wait_for(seqr.submit(_create("acct0", 90_000 + i)), 1.0)
            assert outcome.reject is None
        fast.close()
        return [d async for d in fast]

    got = asyncio.run(go())
    assert len(got) == 20
    assert slow.closed is not None and "slow consumer" in slow.closed
    assert seqr.bus.dropped == 1
    # What was queued before the drop can still be read; then the iterator ends.
    assert len(asyncio.run(_drain(slow))) == 5


async def _drain(sub: Subscription) -> list[Delivery]:
    return [d async for d in sub]


def test_a_cancel_all_of_5000_orders_publishes_5000_cancelled_events() -> None:
    seqr = _sequencer(max_open=6000)
    pipeline = Pipeline(seqr)
    sub = seqr.bus.subscribe([("account_order_updates", "acct1")], maxsize=100_000)

    async def go() -> tuple[int, list[Delivery]]:
        await _fund(seqr)
        for i in range(5000):
            await seqr.submit(_create("acct1", 50_000 + i % 1000, tif="ALO"))
        outcome = await pipeline.submit(
            CancelAllOrders(account="acct1", symbol=None, exclude_reduce_only=False)
        )
        sub.close()
        return outcome.cancelled_count or 0, [d async for d in sub]

    count, deliveries = asyncio.run(go())
    cancelled = [e for d in deliveries for e in d.events if isinstance(e, OrderCancelled)]
    assert count == 5000
    assert len(cancelled) == 5000
    assert len({e.order_id for e in cancelled}) == 5000
    assert len({d.seq for d in deliveries if isinstance(d.events[0], OrderCancelled)}) == 5


def test_fsync_mode_publishes_only_durable_commands_in_seq_order(tmp_path: Path) -> None:
    seqr = _sequencer(tmp_path, "fsync")
    sub = seqr.bus.subscribe([("account_order_updates", a) for a in ACCOUNTS], maxsize=10_000)
    synced: list[int] = []
    real_sync = seqr._store.sync

    def sync() -> None:
        last = seqr._store.last_seq
        real_sync()
        synced.append(last)

    seqr._committer._sync = sync  # type: ignore[union-attr]

    async def go() -> list[Delivery]:
        await _fund(seqr)
        await asyncio.gather(*(seqr.submit(_create(a, 90_000 + i)) for i, a in
                               enumerate(ACCOUNTS * 10)))  # fmt: skip
        deliveries = []
        while not sub._queue.empty():
            d = await sub.get()
            assert d is not None
            deliveries.append(d)
        await seqr.close()
        return deliveries

    deliveries = asyncio.run(go())
    seqs = [d.seq for d in deliveries]
    assert len(seqs) == 40 and seqs == sorted(seqs)
    assert max(seqs) <= max(synced)


def test_every_order_change_of_a_command_is_one_update_showing_the_order_as_it_left_it() -> None:
    """A taker that fills three makers: the taker gets one update per fill (cumulative filled
    amount growing), each maker one `filled` update, all in the delivery of that command."""
    seqr = _sequencer()
    topics = [("account_order_updates", a) for a in ACCOUNTS]
    sub = seqr.bus.subscribe(topics, maxsize=1000)

    async def go() -> list[Delivery]:
        await _fund(seqr)
        for i in range(3):
            await seqr.submit(_create(f"acct{i}", 100_000 + i, side="ask", tif="ALO"))
        taker = _create("acct3", 100_002, side="bid", tif="IOC")
        await seqr.submit(replace(taker, size_lots=300))
        sub.close()
        return [d async for d in sub]

    deliveries = asyncio.run(go())
    last = max(d.seq for d in deliveries)
    taker = [d for d in deliveries if d.seq == last and d.topic[1] == "acct3"]
    assert [(u.event_type, u.filled_lots, u.order_status) for u in taker[0].updates] == [
        ("fulfill_limit", 100, "partially_filled"),
        ("fulfill_limit", 200, "partially_filled"),
        ("fulfill_limit", 300, "filled"),
    ]
    makers = [d for d in deliveries if d.seq == last and d.topic[1] != "acct3"]
    assert sorted((d.topic[1], [u.order_status for u in d.updates]) for d in makers) == [
        ("acct0", ["filled"]),
        ("acct1", ["filled"]),
        ("acct2", ["filled"]),
    ]
    # Each resting maker's own create delivered its `make` (rested) update earlier.
    made = [u.event_type for d in deliveries if d.seq < last for u in d.updates]
    assert made == ["make", "make", "make"]


def test_a_listener_gets_each_command_s_deliveries_in_topic_order_after_the_answer() -> None:
    """A crossing order touches the book, the trades and both accounts: a listener of all of
    them gets one delivery per topic, in the order of the command's events (the taker accepted,
    then its fill: market topics, then the maker's, then the taker's), commands in seq order,
    in one call for both commands, and only once the sequencer has answered."""
    seqr = _sequencer()
    topics = [("account_trades", "acct1"), ("account_order_updates", "acct0")]
    topics += [("trades", "BTC"), ("book", "BTC"), ("account_order_updates", "acct1")]
    got: list[tuple[int, tuple[str, str]]] = []
    calls: list[int] = []

    def push(deliveries: list[Delivery]) -> None:
        calls.append(len(deliveries))
        got.extend((d.seq, d.topic) for d in deliveries)

    seqr.bus.listen(topics, push)

    async def go() -> tuple[int, int]:
        await _fund(seqr)
        await seqr.submit(_create("acct0", 100_000, side="ask", tif="ALO"))
        maker = seqr.last_seq
        await seqr.submit(_create("acct1", 100_000, side="bid", tif="IOC"))
        assert got == []  # neither answer waited for a listener
        await asyncio.sleep(0)
        return maker, seqr.last_seq

    maker_seq, taker_seq = asyncio.run(go())
    assert taker_seq == maker_seq + 1
    assert got == [
        (maker_seq, ("book", "BTC")),
        (maker_seq, ("account_order_updates", "acct0")),
        (taker_seq, ("book", "BTC")),
        (taker_seq, ("account_order_updates", "acct1")),
        (taker_seq, ("trades", "BTC")),
        (taker_seq, ("account_order_updates", "acct0")),
        (taker_seq, ("account_trades", "acct1")),
    ]
    assert calls == [7]


def test_a_listener_that_raises_is_logged_and_costs_no_other_listener_a_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seqr = _sequencer()
    topic = [("account_order_updates", "acct0")]
    calls: list[int] = []
    fine: list[int] = []

    def broken(deliveries: list[Delivery]) -> None:
        calls.extend(d.seq for d in deliveries)
        raise RuntimeError("a bug in a push")

    seqr.bus.listen(topic, broken)
    seqr.bus.listen(topic, lambda ds: fine.extend(d.seq for d in ds))

    async def go() -> None:
        await _fund(seqr)
        for i in range(3):
            await seqr.submit(_create("acct0", 90_000 + i))
            await asyncio.sleep(0)  # a drain each

    asyncio.run(go())
    assert len(fine) == 3 and calls == fine  # each listener got every command
    assert seqr.bus.failed == 3
    assert sum("a bug in a push" in (r.exc_text or "") for r in caplog.records) == 3


def test_a_listener_closed_before_its_deliveries_ran_gets_none_of_them() -> None:
    seqr = _sequencer()
    got: list[int] = []
    listener = seqr.bus.listen(
        [("account_order_updates", "acct0")], lambda ds: got.extend(d.seq for d in ds)
    )

    async def go() -> None:
        await _fund(seqr)
        await seqr.submit(_create("acct0", 90_000))
        listener.close()  # published, not yet run: dropped with the listener
        await asyncio.sleep(0)
        await seqr.submit(_create("acct0", 90_001))
        await asyncio.sleep(0)

    asyncio.run(go())
    assert got == []
    assert seqr.bus.idle


def test_a_listener_gets_all_its_deliveries_of_a_drain_in_one_call_in_first_delivery_order() -> (
    None
):
    """Commands published before one drain: each listener is called once with its deliveries
    of them, in seq order; listeners in the order of their first delivery; one closed in the
    drain before its turn, or with nothing in it, is not called."""
    seqr = _sequencer()
    calls: list[str] = []

    def listen(name: str, account: str) -> None:
        def push(deliveries: list[Delivery]) -> None:
            calls.append(f"{name} {[d.seq for d in deliveries]}")
            if name == "a":
                closed_by_a.close()

        seqr.bus.listen([("account_order_updates", account)], push)

    listen("b", "acct1")
    listen("a", "acct0")
    closed_by_a = seqr.bus.listen(
        [("account_order_updates", "acct1")], lambda ds: calls.append("closed")
    )

    async def go() -> tuple[int, int]:
        await _fund(seqr)
        await seqr.submit(_create("acct0", 90_000))
        first = seqr.last_seq
        await seqr.submit(_create("acct1", 90_001))
        await seqr.submit(_create("acct0", 90_002))
        await asyncio.sleep(0)  # one drain: all three commands
        await seqr.submit(_create("acct1", 90_003))
        await asyncio.sleep(0)  # the next drain: only acct1's
        return first, seqr.last_seq

    first, last = asyncio.run(go())
    assert calls == [
        f"a {[first, first + 2]}",
        f"b {[first + 1]}",
        f"b {[last]}",
    ]


def test_a_paused_listener_gets_nothing_until_it_resumes_but_a_reset_reaches_it() -> None:
    """A paused listener (a throttled channel) is routed nothing, and nothing is built for a
    topic whose listeners are all paused; a sandbox reset resumes it and reaches it."""
    seqr = _sequencer()
    book = [("book", "BTC")]
    got: list[tuple[int, str]] = []
    listener = seqr.bus.listen(
        book, lambda ds: got.extend((d.seq, type(d.events[0]).__name__) for d in ds)
    )
    built: list[int] = []
    deliveries = seqr.bus._deliveries

    def counting(*args: Any) -> list[Delivery]:
        made = deliveries(*args)
        built.extend(d.seq for d in made)
        return made

    seqr.bus._deliveries = counting  # type: ignore[method-assign]

    async def go() -> tuple[int, int]:
        await _fund(seqr)
        listener.pause()
        await seqr.submit(_create("acct0", 90_000))
        await asyncio.sleep(0)
        assert got == [] and built == []
        listener.resume()
        await seqr.submit(_create("acct0", 90_001))
        heard = seqr.last_seq
        listener.pause()
        await seqr.submit(_create("acct0", 90_002))
        await seqr.submit(ResetState(fund=[]))
        reset = seqr.last_seq
        await asyncio.sleep(0)
        return heard, reset

    heard, reset = asyncio.run(go())
    assert got == [(heard, "OrderAccepted"), (reset, "StateReplaced")]
    assert not listener.paused


ALL_KINDS = (
    "book", "bbo", "trades", "candle", "account_orders", "account_order_updates",
    "account_trades", "account_positions", "account_info",
)  # fmt: skip


def _everything() -> list[tuple[str, str]]:
    """Every topic the mixed streams can reach, and the marks."""
    names = ["BTC", *ACCOUNTS]
    return [("prices", ""), *((kind, name) for kind in ALL_KINDS for name in names)]


def test_a_subscriber_of_a_few_topics_gets_exactly_their_deliveries_while_others_come_and_go() -> (
    None
):
    """The market maker's shape (one account and the marks) next to subscribers of everything:
    it gets exactly what they get on its topics, fills where it is the maker or the taker
    included, and nothing else; subscribers of the same names closing and coming back (the bus
    indexes who follows which account and market) change nothing for it."""
    seqr = _sequencer()
    few = [("prices", ""), ("account_order_updates", "acct0"), ("account_trades", "acct0")]
    mine = seqr.bus.subscribe(few, maxsize=100_000)
    first = seqr.bus.subscribe(_everything(), maxsize=100_000)
    stream = _mixed_stream(900, seed=11)

    async def go() -> tuple[list[Delivery], list[Delivery], list[Delivery]]:
        await _fund(seqr)
        for cmd in stream[:300]:
            await seqr.submit(cmd)
        first.close()
        for cmd in stream[300:600]:  # only `mine` follows anything now
            await seqr.submit(cmd)
        second = seqr.bus.subscribe(_everything(), maxsize=100_000)
        for cmd in stream[600:]:
            await seqr.submit(cmd)
        second.close()
        mine.close()
        return await _drain(mine), await _drain(first), await _drain(second)

    got, before, after = asyncio.run(go())
    assert {d.topic for d in got} == set(few) - {("prices", "")}  # fills and cancels of acct0
    watched = [d for d in [*before, *after] if d.topic in few]
    assert watched, "the stream never touched acct0"
    assert [d for d in got if d.seq <= before[-1].seq or d.seq >= after[0].seq] == watched
    # Between the two, acct0's commands still reached it: as many as in the other thirds.
    assert sum(before[-1].seq < d.seq < after[0].seq for d in got) > len(watched) // 4


def test_a_command_is_routed_when_anyone_follows_a_topic_of_one_of_its_events() -> None:
    """The sequencer skips a command nobody follows (`Bus.follows`): a bus that follows any one
    topic of an event follows it, and one that follows only the marks and other markets and
    accounts (the market maker's shape) skips orders accepted, cancelled and filled, alone or
    together, but routes every other event."""
    seqr = _sequencer()
    events = []

    async def go() -> None:
        await _fund(seqr)
        for cmd in _mixed_stream(400, seed=3):
            events.extend((await seqr.submit(cmd)).events)

    asyncio.run(go())
    orders = (OrderAccepted, OrderCancelled, OrderFilled)
    assert set(orders) < {type(event) for event in events}  # and balances, positions
    others = Bus()
    others.subscribe([("prices", ""), ("book", "ETH"), ("account_orders", "somebody else")])
    for event in events:
        for topic in topics_of(event):
            one = Bus()
            one.subscribe([topic])
            assert one.follows([event]), (topic, event)
        assert others.follows([event]) is not isinstance(event, orders), event
    skipped = [event for event in events if isinstance(event, orders)]
    assert not others.follows(skipped)
    # Every event counts, not only the first: fills of a followed account after others.
    followed = Bus()
    followed.subscribe([("account_trades", ACCOUNTS[0])])
    quiet = [event for event in skipped if not followed.follows([event])]
    fills = [e for e in skipped if isinstance(e, OrderFilled) and e.taker_account == ACCOUNTS[0]]
    assert quiet and fills
    assert followed.follows([*quiet, fills[-1]]) and not followed.follows(quiet)
