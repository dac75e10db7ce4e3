"""ccxt.pro's `pacifica` class over WebSocket, unchanged but for its test URLs, against a real
server: order book, trades, tickers, orders, own trades and candles streams with their
`un_watch_*`, and orders created, edited and cancelled (one, several, all) over the socket."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import ccxt.pro
import httpx
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from test_ccxt import _ccxt_safe_keypair

from server_process import ServerProcess

pytestmark = pytest.mark.e2e

BTC = "BTC/USDC:USDC"
ETH = "ETH/USDC:USDC"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state: Path = tmp_path_factory.mktemp("ccxtpro") / "state"
    with ServerProcess(state, "--speedbump-ms", "0") as srv:
        yield srv


def _exchange(server: ServerProcess) -> Any:
    kp = _ccxt_safe_keypair()
    account = str(kp.pubkey())
    faucet = {"account": account, "amount": "100000"}
    assert requests.post(f"{server.url}/sandbox/faucet", json=faucet, timeout=5).ok
    ex = ccxt.pro.pacifica(
        {"privateKey": str(kp), "walletAddress": account, "enableRateLimit": False}
    )
    ex.set_sandbox_mode(True)
    ws = server.url.replace("http://", "ws://") + "/ws"
    ex.urls["test"] = {"public": server.url, "private": server.url, "ws": {"public": ws}}
    return ex


def _ws_client(ex: Any) -> Any:
    """ccxt.pro's connection object for the server's /ws (one per URL)."""
    return ex.clients[ex.urls["test"]["ws"]["public"]]


def _open_orders(server: ServerProcess, ex: Any) -> dict[int, dict[str, Any]]:
    reply = requests.get(f"{server.api}/orders", params={"account": ex.walletAddress}, timeout=5)
    return {order["order_id"]: order for order in reply.json()["data"]}


async def _subscriptions(server: ServerProcess) -> int:
    """The server's count of channel subscriptions (GET /metrics)."""
    async with httpx.AsyncClient(timeout=5) as http:
        scrape = (await http.get(f"{server.url}/metrics")).text
    for family in text_string_to_metric_families(scrape):
        if family.name == "tidepool_ws_subscriptions":
            return int(family.samples[0].value)
    raise AssertionError("no tidepool_ws_subscriptions gauge")


async def _subscribed(server: ServerProcess, count: int) -> None:
    """Wait until the server holds `count` subscriptions: a watch sends its subscribe when it
    starts, and what happens on another connection before the server has it is not pushed."""
    for _ in range(1500):  # up to 30 s on a loaded machine
        if await _subscriptions(server) >= count:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"the server never held {count} subscriptions")


async def _until(watch: asyncio.Future[Any], trigger: Callable[[], Awaitable[None]]) -> Any:
    """What `watch` resolves to, firing `trigger` until it does: ccxt.pro sends the subscribe
    when the watch starts, and a trigger fired before the server has it is not pushed."""
    for _ in range(150):  # up to 30 s on a loaded machine
        await trigger()
        done, _ = await asyncio.wait({watch}, timeout=0.2)
        if done:
            return watch.result()
    watch.cancel()
    pytest.fail("the watch never resolved")


def test_watch_order_book_and_trades_follow_orders_placed_over_ws(server: ServerProcess) -> None:
    async def scenario() -> None:
        maker, taker = _exchange(server), _exchange(server)
        try:
            await maker.load_markets()
            await taker.load_markets()
            book = await maker.watch_order_book(BTC)
            assert book["symbol"] == BTC
            order = await maker.create_order_ws(BTC, "limit", "sell", 0.001, 104000)
            assert order["id"] is not None and order["status"] == "open"
            for _ in range(10):
                book = await maker.watch_order_book(BTC)
                if [104000, 0.001] in [list(level[:2]) for level in book["asks"]]:
                    break
            else:
                pytest.fail(f"the ask never showed: {book['asks']}")
            held = await _subscriptions(server)
            trades_task = asyncio.ensure_future(maker.watch_trades(BTC))
            await _subscribed(server, held + 1)
            await taker.create_order_ws(BTC, "limit", "buy", 0.0004, 104000, {"timeInForce": "IOC"})
            trades = await asyncio.wait_for(trades_task, 10)
            assert trades[-1]["price"] == 104000 and trades[-1]["amount"] == 0.0004
            cancelled = await maker.cancel_order_ws(order["id"], BTC)
            assert cancelled["id"] == order["id"]
            await maker.un_watch_order_book(BTC)
            await maker.un_watch_trades(BTC)
        finally:
            await maker.close()
            await taker.close()

    asyncio.run(scenario())


