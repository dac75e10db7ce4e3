"""The fan-out of bus deliveries to WebSocket channels, in process (gateway/ws_fanout.py,
gateway/ws_account.py), over real sessions whose link is in memory."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from solders.keypair import Keypair

from harness import Harness, MemoryLink
from pacifica_recipe import keypair
from tidepool.engine.commands import CancelAllOrders, CreateOrder
from tidepool.gateway.ws_account import OrderUpdatesChannel
from tidepool.gateway.ws_session import SocketSession
from tidepool.runtime.bus import Delivery

ALICE = keypair(3)
BOB = keypair(4)


async def _session(hx: Harness, *subscriptions: dict[str, Any]) -> tuple[MemoryLink, SocketSession]:
    """A session over an in-memory link, subscribed to `subscriptions`."""
    link = MemoryLink()
    session = SocketSession(link, 100, 60.0, 3600.0)
    connection = hx.gateway.ws_connection(session, None)
    for params in subscriptions:
        connection.handle(json.dumps({"method": "subscribe", "params": params}).encode())
    return link, session


def _end(hx: Harness, session: SocketSession) -> None:
    session.ended()
    hx.loop.run_until_complete(asyncio.sleep(0))  # its writer task ends
    assert hx.sequencer.bus.idle  # and its channels stopped listening


def _resting_bid(account: str, price_ticks: int) -> CreateOrder:
    """A post-only BTC bid that rests."""
    return CreateOrder(
        account=account,
        symbol="BTC",
        side="bid",
        price_ticks=price_ticks,
        size_lots=100,
        tif="ALO",
        reduce_only=False,
    )


def _order_updates(of: Keypair) -> dict[str, Any]:
    return {"source": "account_order_updates", "account": str(of.pubkey())}


def test_a_push_that_raises_is_logged_and_costs_no_other_channel_and_no_later_push(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hx = Harness()
    hx.faucet(ALICE)
    real_items = OrderUpdatesChannel.items
    bugs = [RuntimeError("a bug in a push")]  # the first order update's push raises

    def items(self: OrderUpdatesChannel, delivery: Delivery) -> list[dict[str, Any]]:
        if bugs:
            raise bugs.pop()
        return real_items(self, delivery)

    monkeypatch.setattr(OrderUpdatesChannel, "items", items)

    async def pushes_until_order_update(link: MemoryLink) -> list[dict[str, Any]]:
        frames = []
        while not frames or frames[-1]["channel"] != "account_order_updates":
            frames.append(await asyncio.wait_for(link.sent.get(), 10))
        return [f for f in frames if f["channel"] != "subscribe"]

    try:
        bbo = {"source": "bbo", "symbol": "BTC"}
        link, session = hx.loop.run_until_complete(_session(hx, bbo, _order_updates(ALICE)))
        for price in ("99990", "99991"):
            status, body = hx.create(ALICE, price=price, tif="ALO")
            assert status == 200, body
        frames = hx.loop.run_until_complete(pushes_until_order_update(link))
        # Both best bids were pushed; the first order's update was lost to the bug, the
        # second one's came all the same.
        assert [(f["channel"], f["data"]["b"]) for f in frames[:2]] == [
            ("bbo", "99990"),
            ("bbo", "99991"),
        ]
        assert [(item["ip"], item["os"]) for item in frames[2]["data"]] == [("99991", "open")]
        failures = [r for r in caplog.records if r.name == "tidepool.bus"]
        assert len(failures) == 1 and "OrderUpdatesChannel" in failures[0].getMessage()
        assert hx.sequencer.bus.failed == 1
        _end(hx, session)
    finally:
        hx.close()


def test_updates_of_orders_placed_before_subscribing_show_their_creation_time_and_price() -> None:
    """The channel first sees these orders at a later change (a fill, a cancel): each update
    still shows the order's creation time and its own price as GET /orders/history does, the
    taker's limit price (not its fill price) included."""
    hx = Harness()
    for kp in (ALICE, BOB):
        hx.faucet(kp)

    async def four_updates(link: MemoryLink) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while len(items) < 4:
            items += (await link.next("account_order_updates"))["data"]
        return items

    try:
        for price, side in (("100010", "ask"), ("99990", "bid")):
            assert hx.create(ALICE, price=price, side=side, tif="ALO")[0] == 200
        subscribed = _session(hx, _order_updates(ALICE), _order_updates(BOB))
        link, session = hx.loop.run_until_complete(subscribed)
        hx.clock.advance(5000)
        assert hx.create(BOB, price="100020", amount="0.002", tif="IOC")[0] == 200
        hx.clock.advance(5000)
        cancel = {"symbol": "BTC", "order_id": 2}
        assert hx.post_signed("/api/v1/orders/cancel", ALICE, cancel)[0] == 200
        items = hx.loop.run_until_complete(four_updates(link))
        assert [(u["i"], u["oe"], u["os"]) for u in items] == [
            (3, "fulfill_limit", "partially_filled"),  # the taker's push comes first
            (3, "cancel", "cancelled"),
            (1, "fulfill_limit", "filled"),
            (2, "cancel", "cancelled"),
        ]
        rest: dict[int, dict[str, Any]] = {}
        for kp in (ALICE, BOB):
            _, body = hx.get("/api/v1/orders/history", account=str(kp.pubkey()))
            rest.update({o["order_id"]: o for o in body["data"]})
        for u in items:
            order = rest[u["i"]]
            assert (u["ct"], u["ip"]) == (order["created_at"], order["initial_price"]), u
            assert u["ct"] < u["ut"] or u["i"] == 3  # the taker was made by this command
        assert {u["i"]: u["ip"] for u in items} == {1: "100010", 2: "99990", 3: "100020"}
        _end(hx, session)
    finally:
        hx.close()


