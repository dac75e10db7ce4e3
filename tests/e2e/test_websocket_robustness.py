"""WebSocket robustness against a real server (issue 14): subscribe/unsubscribe churn leaves
nothing behind in the server process, and a client that reconnects and subscribes again gets a
fresh snapshot, then new updates in `li` order."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets
from test_websocket import _call, _frame, _now_ms, _order, _recv, _run, ws_url

from pacifica_recipe import keypair, signed_body
from server_process import ServerProcess

pytestmark = pytest.mark.e2e

TRADER = keypair(131)
ACCOUNT = str(TRADER.pubkey())
# One of each kind of channel: market data, candles, account state and account events.
CHURNED: tuple[dict[str, Any], ...] = (
    {"source": "book", "symbol": "BTC", "agg_level": 1},
    {"source": "bbo", "symbol": "ETH"},
    {"source": "trades", "symbol": "SOL"},
    {"source": "prices"},
    {"source": "candle", "symbol": "BTC", "interval": "1m"},
    {"source": "account_orders", "account": ACCOUNT},
    {"source": "account_info", "account": ACCOUNT},
    {"source": "account_order_updates", "account": ACCOUNT},
    {"source": "account_leverage", "account": ACCOUNT},
)
# A channel left open by an unsubscribe (its task, bus subscription and queue) costs the server
# about 6 KB, 6 MB over 1,000 cycles; a clean cycle leaves a few bytes of allocator noise.
MAX_GROWTH_KB = 2048


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("wsrobust") / "state"
    with ServerProcess(state, "--speedbump-ms", "0") as server:
        faucet = {"account": ACCOUNT, "amount": "1000000"}
        assert httpx.post(f"{server.url}/sandbox/faucet", json=faucet).status_code == 200
        yield server


def _resident_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads the server's /proc")
def test_a_thousand_subscribe_unsubscribe_cycles_leave_no_growth_in_the_server(
    srv: ServerProcess,
) -> None:
    assert srv.proc is not None
    pid = srv.proc.pid

    async def cycles(ws: Any, n: int) -> None:
        for i in range(n):
            params = CHURNED[i % len(CHURNED)]
            await ws.send(json.dumps({"method": "subscribe", "params": params}))
            await ws.send(json.dumps({"method": "unsubscribe", "params": params}))
            await _recv(ws, "unsubscribe")  # snapshots sent on subscribe are skipped

    async def scenario() -> tuple[tuple[int, int], tuple[int, int]]:
        async with websockets.connect(ws_url(srv)) as ws:
            await cycles(ws, 100)  # the first of each channel warms caches and imports
            before = (_resident_kb(pid), _open_fds(pid))
            await cycles(ws, 1000)
            after = (_resident_kb(pid), _open_fds(pid))
            # Still serving: subscribed, the channels work as on the first cycle.
            await ws.send(json.dumps({"method": "subscribe", "params": CHURNED[0]}))
            assert (await _recv(ws, "book"))["data"]["s"] == "BTC"
            return before, after

    (rss_before, fds_before), (rss_after, fds_after) = _run(scenario())
    assert fds_after == fds_before
    assert rss_after - rss_before < MAX_GROWTH_KB, (rss_before, rss_after)


def test_reconnecting_and_subscribing_again_gives_a_fresh_snapshot_then_updates_in_li_order(
    srv: ServerProcess,
) -> None:
    book = {"source": "book", "symbol": "BTC", "agg_level": 1}
    orders = {"source": "account_orders", "account": ACCOUNT}
    updates = {"source": "account_order_updates", "account": ACCOUNT}

    async def subscribe(ws: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The book's and the open orders' snapshots."""
        for params in (book, orders, updates):
            await ws.send(json.dumps({"method": "subscribe", "params": params}))
        return await _recv(ws, "book"), await _recv(ws, "account_orders")

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            await subscribe(ws)
            first = await _call(ws, _frame(TRADER, "create_order", _order("76000")))
            assert first["code"] == 200, first
        # While the client is away: a new order, and the first one cancelled.
        away = signed_body(TRADER, "create_order", _order("76100"), _now_ms())
        placed = httpx.post(f"{srv.api}/orders/create", json=away).json()["data"]["order_id"]
        cancel = {"symbol": "BTC", "order_id": first["data"]["i"]}
        gone = signed_body(TRADER, "cancel_order", cancel, _now_ms())
        assert httpx.post(f"{srv.api}/orders/cancel", json=gone).status_code == 200

        async with websockets.connect(ws_url(srv)) as ws:
            book_snapshot, orders_snapshot = await subscribe(ws)
            bid_prices = [level["p"] for level in book_snapshot["data"]["l"][0]]
            assert "76100" in bid_prices and "76000" not in bid_prices
            assert [o["i"] for o in orders_snapshot["data"]] == [placed]
            assert orders_snapshot["li"] >= placed and book_snapshot["data"]["li"] >= placed

            pushed: list[dict[str, Any]] = []
            new = await _call(ws, _frame(TRADER, "create_order", _order("76200")), pushed)
            assert new["code"] == 200, new
            seen: dict[str, list[dict[str, Any]]] = {"book": [], "account_orders": [],
                                                     "account_order_updates": []}  # fmt: skip
            while not all(seen.values()):
                message = pushed.pop(0) if pushed else await _recv(ws)
                if message.get("channel") in seen:
                    seen[message["channel"]].append(message)
            # Only what happened after the subscribe: the order placed while away is not
            # replayed as an update, and every push comes after the snapshots in li order.
            (update,) = seen["account_order_updates"][0]["data"]
            assert (update["i"], update["os"]) == (new["data"]["i"], "open")
            assert update["li"] >= new["data"]["i"] > orders_snapshot["li"]
            assert seen["account_orders"][0]["li"] >= update["li"]
            assert seen["book"][0]["data"]["li"] >= new["data"]["i"] > book_snapshot["data"]["li"]
            everything = {"all_symbols": True, "exclude_reduce_only": False}
            done = await _call(ws, _frame(TRADER, "cancel_all_orders", everything))
            assert done["data"] == {"cancelled_count": 2}

    _run(scenario())
