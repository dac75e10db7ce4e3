"""The request flows of Pacifica's official Python SDK, with only the base URL changed.

REST (rest/create_limit_order.py, cancel_order.py, cancel_all_orders.py, api_agent_keys.py):
solders Keypair, its sign_message recipe, `requests.post(url, json=body)`.

WebSocket (ws/create_limit_order.py, create_market_order.py,
create_market_order_agent_wallet.py, cancel_order.py, cancel_all_orders.py, subscribe_prices.py):
`websockets.connect(WS_URL, ping_interval=30)`, one frame `{"id": uuid4, "params": {op: flat
signed body}}` (header `expiry_window` 5000, the time in ms), and the script reads the first
frame the server sends; subscribe_prices.py reads every frame. The frames are built here with
tidepool.pacifica's signing, which signs what the SDK's common/utils.py signs.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
import requests
import websockets
from solders.keypair import Keypair

from server_process import ServerProcess
from tidepool import pacifica

pytestmark = pytest.mark.e2e


def sort_json_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: sort_json_keys(value[key]) for key in sorted(value.keys())}
    if isinstance(value, list):
        return [sort_json_keys(item) for item in value]
    return value


def sign_message(
    header: dict[str, Any], payload: dict[str, Any], keypair: Keypair
) -> tuple[str, str]:
    data = {**header, "data": payload}
    message = json.dumps(sort_json_keys(data), separators=(",", ":"))
    return message, str(keypair.sign_message(message.encode("utf-8")))


def post(
    api: str,
    path: str,
    op_type: str,
    keypair: Keypair,
    payload: dict[str, Any],
    account: str | None = None,
    agent: Keypair | None = None,
) -> requests.Response:
    signer = agent or keypair
    header = {"timestamp": int(time.time() * 1_000), "expiry_window": 5_000, "type": op_type}
    _, signature = sign_message(header, payload, signer)
    request_header = {
        "account": account or str(keypair.pubkey()),
        "agent_wallet": str(agent.pubkey()) if agent else None,
        "signature": signature,
        "timestamp": header["timestamp"],
        "expiry_window": header["expiry_window"],
    }
    body = {**request_header, **payload}
    return requests.post(
        f"{api}{path}", json=body, headers={"Content-Type": "application/json"}, timeout=10
    )


def test_limit_order_cancel_and_cancel_all(server: ServerProcess) -> None:
    keypair = Keypair()
    account = str(keypair.pubkey())
    assert requests.post(
        f"{server.url}/sandbox/faucet", json={"account": account, "amount": "50000"}, timeout=5
    ).ok
    orders = []
    for price in ("90000", "90001", "90002"):
        payload = {
            "symbol": "BTC",
            "price": price,
            "reduce_only": False,
            "amount": "0.001",
            "side": "bid",
            "tif": "GTC",
            "client_order_id": str(uuid.uuid4()),
        }
        r = post(server.api, "/orders/create", "create_order", keypair, payload)
        assert r.status_code == 200, r.text
        orders.append((r.json()["data"]["order_id"], payload["client_order_id"]))
    r = post(
        server.api,
        "/orders/cancel",
        "cancel_order",
        keypair,
        {"symbol": "BTC", "order_id": orders[0][0]},
    )
    assert r.json() == {"success": True, "data": None, "error": None, "code": None}
    r = post(
        server.api,
        "/orders/cancel",
        "cancel_order",
        keypair,
        {"symbol": "BTC", "client_order_id": orders[1][1]},
    )
    assert (r.status_code, r.json()["success"]) == (200, True)
    r = post(
        server.api,
        "/orders/cancel",
        "cancel_order",
        keypair,
        {"symbol": "BTC", "order_id": orders[0][0]},
    )
    assert (r.status_code, r.json()["error"], r.json()["code"]) == (400, "Order not found", 400)
    r = post(
        server.api,
        "/orders/cancel_all",
        "cancel_all_orders",
        keypair,
        {"all_symbols": True, "exclude_reduce_only": False},
    )
    assert r.json()["data"] == {"cancelled_count": 1}
    open_orders = requests.get(
        f"{server.api}/orders", params={"account": account}, timeout=5
    ).json()
    assert open_orders["data"] == []


def test_agent_wallet_flow(server: ServerProcess) -> None:
    main, agent = Keypair(), Keypair()
    account = str(main.pubkey())
    requests.post(
        f"{server.url}/sandbox/faucet", json={"account": account, "amount": "50000"}, timeout=5
    )
    # The SDK's bind example sends agent_wallet both as the signed payload and in the body.
    r = post(
        server.api, "/agent/bind", "bind_agent_wallet", main, {"agent_wallet": str(agent.pubkey())}
    )
    assert r.json() == {"success": True, "data": None, "error": None, "code": None}, r.text
    payload = {
        "symbol": "ETH",
        "price": "3000",
        "reduce_only": False,
        "amount": "0.01",
        "side": "bid",
        "tif": "ALO",
        "client_order_id": str(uuid.uuid4()),
    }
    r = post(server.api, "/orders/create", "create_order", main, payload, agent=agent)
    assert r.status_code == 200, r.text
    r = post(
        server.api,
        "/orders/cancel_all",
        "cancel_all_orders",
        main,
        {"all_symbols": False, "symbol": "ETH", "exclude_reduce_only": False},
        agent=agent,
    )
    assert r.json()["data"] == {"cancelled_count": 1}


@pytest.fixture
def ws_url(server: ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + "/ws"


def _funded(server: ServerProcess) -> Keypair:
    keypair = Keypair()
    faucet = {"account": str(keypair.pubkey()), "amount": "50000"}
    assert requests.post(f"{server.url}/sandbox/faucet", json=faucet, timeout=5).ok
    return keypair


def _script_frame(
    op_type: str, keypair: Keypair, payload: dict[str, Any], account: str | None = None
) -> dict[str, Any]:
    """What a ws/ script sends: the flat body signed by `keypair` (an agent's, with the main
    `account`, as create_market_order_agent_wallet.py does) under a fresh UUID."""
    body = pacifica.signed_body(
        keypair,
        op_type,
        payload,
        timestamp=int(time.time() * 1_000),
        expiry_window=5_000,
        account=account,
        agent_wallet=str(keypair.pubkey()) if account else None,
    )
    return {"id": str(uuid.uuid4()), "params": {op_type: body}}


def _run_script(ws_url: str, frame: dict[str, Any]) -> dict[str, Any]:
    """Connect, send the frame, read the first frame back: the scripts' whole exchange."""

    async def script() -> dict[str, Any]:
        async with websockets.connect(ws_url, ping_interval=30) as websocket:
            await websocket.send(json.dumps(frame))
            response: dict[str, Any] = json.loads(await asyncio.wait_for(websocket.recv(), 10))
            return response

    return asyncio.run(script())