def test_watch_orders_my_trades_and_ohlcv_follow_a_trade(server: ServerProcess) -> None:
    async def scenario() -> None:
        maker, taker = _exchange(server), _exchange(server)
        try:
            await maker.load_markets()
            await taker.load_markets()
            held = await _subscriptions(server)
            orders = asyncio.ensure_future(maker.watch_orders(BTC))
            mine = asyncio.ensure_future(taker.watch_my_trades(BTC))
            candles = asyncio.ensure_future(taker.watch_ohlcv(BTC, "1m"))
            await _subscribed(server, held + 3)
            ask = await maker.create_order_ws(BTC, "limit", "sell", 0.001, 103000)
            (opened,) = await asyncio.wait_for(orders, 10)
            assert (opened["id"], opened["status"], opened["amount"]) == (ask["id"], "open", 0.001)
            # Each watch is waiting before the order that answers it is sent: ccxt.pro resolves
            # the watch that is pending when the push arrives.
            filling = asyncio.ensure_future(maker.watch_orders(BTC))
            await asyncio.sleep(0.1)
            await taker.create_order_ws(BTC, "limit", "buy", 0.0004, 103000, {"timeInForce": "IOC"})
            filled = (await asyncio.wait_for(filling, 10))[-1]
            assert (filled["id"], filled["status"], filled["filled"]) == (ask["id"], "open", 0.0004)
            assert filled["average"] == 103000
            trades = await asyncio.wait_for(mine, 10)
            assert (trades[-1]["price"], trades[-1]["amount"], trades[-1]["side"]) == (
                103000, 0.0004, "buy",
            )  # fmt: skip
            ohlcv = await asyncio.wait_for(candles, 10)
            assert ohlcv[-1][4] == 103000 and ohlcv[-1][5] >= 0.0004
            cancelling = asyncio.ensure_future(maker.watch_orders(BTC))
            await asyncio.sleep(0.1)
            await maker.cancel_order_ws(ask["id"], BTC)
            cancelled = (await asyncio.wait_for(cancelling, 10))[-1]
            assert (cancelled["id"], cancelled["status"]) == (ask["id"], "canceled")
            await maker.un_watch_orders()
            await taker.un_watch_my_trades()
            await taker.un_watch_ohlcv(BTC, "1m")
        finally:
            await maker.close()
            await taker.close()

    asyncio.run(scenario())


