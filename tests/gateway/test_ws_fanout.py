"""The fan-out of bus deliveries to WebSocket channels, in process (gateway/ws_fanout.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from harness import Harness, MemoryLink
from pacifica_recipe import keypair
from tidepool.gateway.ws_account import OrderUpdatesChannel
from tidepool.gateway.ws_session import SocketSession
from tidepool.runtime.bus import Delivery

ALICE = keypair(3)


def test_a_push_that_raises_is_logged_and_costs_no_other_channel_and_no_later_push(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    hx = Harness()
    hx.faucet(ALICE)
    real_push = OrderUpdatesChannel.push
    bugs = [RuntimeError("a bug in a push")]  # the first order update's push raises

    def push(self: OrderUpdatesChannel, delivery: Delivery) -> None:
        if bugs:
            raise bugs.pop()
        real_push(self, delivery)

    monkeypatch.setattr(OrderUpdatesChannel, "push", push)

    async def subscribe() -> tuple[MemoryLink, SocketSession]:
        link = MemoryLink()
        session = SocketSession(link, 100, 60.0, 3600.0)
        connection = hx.gateway.ws_connection(session, None)
        account = str(ALICE.pubkey())
        for params in (
            {"source": "bbo", "symbol": "BTC"},
            {"source": "account_order_updates", "account": account},
        ):
            connection.handle(json.dumps({"method": "subscribe", "params": params}).encode())
        return link, session

    async def pushes_until_order_update(link: MemoryLink) -> list[dict[str, Any]]:
        frames = []
        while not frames or frames[-1]["channel"] != "account_order_updates":
            frames.append(await asyncio.wait_for(link.sent.get(), 10))
        return [f for f in frames if f["channel"] != "subscribe"]

    try:
        link, session = hx.loop.run_until_complete(subscribe())
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
        failures = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(failures) == 1 and "OrderUpdatesChannel" in failures[0].getMessage()
        assert hx.sequencer.bus.failed == 1
        session.ended()
        hx.loop.run_until_complete(asyncio.sleep(0))
        assert hx.sequencer.bus.idle
    finally:
        hx.close()
