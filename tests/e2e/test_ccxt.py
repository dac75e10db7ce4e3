"""ccxt's `pacifica` class, unchanged but for its test URL, against a real server."""

from __future__ import annotations

import uuid

import ccxt
import pytest
import requests
from solders.keypair import Keypair

from server_process import ServerProcess

pytestmark = pytest.mark.e2e
BTC = "BTC/USDC:USDC"


def make_exchange(server: ServerProcess, funds: str) -> ccxt.pacifica:
    kp = Keypair()
    account = str(kp.pubkey())
    faucet = {"account": account, "amount": funds}
    assert requests.post(f"{server.url}/sandbox/faucet", json=faucet, timeout=5).ok
    ex = ccxt.pacifica({"privateKey": str(kp), "walletAddress": account})
    ex.set_sandbox_mode(True)
    ex.urls["test"] = {"public": server.url, "private": server.url}
    return ex


@pytest.fixture
def exchange(server: ServerProcess) -> ccxt.pacifica:
    return make_exchange(server, "100000")


def test_load_markets(exchange: ccxt.pacifica) -> None:
    markets = exchange.load_markets()
    btc = markets[BTC]
    assert btc["id"] == "BTC"
    assert btc["swap"] is True
    assert btc["precision"]["price"] == 1
    assert btc["precision"]["amount"] == 0.00001
    assert {"ETH/USDC:USDC", "SOL/USDC:USDC"} <= set(markets)


def test_create_fetch_and_cancel_by_id_and_client_id(exchange: ccxt.pacifica) -> None:
    exchange.load_markets()
    first = exchange.create_order(BTC, "limit", "buy", 0.001, 90000)
    cloid = str(uuid.uuid4())
    second = exchange.create_order(BTC, "limit", "sell", 0.001, 110000, {"clientOrderId": cloid})
    assert first["id"] and second["id"] and first["status"] == "open"
    open_orders = exchange.fetch_open_orders(BTC)
    by_id = {o["id"]: o for o in open_orders}
    assert set(by_id) == {first["id"], second["id"]}
    assert by_id[second["id"]]["clientOrderId"] == cloid
    assert by_id[first["id"]]["price"] == 90000 and by_id[first["id"]]["amount"] == 0.001
    assert by_id[first["id"]]["side"] == "buy"
    cancelled = exchange.cancel_order(first["id"], BTC)
    assert cancelled["status"] == "canceled"
    exchange.cancel_order(second["id"], BTC, {"clientOrderId": cloid})
    assert exchange.fetch_open_orders(BTC) == []
    with pytest.raises(ccxt.BaseError):
        exchange.cancel_order(first["id"], BTC)


def test_cancel_all_with_and_without_symbol(exchange: ccxt.pacifica) -> None:
    exchange.load_markets()
    exchange.create_order(BTC, "limit", "buy", 0.001, 90000, {"timeInForce": "PO"})
    exchange.create_order("ETH/USDC:USDC", "limit", "buy", 0.01, 3000, {"timeInForce": "PO"})
    exchange.create_order("ETH/USDC:USDC", "limit", "buy", 0.01, 3001, {"timeInForce": "PO"})
    result = exchange.cancel_all_orders(BTC)
    assert result[0]["info"]["data"] == {"cancelled_count": 1}
    assert len(exchange.fetch_open_orders()) == 2
    result = exchange.cancel_all_orders()
    assert result[0]["info"]["data"] == {"cancelled_count": 2}
    assert exchange.fetch_open_orders() == []


def test_errors_map_to_ccxt_exceptions(server: ServerProcess) -> None:
    exchange = make_exchange(server, "100")
    exchange.load_markets()
    with pytest.raises(ccxt.InsufficientFunds):  # 9000 USDC at 50x needs 180 of margin
        exchange.create_order(BTC, "limit", "buy", 0.1, 90000)
    with pytest.raises(ccxt.InvalidOrder):  # 90 USDC of BTC is fine, 9 is below the minimum
        exchange.create_order(BTC, "limit", "buy", 0.0001, 90000)
    with pytest.raises(ccxt.InvalidOrder):
        exchange.create_order(BTC, "limit", "buy", 100, 90000)  # over max_order_size
