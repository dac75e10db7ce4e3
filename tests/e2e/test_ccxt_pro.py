"""ccxt.pro's `pacifica` class over WebSocket, unchanged but for its test URLs, against a real
server: order book and trades streams, and orders created and cancelled over the socket."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt.pro
import pytest
import requests
from test_ccxt import _ccxt_safe_keypair

from server_process import ServerProcess

pytestmark = pytest.mark.e2e

BTC = "BTC/USDC:USDC"


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
            trades_task = asyncio.ensure_future(maker.watch_trades(BTC))
            await asyncio.sleep(0.2)  # the subscription is in place before the trade
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
            orders = asyncio.ensure_future(maker.watch_orders(BTC))
            mine = asyncio.ensure_future(taker.watch_my_trades(BTC))
            candles = asyncio.ensure_future(taker.watch_ohlcv(BTC, "1m"))
            await asyncio.sleep(0.3)  # the subscriptions are in place before the orders
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