def _limit(price: str, side: str, amount: str = "0.1") -> dict[str, Any]:
    return {
        "symbol": "BTC",
        "price": price,
        "reduce_only": False,
        "amount": amount,
        "side": side,
        "tif": "GTC",
        "client_order_id": str(uuid.uuid4()),
    }


def _market(amount: str = "0.1") -> dict[str, Any]:
    return {
        "symbol": "BTC",
        "reduce_only": False,
        "amount": amount,
        "side": "bid",
        "slippage_percent": "0.5",
        "client_order_id": str(uuid.uuid4()),
    }


def _position(server: ServerProcess, account: str) -> tuple[str, str] | None:
    reply = requests.get(f"{server.api}/positions", params={"account": account}, timeout=5)
    held = [(p["side"], p["amount"]) for p in reply.json()["data"] if p["symbol"] == "BTC"]
    return held[0] if held else None


def test_ws_scripts_create_limit_cancel_order_and_cancel_all(
    server: ServerProcess, ws_url: str
) -> None:
    keypair = _funded(server)
    account = str(keypair.pubkey())
    payload = _limit(str(100_000), "bid")  # ws/create_limit_order.py's order
    frame = _script_frame("create_order", keypair, payload)
    created = _run_script(ws_url, frame)
    assert created["code"] == 200 and created["type"] == "create_order", created
    assert created["id"] == frame["id"] and isinstance(created["t"], int)
    assert created["data"]["I"] == payload["client_order_id"] and created["data"]["s"] == "BTC"
    order_id = created["data"]["i"]

    cancel = _run_script(
        ws_url, _script_frame("cancel_order", keypair, {"symbol": "BTC", "order_id": order_id})
    )
    assert (cancel["code"], cancel["type"]) == (200, "cancel_order"), cancel
    assert cancel["data"] == {"I": None, "i": order_id, "s": "BTC"}
    again = _run_script(
        ws_url, _script_frame("cancel_order", keypair, {"symbol": "BTC", "order_id": order_id})
    )
    assert (again["code"], again["err"]) == (420, "Order not found"), again

    for price in ("99000", "99001"):
        assert (
            _run_script(ws_url, _script_frame("create_order", keypair, _limit(price, "bid")))[
                "code"
            ]
            == 200
        )
    everything = {"all_symbols": True, "exclude_reduce_only": False}  # ws/cancel_all_orders.py
    done = _run_script(ws_url, _script_frame("cancel_all_orders", keypair, everything))
    assert (done["code"], done["type"], done["data"]) == (
        200,
        "cancel_all_orders",
        {"cancelled_count": 2},
    )
    orders = requests.get(f"{server.api}/orders", params={"account": account}, timeout=5)
    assert orders.json()["data"] == []