def test_commands_published_before_one_drain_reach_a_subscriber_as_one_frame_in_li_order() -> None:
    """At saturation one bus drain holds many commands: their order updates go out as ONE
    `account_order_updates` frame holding every item in engine order (a cancel_all's several
    items included), not one frame per command."""
    hx = Harness()
    hx.faucet(ALICE)
    alice = str(ALICE.pubkey())

    async def published_at_once(link: MemoryLink) -> list[dict[str, Any]]:
        # With no journal the sequencer publishes inside `submit` without yielding: all four
        # commands are on the bus before its drain runs.
        for command in (_resting_bid(alice, p) for p in (90_000, 90_001, 90_002)):
            await hx.sequencer.submit(command)
        await hx.sequencer.submit(
            CancelAllOrders(account=alice, symbol=None, exclude_reduce_only=False)
        )
        frame = await link.next("account_order_updates")
        await asyncio.sleep(0)  # a second frame of the drain would be sent by now
        rest = [link.sent.get_nowait() for _ in range(link.sent.qsize())]
        assert [f for f in rest if f["channel"] == "account_order_updates"] == []
        return list(frame["data"])

    try:
        link, session = hx.loop.run_until_complete(_session(hx, _order_updates(ALICE)))
        items = hx.loop.run_until_complete(published_at_once(link))
        assert [(u["i"], u["oe"], u["li"]) for u in items] == [
            (1, "make", 1),
            (2, "make", 2),
            (3, "make", 3),
            (1, "cancel", 3),
            (2, "cancel", 3),
            (3, "cancel", 3),
        ]
        _end(hx, session)
    finally:
        hx.close()


def test_an_account_snapshot_channel_pushes_once_per_drain_showing_all_of_its_commands() -> None:
    """`account_orders` and `account_info` show the account as it is when the drain runs:
    three creates published before one drain give ONE frame of each, with all three orders,
    not three copies of the same frame."""
    hx = Harness()
    hx.faucet(ALICE)
    alice = str(ALICE.pubkey())
    subscriptions = [{"source": s, "account": alice} for s in ("account_orders", "account_info")]

    async def published_at_once(link: MemoryLink) -> dict[str, list[dict[str, Any]]]:
        await link.next("account_orders")  # the snapshots a subscriber gets at once
        await link.next("account_info")
        for price_ticks in (90_000, 90_001, 90_002):
            # No journal: the sequencer publishes inside `submit` without yielding.
            await hx.sequencer.submit(_resting_bid(alice, price_ticks))
        # The two channels hear the same deliveries: either may push first.
        frames: dict[str, list[dict[str, Any]]] = {}
        while len(frames) < 2:
            frame = await asyncio.wait_for(link.sent.get(), 10)
            frames.setdefault(frame["channel"], []).append(frame)
        await asyncio.sleep(0)  # a second frame of the drain would be sent by now
        while not link.sent.empty():
            frame = link.sent.get_nowait()
            frames.setdefault(frame["channel"], []).append(frame)
        return frames

    try:
        link, session = hx.loop.run_until_complete(_session(hx, *subscriptions))
        frames = hx.loop.run_until_complete(published_at_once(link))
        assert sorted(frames) == ["account_info", "account_orders"]
        (orders,), (info,) = frames["account_orders"], frames["account_info"]
        assert [o["i"] for o in orders["data"]] == [1, 2, 3] and orders["li"] == 3
        assert info["data"]["oc"] == 3
        _end(hx, session)
    finally:
        hx.close()
