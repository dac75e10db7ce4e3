"""WebSocket account channels and candles against a real server (issue 14, spec §5.2, §5.3,
§5.5, A8): snapshots on subscribe, one `account_order_updates` item per order change, the short
keys Hummingbot and ccxt.pro read, and `li` ordering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets
from solders.keypair import Keypair
from test_websocket import _call, _frame, _now_ms, _order, _recv, _run, ws_url

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

ORDER_UPDATE_KEYS = {
    "i", "I", "u", "s", "d", "p", "ip", "lp", "a", "f", "oe", "os", "ot", "sp", "si", "r",
    "ct", "ut", "li",
}  # fmt: skip
OPEN_ORDER_KEYS = {"i", "I", "s", "d", "p", "a", "f", "c", "t", "st", "ot", "sp", "ro"}
POSITION_KEYS = {"s", "d", "a", "p", "m", "f", "i", "l", "t"}
INFO_KEYS = {"ae", "as", "aw", "b", "f", "mu", "cm", "oc", "pb", "pc", "sc", "sb", "t"}
TRADE_KEYS = {"h", "i", "I", "u", "s", "p", "o", "a", "te", "ts", "tc", "f", "n", "t", "li", "it"}
CANDLE_KEYS = {"t", "T", "s", "i", "o", "c", "h", "l", "v", "n"}

_next_key = iter(range(60, 250))


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def srv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("wsacct") / "state"
    with ServerProcess(state, "--speedbump-ms", "0", *LAYOUTS[request.param]) as server:
        yield server


def _funded(srv: ServerProcess) -> Keypair:
    """A fresh account with collateral: each test trades on its own accounts. Bids left resting
    are below 80000 and asks at 80000 or above, so no test trades with another's orders."""
    kp = keypair(next(_next_key))
    faucet = {"account": str(kp.pubkey()), "amount": "1000000"}
    assert httpx.post(f"{srv.url}/sandbox/faucet", json=faucet).status_code == 200
    return kp


async def _next(ws: Any, pushed: list[dict[str, Any]]) -> dict[str, Any]:
    """The next message: first those a `_call` set aside while it waited for its reply."""
    return pushed.pop(0) if pushed else await _recv(ws)


async def _subscribe(ws: Any, **params: Any) -> None:
    await ws.send(json.dumps({"method": "subscribe", "params": params}))
    ack = await _recv(ws, "subscribe")
    assert ack["data"] == params


def test_state_channels_send_a_snapshot_on_subscribe(srv: ServerProcess) -> None:
    kp = _funded(srv)
    account = str(kp.pubkey())

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            placed = await _call(ws, _frame(kp, "create_order", _order("70000")))
            assert placed["code"] == 200, placed
            await _subscribe(ws, source="account_orders", account=account)
            orders = await _recv(ws, "account_orders")
            (order,) = orders["data"]
            assert set(order) == OPEN_ORDER_KEYS and orders["li"] >= placed["data"]["i"]
            assert (order["i"], order["s"], order["d"], order["p"], order["a"], order["f"]) == (
                placed["data"]["i"], "BTC", "bid", "70000", "0.001", "0",
            )  # fmt: skip
            assert (order["ot"], order["sp"], order["ro"], order["c"]) == (
                "limit", None, False, "0",
            )  # fmt: skip
            await _subscribe(ws, source="account_positions", account=account)
            positions = await _recv(ws, "account_positions")
            assert positions["data"] == [] and positions["li"] >= orders["li"]
            await _subscribe(ws, source="account_info", account=account)
            info = (await _recv(ws, "account_info"))["data"]
            rest = httpx.get(f"{srv.api}/account", params={"account": account}).json()["data"]
            assert set(info) == INFO_KEYS
            assert (info["b"], info["ae"], info["as"], info["oc"], info["pc"]) == (
                rest["balance"], rest["account_equity"], rest["available_to_spend"], 1, 0,
            )  # fmt: skip

    _run(scenario())


def test_a_cancel_all_pushes_one_cancelled_update_per_order(srv: ServerProcess) -> None:
    kp = _funded(srv)
    account = str(kp.pubkey())

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            await _subscribe(ws, source="account_order_updates", account=account)
            await _subscribe(ws, source="account_orders", account=account)
            await _recv(ws, "account_orders")  # the empty snapshot
            ids = []
            pushed: list[dict[str, Any]] = []
            for price in ("71000", "71001", "71002"):
                placed = await _call(ws, _frame(kp, "create_order", _order(price)), pushed)
                ids.append(placed["data"]["i"])
            everything = {"all_symbols": True, "exclude_reduce_only": False}
            done = await _call(ws, _frame(kp, "cancel_all_orders", everything), pushed)
            assert done["data"] == {"cancelled_count": 3}
            updates: list[dict[str, Any]] = []
            snapshots: list[dict[str, Any]] = []
            while len(updates) < 6 or not snapshots or snapshots[-1]["data"]:
                message = await _next(ws, pushed)
                if message["channel"] == "account_order_updates":
                    updates += message["data"]
                elif message["channel"] == "account_orders":
                    snapshots.append(message)
            assert all(set(u) == ORDER_UPDATE_KEYS for u in updates)
            assert [(u["i"], u["oe"], u["os"]) for u in updates] == [
                *((i, "make", "open") for i in ids),
                *((i, "cancel", "cancelled") for i in ids),
            ]
            for u in updates[3:]:
                unfilled = ("0.001", "0", "0", None, account)
                assert (u["a"], u["f"], u["p"], u["lp"], u["u"]) == unfilled
                assert u["ct"] <= u["ut"] and u["li"] >= ids[-1]
            lis = [u["li"] for u in updates] + [s["li"] for s in snapshots]
            assert [u["li"] for u in updates] == sorted(u["li"] for u in updates), lis
            assert [s["li"] for s in snapshots] == sorted(s["li"] for s in snapshots), lis

    _run(scenario())