def test_ws_scripts_create_market_orders_for_the_account_and_by_its_agent(
    server: ServerProcess, ws_url: str
) -> None:
    seller, buyer, agent = _funded(server), _funded(server), Keypair()
    account = str(buyer.pubkey())
    for price in ("100100", "100200"):  # within the scripts' 0.5 % slippage of the 100000 mark
        r = post(server.api, "/orders/create", "create_order", seller, _limit(price, "ask"))
        assert r.status_code == 200, r.text

    payload = _market()  # ws/create_market_order.py's order
    bought = _run_script(ws_url, _script_frame("create_market_order", buyer, payload))
    assert (bought["code"], bought["type"]) == (200, "create_market_order"), bought
    assert bought["data"]["I"] == payload["client_order_id"] and isinstance(
        bought["data"]["i"], int
    )
    assert _position(server, account) == ("bid", "0.1")

    bind = {"agent_wallet": str(agent.pubkey())}
    assert post(server.api, "/agent/bind", "bind_agent_wallet", buyer, bind).json()["success"]
    by_agent = _run_script(ws_url, _script_frame("create_market_order", agent, _market(), account))
    assert (by_agent["code"], by_agent["type"]) == (200, "create_market_order"), by_agent
    assert _position(server, account) == ("bid", "0.2")

    stranger = Keypair()  # an agent nobody bound: the script gets the 403 frame
    refused = _run_script(
        ws_url, _script_frame("create_market_order", stranger, _market(), account)
    )
    assert (refused["code"], refused["err"]) == (403, "Agent not authorized for account")


def test_ws_subscribe_prices_script_gets_its_ack_then_every_market_on_a_mark_move(
    server: ServerProcess, ws_url: str
) -> None:
    async def script() -> list[dict[str, Any]]:
        async with websockets.connect(ws_url, ping_interval=30) as websocket:
            await websocket.send(
                json.dumps({"method": "subscribe", "params": {"source": "prices"}})
            )
            seen = [json.loads(await asyncio.wait_for(websocket.recv(), 10))]
            mark = {"symbol": "SOL", "price": "152"}
            await asyncio.to_thread(
                requests.post, f"{server.url}/sandbox/mark_price", json=mark, timeout=5
            )
            seen.append(json.loads(await asyncio.wait_for(websocket.recv(), 10)))
            return seen

    ack, prices = asyncio.run(script())
    assert ack == {"channel": "subscribe", "data": {"source": "prices"}}
    assert prices["channel"] == "prices"
    rest = requests.get(f"{server.api}/info/prices", timeout=5).json()["data"]
    assert [item["symbol"] for item in prices["data"]] == [item["symbol"] for item in rest]
    sol = next(item for item in prices["data"] if item["symbol"] == "SOL")
    assert sol["mark"] == "152" and set(sol) == set(rest[0])
