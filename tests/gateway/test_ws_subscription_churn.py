"""Subscribe/unsubscribe churn on one WebSocket connection, in process (issue 14): after 1,000
cycles the server holds exactly what it held before, no task and no bus subscriber more.
(tests/e2e/test_websocket_robustness.py checks the same of a real server's memory and fds.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from harness import Harness, MemoryLink
from pacifica_recipe import keypair
from tidepool.gateway.ws_session import LINK_EXTENSION

ACCOUNT = str(keypair(7).pubkey())
ACCOUNT_SOURCES = (
    "account_orders", "account_positions", "account_info", "account_order_updates",
    "account_trades", "account_margin", "account_leverage",
)  # fmt: skip
CHURNED: tuple[dict[str, Any], ...] = (
    {"source": "book", "symbol": "BTC", "agg_level": 1},
    {"source": "bbo", "symbol": "ETH"},
    {"source": "trades", "symbol": "SOL"},
    {"source": "prices"},
    {"source": "candle", "symbol": "BTC", "interval": "1m"},
    {"source": "mark_price_candle", "symbol": "ETH", "interval": "5m"},
    *({"source": source, "account": ACCOUNT} for source in ACCOUNT_SOURCES),
)


def test_a_thousand_subscribe_unsubscribe_cycles_leave_no_task_and_no_bus_subscriber() -> None:
    hx = Harness()
    bus = hx.sequencer.bus

    async def scenario() -> None:
        link = MemoryLink()
        incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        incoming.put_nowait({"type": "websocket.connect"})

        async def send(message: dict[str, Any]) -> None:
            pass  # the accept and the close; frames go through the link

        scope = {"type": "websocket", "path": "/ws", "headers": [],
                 "extensions": {LINK_EXTENSION: link}}  # fmt: skip
        connection = asyncio.ensure_future(hx.app(scope, incoming.get, send))

        def frame(method: str, params: dict[str, Any]) -> None:
            text = json.dumps({"method": method, "params": params})
            incoming.put_nowait({"type": "websocket.receive", "text": text})

        frame("ping", {})
        await link.next("pong")
        tasks = asyncio.all_tasks()
        for i in range(1000):
            frame("subscribe", CHURNED[i % len(CHURNED)])
            await link.next("subscribe")
            assert not bus.idle  # subscribed: the channel listens to the bus
            frame("unsubscribe", CHURNED[i % len(CHURNED)])
            await link.next("unsubscribe")
        assert bus.idle
        # Anything a cycle started (a session's or a channel's callback) ends on its next turn.
        ending = asyncio.all_tasks() - tasks
        if ending:
            _, still_running = await asyncio.wait(ending, timeout=10)
            assert not still_running, still_running
        incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(connection, 10)

    try:
        hx.loop.run_until_complete(scenario())
    finally:
        hx.close()