def test_a_taker_filling_three_makers_pushes_three_updates_and_three_trades(
    srv: ServerProcess,
) -> None:
    maker, taker = _funded(srv), _funded(srv)
    account = str(taker.pubkey())

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            for source in ("account_order_updates", "account_trades"):
                await _subscribe(ws, source=source, account=account)
            await _subscribe(ws, source="account_positions", account=account)
            assert (await _recv(ws, "account_positions"))["data"] == []
            pushed: list[dict[str, Any]] = []
            for price in ("80000", "80010", "80020"):
                ask = _order(price, "ask", amount="0.001")
                assert (await _call(ws, _frame(maker, "create_order", ask), pushed))["code"] == 200
            bid = _order("80020", "bid", "IOC", "0.003")
            taken = await _call(ws, _frame(taker, "create_order", bid), pushed)
            assert taken["code"] == 200, taken
            updates: list[dict[str, Any]] = []
            trades: list[dict[str, Any]] = []
            position = None
            while len(updates) < 3 or len(trades) < 3 or position is None:
                message = await _next(ws, pushed)
                if message["channel"] == "account_order_updates":
                    updates += message["data"]
                elif message["channel"] == "account_trades":
                    trades += message["data"]
                elif message["channel"] == "account_positions" and message["data"]:
                    position = message
            assert [(u["f"], u["lp"], u["oe"], u["os"]) for u in updates] == [
                ("0.001", "80000", "fulfill_limit", "partially_filled"),
                ("0.002", "80010", "fulfill_limit", "partially_filled"),
                ("0.003", "80020", "fulfill_limit", "filled"),
            ]
            assert [u["p"] for u in updates] == ["80000", "80005", "80010"]
            assert {u["ip"] for u in updates} == {"80020"} and {u["i"] for u in updates} == {
                taken["data"]["i"]
            }
            assert all(set(t) == TRADE_KEYS for t in trades), trades
            assert [(t["p"], t["a"], t["te"], t["ts"], t["it"]) for t in trades] == [
                (p, "0.001", "fulfill_taker", "open_long", 0) for p in ("80000", "80010", "80020")
            ]
            history = httpx.get(f"{srv.api}/trades/history", params={"account": account})
            rest = {f["history_id"]: f for f in history.json()["data"]}
            for t in trades:
                assert (t["f"], t["n"], t["o"]) == (
                    rest[t["h"]]["fee"],
                    rest[t["h"]]["pnl"],
                    rest[t["h"]]["entry_price"],
                )
            (held,) = position["data"]
            assert set(held) == POSITION_KEYS
            assert (held["s"], held["d"], held["a"], held["p"]) == ("BTC", "bid", "0.003", "80010")

    _run(scenario())


def _signed_post(srv: ServerProcess, kp: Keypair, op: str, path: str, payload: Any) -> None:
    body = signed_body(kp, op, payload, _now_ms())
    r = httpx.post(f"{srv.api}{path}", json=body)
    assert r.status_code == 200, r.text


def test_leverage_and_margin_mode_changes_are_pushed_on_their_channels(
    srv: ServerProcess,
) -> None:
    kp = _funded(srv)
    account = str(kp.pubkey())

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            for source in ("account_leverage", "account_margin"):
                await _subscribe(ws, source=source, account=account)
            leverage = {"symbol": "BTC", "leverage": 5}
            _signed_post(srv, kp, "update_leverage", "/account/leverage", leverage)
            pushed = await _recv(ws, "account_leverage")
            assert pushed["data"]["u"] == account and set(pushed["data"]) == {"u", "t", "s", "l"}
            assert (pushed["data"]["s"], pushed["data"]["l"]) == ("BTC", 5)
            margin = {"symbol": "BTC", "is_isolated": True}
            _signed_post(srv, kp, "update_margin_mode", "/account/margin", margin)
            pushed = await _recv(ws, "account_margin")
            assert set(pushed["data"]) == {"u", "t", "s", "i"} and pushed["data"]["i"] is True

    _run(scenario())


