"""The request flow of Pacifica's official Python SDK (rest/create_limit_order.py,
cancel_order.py, cancel_all_orders.py, api_agent_keys.py): solders Keypair, its sign_message
recipe, `requests.post(url, json=body)`. Only the base URL differs."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
from solders.keypair import Keypair

from server_process import ServerProcess

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