def test_watch_ticker_and_watch_tickers_follow_mark_moves_and_un_watch_tickers_resolves(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        ex = _exchange(server)
        marks = iter(range(3501, 3700))
        try:
            await ex.load_markets()
            async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
                moved: list[str] = []

                async def move_eth() -> None:
                    moved.append(str(next(marks)))
                    mark = {"symbol": "ETH", "price": moved[-1]}
                    assert (await http.post("/sandbox/mark_price", json=mark)).status_code == 200

                ticker = await _until(asyncio.ensure_future(ex.watch_ticker(ETH)), move_eth)
                assert ticker["symbol"] == ETH and ticker["info"]["symbol"] == "ETH"
                assert ticker["info"]["mark"] in moved and ticker["last"] == float(
                    ticker["info"]["mark"]
                )
                assert isinstance(ticker["timestamp"], int)
                tickers = await _until(
                    asyncio.ensure_future(ex.watch_tickers([BTC, ETH])), move_eth
                )
                assert set(tickers) == {BTC, ETH}
                assert tickers[ETH]["info"]["mark"] == moved[-1]
                rest = (await http.get("/api/v1/info/prices")).json()["data"]
                btc = next(item for item in rest if item["symbol"] == "BTC")
                assert tickers[BTC]["info"]["mark"] == btc["mark"]
            assert await asyncio.wait_for(ex.un_watch_tickers(), 10) is True
            assert "tickers" not in _ws_client(ex).subscriptions
        finally:
            await ex.close()

    asyncio.run(scenario())


def test_edit_order_ws_replaces_an_order_by_id_and_by_client_order_id(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        ex = _exchange(server)
        try:
            await ex.load_markets()
            placed = await ex.create_order_ws(BTC, "limit", "buy", 0.001, 91000)
            edited = await ex.edit_order_ws(placed["id"], BTC, "limit", "buy", 0.002, 91001)
            assert edited["status"] == "open" and int(edited["id"]) > int(placed["id"])
            assert edited["info"]["type"] == "edit_order"
            orders = _open_orders(server, ex)
            assert list(orders) == [int(edited["id"])]
            moved = orders[int(edited["id"])]
            assert (moved["price"], moved["initial_amount"]) == ("91001", "0.002")

            cloid = str(uuid.uuid4())
            named = await ex.create_order_ws(
                BTC, "limit", "buy", 0.001, 91100, {"clientOrderId": cloid}
            )
            again = await ex.edit_order_ws(
                None, BTC, "limit", "buy", 0.001, 91101, {"clientOrderId": cloid}
            )
            assert again["clientOrderId"] == cloid and int(again["id"]) > int(named["id"])
            assert _open_orders(server, ex)[int(again["id"])]["price"] == "91101"

            with pytest.raises(ccxt.BaseError):  # the spec's 420: nothing open to edit
                await ex.edit_order_ws(placed["id"], BTC, "limit", "buy", 0.001, 91002)
            await ex.cancel_all_orders_ws(BTC)
        finally:
            await ex.close()

    asyncio.run(scenario())


def test_cancel_orders_ws_cancels_by_ids_and_client_ids_and_flags_an_order_not_open(
    server: ServerProcess,
) -> None:
    async def scenario() -> None:
        ex = _exchange(server)
        try:
            await ex.load_markets()
            by_id = [
                await ex.create_order_ws(BTC, "limit", "buy", 0.001, p) for p in (92000, 92001)
            ]
            cloid = str(uuid.uuid4())
            named = await ex.create_order_ws(
                BTC, "limit", "buy", 0.001, 92002, {"clientOrderId": cloid}
            )
            ids = [order["id"] for order in by_id]
            cancelled = await ex.cancel_orders_ws(ids, BTC, {"clientOrderIds": [cloid]})
            assert [(o["id"], o["clientOrderId"], o["status"], o["symbol"]) for o in cancelled] == [
                (ids[0], None, "canceled", BTC),
                (ids[1], None, "canceled", BTC),
                (named["id"], cloid, "canceled", BTC),  # a batch result names the order
            ]
            assert _open_orders(server, ex) == {}
            (gone,) = await ex.cancel_orders_ws([ids[0]], BTC)  # already cancelled
            assert gone["status"] == "closed"
            assert gone["info"]["data"]["results"][0]["error"] == "Order not found"
        finally:
            await ex.close()

    asyncio.run(scenario())


def test_cancel_all_orders_ws_cancels_one_market_or_every_market(server: ServerProcess) -> None:
    async def scenario() -> None:
        ex = _exchange(server)
        try:
            await ex.load_markets()
            for symbol, price in ((BTC, 93000), (BTC, 93001), (ETH, 3000)):
                await ex.create_order_ws(
                    symbol, "limit", "buy", 0.01 if symbol == ETH else 0.001, price
                )
            (btc_only,) = await ex.cancel_all_orders_ws(BTC)
            assert btc_only["info"]["code"] == 200
            assert btc_only["info"]["data"] == {"cancelled_count": 2}
            assert [o["symbol"] for o in _open_orders(server, ex).values()] == ["ETH"]
            (everything,) = await ex.cancel_all_orders_ws()
            assert everything["info"]["data"] == {"cancelled_count": 1}
            assert _open_orders(server, ex) == {}
        finally:
            await ex.close()

    asyncio.run(scenario())