def test_candles_are_pushed_on_trades_and_mark_candles_on_mark_changes(
    srv: ServerProcess,
) -> None:
    maker, taker = _funded(srv), _funded(srv)

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            await _subscribe(ws, source="candle", symbol="ETH", interval="1m")
            await _subscribe(ws, source="mark_price_candle", symbol="ETH", interval="1h")
            sizes = []
            for price in ("3400", "3410"):
                pushed: list[dict[str, Any]] = []
                ask = {**_order(price, "ask", amount="0.01"), "symbol": "ETH"}
                assert (await _call(ws, _frame(maker, "create_order", ask), pushed))["code"] == 200
                bid = {**_order(price, "bid", "IOC", "0.01"), "symbol": "ETH"}
                assert (await _call(ws, _frame(taker, "create_order", bid), pushed))["code"] == 200
                while (message := await _next(ws, pushed))["channel"] != "candle":
                    pass
                candle = message["data"]
                assert set(candle) == CANDLE_KEYS and (candle["s"], candle["i"]) == ("ETH", "1m")
                assert candle["T"] - candle["t"] == 60_000 and candle["c"] == price
                sizes.append((candle["t"], candle["n"], Decimal(candle["v"])))
            if sizes[0][0] == sizes[1][0]:  # both in the same minute
                one_more = (sizes[0][1] + 1, sizes[0][2] + Decimal("0.01"))
                assert (sizes[1][1], sizes[1][2]) == one_more
                rest = httpx.get(
                    f"{srv.api}/kline",
                    params={"symbol": "ETH", "interval": "1m", "start_time": candle["t"]},
                ).json()["data"]
                assert rest[0] == candle
            for mark in ("3300", "3600"):
                moved = {"symbol": "ETH", "price": mark}
                r = httpx.post(f"{srv.url}/sandbox/mark_price", json=moved)
                assert r.status_code == 200, r.text
                marked = (await _recv(ws, "mark_price_candle"))["data"]
                assert set(marked) == CANDLE_KEYS and marked["v"] == "0" and marked["c"] == mark
            assert (marked["h"], marked["l"], marked["n"]) == ("3600", "3300", 2)

    _run(scenario())


def test_account_and_candle_subscriptions_reject_bad_params(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            for bad, message in (
                ({"source": "account_orders"}, "Invalid account"),
                ({"source": "account_trades", "account": 7}, "Invalid account"),
                ({"source": "candle", "symbol": "BTC", "interval": "7m"}, "Invalid interval"),
                ({"source": "mark_price_candle", "symbol": "X", "interval": "1m"}, "Unknown"),
            ):
                await ws.send(json.dumps({"method": "subscribe", "params": bad}))
                error = await _recv(ws)
                assert error["channel"] == "error" and message in error["data"]["message"], error

    _run(scenario())


def test_unsubscribing_an_account_channel_stops_its_pushes(srv: ServerProcess) -> None:
    kp = _funded(srv)
    account = str(kp.pubkey())

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            params = {"source": "account_order_updates", "account": account}
            await _subscribe(ws, **params)
            await ws.send(json.dumps({"method": "unsubscribe", "params": params}))
            await _recv(ws, "unsubscribe")
            pushed: list[dict[str, Any]] = []
            await _call(ws, _frame(kp, "create_order", _order("70500")), pushed)
            await ws.send('{"method":"ping"}')
            assert await _next(ws, pushed) == {"channel": "pong"}  # nothing pushed before it

    _run(scenario())


def test_account_info_is_pushed_when_a_mark_move_changes_the_equity(srv: ServerProcess) -> None:
    maker, holder = _funded(srv), _funded(srv)
    account = str(holder.pubkey())

    def move(symbol: str, price: str) -> None:
        r = httpx.post(f"{srv.url}/sandbox/mark_price", json={"symbol": symbol, "price": price})
        assert r.status_code == 200, r.text

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            move("SOL", "150")
            pushed: list[dict[str, Any]] = []
            ask = {**_order("150", "ask", amount="1"), "symbol": "SOL"}
            assert (await _call(ws, _frame(maker, "create_order", ask), pushed))["code"] == 200
            bid = {**_order("150", "bid", "IOC", "1"), "symbol": "SOL"}
            assert (await _call(ws, _frame(holder, "create_order", bid), pushed))["code"] == 200
            await _subscribe(ws, source="account_info", account=account)
            before = (await _recv(ws, "account_info"))["data"]
            assert before["pc"] == 1
            move("ETH", "3456")  # no position there: the account's values stay
            move("SOL", "160")
            after = (await _recv(ws, "account_info"))["data"]
            # The first push after the two moves is the SOL one: ETH's pushed nothing.
            assert Decimal(after["ae"]) - Decimal(before["ae"]) == Decimal("10")
            rest = httpx.get(f"{srv.api}/account", params={"account": account}).json()["data"]
            assert (after["ae"], after["as"], after["aw"], after["b"]) == (
                rest["account_equity"], rest["available_to_spend"],
                rest["available_to_withdraw"], rest["balance"],
            )  # fmt: skip

    _run(scenario())
