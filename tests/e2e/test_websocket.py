"""WebSocket `/ws` against a real server, with the `websockets` client (issue 14, spec §5,
A8–A10): ping, subscriptions and their pushes, trading operations with the official SDK's
frames (`{"id", "params": {op: flat signed body}}`), error codes, and the connection's closes."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from solders.keypair import Keypair

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

MAKER = keypair(51)
TAKER = keypair(52)
AGENT = keypair(53)


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def srv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server per layout: with `--workers 2` the sockets are the workers' and the session
    logic runs in the engine process (docs/processes.md)."""
    state = tmp_path_factory.mktemp("ws") / "state"
    args = ("--speedbump-ms", "0", *LAYOUTS[request.param])
    with ServerProcess(state, *args, env={"TIDEPOOL_WS_SEND_QUEUE": "8"}) as server:
        for kp in (MAKER, TAKER):
            r = httpx.post(
                f"{server.url}/sandbox/faucet",
                json={"account": str(kp.pubkey()), "amount": "1000000"},
            )
            assert r.status_code == 200, r.text
        yield server


def ws_url(srv: ServerProcess) -> str:
    return srv.url.replace("http://", "ws://") + "/ws"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _frame(kp: Keypair, op: str, payload: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """The official SDK's ws/ scripts' request: a UUID id and the flat signed body."""
    return {"id": str(uuid.uuid4()), "params": {op: signed_body(kp, op, payload, _now_ms(), **kw)}}


def _order(
    price: str, side: str = "bid", tif: str = "ALO", amount: str = "0.001"
) -> dict[str, Any]:
    return {
        "symbol": "BTC",
        "price": price,
        "amount": amount,
        "side": side,
        "tif": tif,
        "reduce_only": False,
        "client_order_id": str(uuid.uuid4()),
    }


async def _recv(ws: Any, channel: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """The next message (of `channel`, skipping others)."""
    while True:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if channel is None or message.get("channel") == channel:
            return message


async def _call(
    ws: Any, frame: dict[str, Any], skipped: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Send a trading request and return its reply; other messages go to `skipped`."""
    await ws.send(json.dumps(frame))
    while True:
        message = await _recv(ws)
        if message.get("id") == frame["id"]:
            return message
        if skipped is not None:
            skipped.append(message)


async def _first_of_each(ws: Any, *channels: str) -> dict[str, dict[str, Any]]:
    """The next message of each channel (channels push independently, in any order)."""
    found: dict[str, dict[str, Any]] = {}
    while len(found) < len(channels):
        message = await _recv(ws)
        if message.get("channel") in channels:
            found.setdefault(message["channel"], message)
    return found


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_json_ping_is_answered_and_unknown_frames_are_ignored(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            for junk in ('{"op":"ping"}', "not json{", "[1,2]", '{"method":"dance"}', "null"):
                await ws.send(junk)
            await ws.send('{"method":"ping"}')
            assert await _recv(ws) == {"channel": "pong"}
            pong = await ws.ping()  # protocol ping
            await asyncio.wait_for(pong, 5)

    _run(scenario())


def test_subscribe_and_unsubscribe_are_acked_with_the_params_as_sent(srv: ServerProcess) -> None:
    params = {"source": "book", "symbol": "BTC", "agg_level": 1}

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"method": "subscribe", "params": params}))
            assert await _recv(ws) == {"channel": "subscribe", "data": params}
            await _recv(ws, "book")  # the snapshot
            await ws.send(json.dumps({"method": "unsubscribe", "params": params}))
            ack = await _recv(ws, "unsubscribe")
            assert ack == {"channel": "unsubscribe", "data": {**params, "data": params}}
            for bad, message in (
                ({"source": "book", "symbol": "DOGE"}, "Unknown symbol: DOGE"),
                ({"source": "book", "symbol": "BTC", "agg_level": 3}, "Invalid agg_level: 3"),
                ({"source": "weather"}, "Unknown source: weather"),
                ({"source": "account_transfers", "account": "x"}, "not modelled yet"),
            ):
                await ws.send(json.dumps({"method": "subscribe", "params": bad}))
                error = await _recv(ws)
                assert error["channel"] == "error" and error["data"]["params"] == bad, error
                assert message in error["data"]["message"]

    _run(scenario())


def test_book_sends_a_snapshot_on_subscribe_and_the_new_book_after_an_order(
    srv: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            params = {"source": "book", "symbol": "BTC", "agg_level": 1}
            await ws.send(json.dumps({"method": "subscribe", "params": params}))
            await ws.send(json.dumps({"method": "subscribe", "params": params}))  # idempotent
            snapshot = await _recv(ws, "book")
            assert set(snapshot["data"]) == {"l", "s", "t", "li"} and snapshot["data"]["s"] == "BTC"
            reply = await _call(ws, _frame(MAKER, "create_order", _order("81234")))
            assert reply["code"] == 200, reply
            for _ in range(5):
                push = await _recv(ws, "book")
                bids = push["data"]["l"][0]
                if any(level["p"] == "81234" for level in bids):
                    break
            else:
                pytest.fail("no book push shows the new order")
            assert push["data"]["li"] >= reply["data"]["i"]
            level = next(level for level in bids if level["p"] == "81234")
            assert level == {"p": "81234", "a": "0.001", "n": 1}

    _run(scenario())


def test_a_cross_pushes_the_taker_fill_on_trades_and_moves_bbo(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with (
            websockets.connect(ws_url(srv)) as ws,
            websockets.connect(ws_url(srv)) as trader,
        ):
            for source in ("trades", "bbo"):
                params = {"source": source, "symbol": "BTC"}
                await ws.send(json.dumps({"method": "subscribe", "params": params}))
                await _recv(ws, "subscribe")
            ask = await _call(trader, _frame(MAKER, "create_order", _order("99000", "ask")))
            assert ask["code"] == 200, ask
            bbo = await _recv(ws, "bbo")
            assert set(bbo["data"]) == {"s", "i", "li", "t", "b", "B", "a", "A"}
            assert bbo["data"]["a"] == "99000" and bbo["data"]["i"] == ask["data"]["i"]
            taker = _order("99000", "bid", "IOC", "0.0004")
            taken = await _call(trader, _frame(TAKER, "create_order", taker))
            assert taken["code"] == 200, taken
            pushes = await _first_of_each(ws, "trades", "bbo")
            (trade,) = pushes["trades"]["data"]
            assert set(trade) == {"h", "s", "a", "p", "d", "tc", "t", "li"}
            assert (trade["s"], trade["a"], trade["p"], trade["d"], trade["tc"]) == (
                "BTC", "0.0004", "99000", "open_long", "normal",
            )  # fmt: skip
            assert trade["li"] >= taken["data"]["i"]
            bbo2 = pushes["bbo"]
            assert bbo2["data"]["A"] == "0.0006" and bbo2["data"]["li"] >= bbo["data"]["li"]
            cancel = {"symbol": "BTC", "order_id": ask["data"]["i"]}
            assert (await _call(trader, _frame(MAKER, "cancel_order", cancel)))["code"] == 200

    _run(scenario())


def test_prices_are_pushed_when_a_mark_moves(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            await ws.send(json.dumps({"method": "subscribe", "params": {"source": "prices"}}))
            await _recv(ws, "subscribe")
            r = httpx.post(f"{srv.url}/sandbox/mark_price", json={"symbol": "SOL", "price": "151"})
            assert r.status_code == 200, r.text
            push = await _recv(ws, "prices")
            rest = httpx.get(f"{srv.api}/info/prices").json()["data"]
            assert [p["symbol"] for p in push["data"]] == [p["symbol"] for p in rest]
            sol = next(p for p in push["data"] if p["symbol"] == "SOL")
            assert sol["mark"] == "151" and set(sol) == set(rest[0])

    _run(scenario())


def test_li_never_decreases_within_a_channel(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            for source in ("trades", "bbo"):
                params = {"source": source, "symbol": "BTC"}
                await ws.send(json.dumps({"method": "subscribe", "params": params}))
            replies, pushes = [], []
            for i in range(5):
                price = str(98000 + i)
                sell = _frame(MAKER, "create_order", _order(price, "ask"))
                replies.append(await _call(ws, sell, pushes))
                buy = _frame(TAKER, "create_order", _order(price, "bid", "IOC", "0.0002"))
                replies.append(await _call(ws, buy, pushes))
            assert all(r["code"] == 200 for r in replies), replies
            cancel_all = {"all_symbols": True, "exclude_reduce_only": False}
            cancelled = await _call(ws, _frame(MAKER, "cancel_all_orders", cancel_all), pushes)
            assert cancelled["code"] == 200
            seen: dict[str, list[int]] = {"trades": [], "bbo": []}
            while len(seen["trades"]) < 5:
                message = pushes.pop(0) if pushes else await _recv(ws)
                if message.get("channel") == "trades":
                    seen["trades"] += [t["li"] for t in message["data"]]
                elif message.get("channel") == "bbo":
                    seen["bbo"].append(message["data"]["li"])
            for lis in seen.values():
                assert lis == sorted(lis), seen

    _run(scenario())


def test_trading_operations_answer_pacificas_success_shapes(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            order = _order("80000")
            frame = _frame(MAKER, "create_order", order)
            created = await _call(ws, frame)
            assert list(created) == ["code", "data", "id", "t", "type"]
            assert created["type"] == "create_order" and created["id"] == frame["id"]
            assert created["data"]["I"] == order["client_order_id"]
            assert created["data"]["s"] == "BTC" and isinstance(created["data"]["i"], int)
            edit = {"symbol": "BTC", "order_id": created["data"]["i"], "price": "80001"}
            edited = await _call(ws, _frame(MAKER, "edit_order", edit))
            assert edited["code"] == 200 and edited["data"]["i"] > created["data"]["i"], edited
            by_cloid = {"symbol": "BTC", "client_order_id": order["client_order_id"]}
            cancelled = await _call(ws, _frame(MAKER, "cancel_order", by_cloid))
            assert cancelled["code"] == 200, cancelled
            assert cancelled["data"] == {"I": order["client_order_id"], "i": None, "s": "BTC"}
            open_orders = httpx.get(f"{srv.api}/orders", params={"account": str(MAKER.pubkey())})
            assert open_orders.json()["data"] == []

            for price in ("70000", "70001"):
                assert (await _call(ws, _frame(MAKER, "create_order", _order(price))))[
                    "code"
                ] == 200
            everything = {"all_symbols": True, "exclude_reduce_only": False}
            done = await _call(ws, _frame(MAKER, "cancel_all_orders", everything))
            assert done["code"] == 200 and done["data"] == {"cancelled_count": 2}, done

            resting = await _call(ws, _frame(MAKER, "create_order", _order("101000", "ask")))
            market = {
                "symbol": "BTC", "amount": "0.0003", "side": "bid", "slippage_percent": "5",
                "reduce_only": False, "client_order_id": str(uuid.uuid4()),
            }  # fmt: skip
            bought = await _call(ws, _frame(TAKER, "create_market_order", market))
            assert bought["code"] == 200 and bought["type"] == "create_market_order", bought
            assert bought["data"]["I"] == market["client_order_id"]
            cancel = {"symbol": "BTC", "order_id": resting["data"]["i"]}
            assert (await _call(ws, _frame(MAKER, "cancel_order", cancel)))["code"] == 200

    _run(scenario())


def test_batch_orders_over_ws_answers_one_result_per_action(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            good, small = _order("60000"), _order("60000", amount="0.00001")
            actions = [
                {"type": "Create", "data": signed_body(MAKER, "create_order", good, _now_ms())},
                {"type": "Create", "data": signed_body(MAKER, "create_order", small, _now_ms())},
            ]
            frame = {"id": str(uuid.uuid4()), "params": {"batch_orders": {"actions": actions}}}
            reply = await _call(ws, frame)
            assert reply["code"] == 200 and reply["type"] == "batch_orders", reply
            first, second = reply["data"]["results"]
            assert first["success"] is True and first["error"] is None
            assert first["i"] == first["order_id"] and isinstance(first["i"], int)
            assert first["I"] == first["client_order_id"] == good["client_order_id"]
            assert first["symbol"] == "BTC"
            assert second["success"] is False and second["order_id"] is None
            assert second["error"] and second["I"] == small["client_order_id"]
            cancel = {"symbol": "BTC", "order_id": first["i"]}
            assert (await _call(ws, _frame(MAKER, "cancel_order", cancel)))["code"] == 200

    _run(scenario())


def test_trading_errors_carry_the_ws_codes_and_echo_id_and_type(srv: ServerProcess) -> None:
    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            forged = _frame(MAKER, "create_order", _order("80000"))
            forged["params"]["create_order"]["price"] = "80001"  # not what was signed
            reply = await _call(ws, forged)
            assert list(reply) == ["id", "type", "code", "err", "t"]
            assert (reply["code"], reply["type"]) == (401, "create_order")
            assert reply["err"].startswith("Verification failed"), reply

            too_small = await _call(
                ws, _frame(MAKER, "create_order", _order("80000", amount="0.00001"))
            )
            assert too_small["code"] == 420 and too_small["err"], too_small

            gone = {"symbol": "BTC", "order_id": 987654321}
            not_open = await _call(ws, _frame(MAKER, "cancel_order", gone))
            assert (not_open["code"], not_open["err"]) == (420, "Order not found")

            by_agent = _frame(
                AGENT, "create_order", _order("80000"),
                account=str(MAKER.pubkey()), agent_wallet=str(AGENT.pubkey()),
            )  # fmt: skip
            unbound = await _call(ws, by_agent)
            assert (unbound["code"], unbound["err"]) == (403, "Agent not authorized for account")

            not_a_key = _frame(MAKER, "create_order", _order("80000"), account="not-a-key")
            invalid_signer = await _call(ws, not_a_key)
            assert (invalid_signer["code"], invalid_signer["err"]) == (402, "Invalid public key")

            for params, expected in (
                ({"create_order": {"symbol": "BTC"}}, "Invalid parameters"),
                ({"create_order": "not an object"}, "Invalid request"),
                ({"create_stop_order": {}}, "unknown operation"),
            ):
                frame = {"id": "req-1", "params": params}
                reply = await _call(ws, frame)
                assert reply["code"] == 400 and reply["id"] == "req-1", reply
                assert reply["type"] == next(iter(params)) and expected in reply["err"]

    _run(scenario())


def test_an_agent_bound_over_rest_trades_over_ws(srv: ServerProcess) -> None:
    """The SDK's ws/create_market_order_agent_wallet.py flow, with a limit order."""
    bind = signed_body(MAKER, "bind_agent_wallet", {"agent_wallet": str(AGENT.pubkey())}, _now_ms())
    assert httpx.post(f"{srv.api}/agent/bind", json=bind).status_code == 200

    async def scenario() -> None:
        async with websockets.connect(ws_url(srv)) as ws:
            frame = _frame(
                AGENT, "create_order", _order("50000"),
                account=str(MAKER.pubkey()), agent_wallet=str(AGENT.pubkey()),
            )  # fmt: skip
            reply = await _call(ws, frame)
            assert reply["code"] == 200, reply
            cancel = {"symbol": "BTC", "order_id": reply["data"]["i"]}
            assert (await _call(ws, _frame(MAKER, "cancel_order", cancel)))["code"] == 200

    _run(scenario())


def test_a_subscriber_that_does_not_read_is_closed_with_1008(srv: ServerProcess) -> None:
    async def scenario() -> None:
        # A small receive buffer and queue: the server's side fills after ~200 KB of pushes.
        host, port = srv.url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        async with websockets.connect(ws_url(srv), sock=sock, max_queue=1) as slow:
            await slow.send(json.dumps({"method": "subscribe", "params": {"source": "prices"}}))
            async with (
                websockets.connect(ws_url(srv)) as healthy,
                httpx.AsyncClient(base_url=srv.url) as client,
            ):
                for i in range(800):  # ~700 KB of prices pushes
                    mark = {"symbol": "ETH", "price": str(3000 + i % 7)}
                    assert (await client.post("/sandbox/mark_price", json=mark)).status_code == 200
                await healthy.send('{"method":"ping"}')
                assert await _recv(healthy) == {"channel": "pong"}
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(slow.recv(), 10)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "slow consumer")

    _run(scenario())


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_silent_connection_is_closed_with_1000_and_a_talking_one_is_kept(
    tmp_path: Path, layout: str
) -> None:
    idle = {"TIDEPOOL_WS_IDLE_S": "1"}
    with ServerProcess(tmp_path / "state", *LAYOUTS[layout], env=idle) as srv:

        async def scenario() -> None:
            async with (
                websockets.connect(ws_url(srv), ping_interval=None) as silent,
                websockets.connect(ws_url(srv), ping_interval=0.3) as pinging,
            ):
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(silent.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
                await pinging.send('{"method":"ping"}')  # protocol pings kept it open
                assert await _recv(pinging) == {"channel": "pong"}

        _run(scenario())
