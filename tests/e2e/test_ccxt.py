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


def _ccxt_safe_keypair() -> Keypair:
    """A random key whose secret does not start with a zero byte. ccxt's base58 decoder drops
    leading zero bytes, so for such a secret (1 key in 256) ccxt signs with a shifted seed,
    i.e. with another key: its signatures can never verify, here or on Pacifica. That is a
    client bug with the private key, unlike the dropped zeros of a *signature*, which the
    server restores (docs/wire-decisions.md)."""
    while True:
        kp = Keypair()
        if bytes(kp)[0] != 0:
            return kp


def make_exchange(server: ServerProcess, funds: str) -> ccxt.pacifica:
    kp = _ccxt_safe_keypair()
    account = str(kp.pubkey())
    faucet = {"account": account, "amount": funds}
    assert requests.post(f"{server.url}/sandbox/faucet", json=faucet, timeout=5).ok
    ex = ccxt.pacifica({"privateKey": str(kp), "walletAddress": account, "enableRateLimit": False})
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


ETH = "ETH/USDC:USDC"
SOL = "SOL/USDC:USDC"


def set_mark(server: ServerProcess, symbol: str, price: str) -> None:
    body = {"symbol": symbol, "price": price}
    assert requests.post(f"{server.url}/sandbox/mark_price", json=body, timeout=5).ok


def test_market_order_fills_and_shows_in_every_read(server: ServerProcess) -> None:
    maker, taker = make_exchange(server, "100000"), make_exchange(server, "100000")
    maker.load_markets()
    taker.load_markets()
    since = taker.milliseconds() - 60_000
    maker.create_order(ETH, "limit", "sell", 0.05, 3510, {"timeInForce": "PO"})
    order = taker.create_order(ETH, "market", "buy", 0.02)  # mark 3500 + 0.5 %: limit 3517.5
    assert order["id"] and order["status"] == "open"
    fetched = taker.fetch_order(order["id"], ETH)
    assert (fetched["status"], fetched["type"], fetched["filled"]) == ("closed", "market", 0.02)
    assert fetched["average"] == 3510 and fetched["side"] == "buy"
    [position] = taker.fetch_positions([ETH])
    assert (position["side"], position["contracts"], position["entryPrice"]) == (
        "long",
        0.02,
        3510,
    )
    assert (position["marginMode"], position["collateral"]) == ("cross", 0)  # live: "0" if cross
    balance = taker.fetch_balance()
    assert balance["USDC"]["total"] == pytest.approx(100000 - 70.2 * 0.0004)
    assert balance["USDC"]["used"] == pytest.approx(0.02 * 3500 / 50)  # margin at the mark
    assert set(balance["total"]) == {"USDC"}  # spot_balances is empty: no other currency
    info = balance["info"]
    assert info["cross_account_equity"] == info["account_equity"] and info["spot_balances"] == []
    [mine] = taker.fetch_my_trades(ETH)
    assert (mine["side"], mine["price"], mine["amount"], mine["takerOrMaker"]) == (
        "buy",
        3510,
        0.02,
        "taker",
    )
    assert mine["fee"]["cost"] == pytest.approx(0.02808) and mine["order"] == order["id"]
    [theirs] = maker.fetch_my_trades(ETH)
    assert (theirs["side"], theirs["takerOrMaker"]) == ("sell", "maker")
    book = taker.fetch_order_book(ETH)
    assert book["asks"] == [[3510, 0.03]] and book["bids"] == []
    candles = taker.fetch_ohlcv(ETH, "1m", since)
    assert candles[-1][1:] == [3510, 3510, 3510, 3510, 0.02]
    [public] = taker.fetch_trades(ETH)
    assert (public["price"], public["amount"], public["side"]) == (3510, 0.02, "buy")


def test_candles_exist_where_nothing_traded(server: ServerProcess) -> None:
    """Before any trade a market's candles are flat at its initial mark, with volume 0: the
    days after SOL opened (June 2025) are older than any trade of this run."""
    exchange = make_exchange(server, "10")
    exchange.load_markets()
    day = 86_400_000
    after_opening = exchange.markets[SOL]["created"] // day * day + day
    days = exchange.fetch_ohlcv(SOL, "1d", after_opening, 3)
    assert len(days) == 3
    assert [c[0] for c in days] == [after_opening, after_opening + day, after_opening + 2 * day]
    assert all(c[1:] == [150, 150, 150, 150, 0] for c in days)
    # Hummingbot's last-price lookup: 1m candles from a minute ago, then data[0]["c"]
    since = exchange.milliseconds() - 60_000
    query = {"symbol": "SOL", "interval": "1m", "start_time": since}
    answer = requests.get(f"{server.url}/api/v1/kline", params=query, timeout=5).json()
    assert float(answer["data"][0]["c"]) > 0


def test_batch_create_edit_cancel_and_history(exchange: ccxt.pacifica) -> None:
    exchange.load_markets()
    created = exchange.create_orders(
        [
            {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.001, "price": 95000},
            {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.001, "price": 95001},
            {"symbol": BTC, "type": "limit", "side": "buy", "amount": 100, "price": 95002},
        ]
    )
    assert [o["status"] for o in created] == ["open", "open", "rejected"]
    first, second = created[0]["id"], created[1]["id"]
    edited = exchange.edit_order(first, BTC, "limit", "buy", 0.002, 94000)
    assert edited["id"] not in (first, second)
    assert {(o["id"], o["price"], o["amount"]) for o in exchange.fetch_open_orders(BTC)} == {
        (edited["id"], 94000, 0.002),
        (second, 95001, 0.001),
    }
    cancelled = exchange.cancel_orders([edited["id"], second, first], BTC)
    assert [o["status"] for o in cancelled] == ["canceled", "canceled", "closed"]
    history = {o["id"]: o for o in exchange.fetch_orders(BTC)}
    assert {history[i]["status"] for i in (first, second, edited["id"])} == {"canceled"}
    assert history[edited["id"]]["amount"] == 0.002
    assert history[edited["id"]]["price"] == 94000


def test_stop_and_tpsl_orders(server: ServerProcess) -> None:
    trader, maker = make_exchange(server, "100000"), make_exchange(server, "100000")
    trader.load_markets()
    maker.load_markets()
    maker.create_order(SOL, "limit", "sell", 1, 151, {"timeInForce": "PO"})
    trader.create_order(SOL, "limit", "buy", 1, 151)  # long 1 SOL
    stop = trader.create_order(SOL, "limit", "buy", 0.1, 170, {"triggerPrice": 169})
    tpsl = trader.create_order(
        SOL, "limit", "sell", 1, None, {"takeProfitPrice": 180, "stopLossPrice": 140}
    )
    assert tpsl["status"] == "open"
    types = {o["info"]["order_type"]: o for o in trader.fetch_open_orders(SOL)}
    assert set(types) == {"stop_limit", "take_profit_market", "stop_loss_market"}
    assert types["stop_loss_market"]["triggerPrice"] == 140
    trader.cancel_order(stop["id"], SOL, {"stop": True})
    maker.create_order(SOL, "limit", "buy", 2, 139, {"timeInForce": "PO"})
    set_mark(server, "SOL", "139.5")  # the stop-loss closes the long into the 139 bid
    assert trader.fetch_positions([SOL]) == []
    assert trader.fetch_open_orders(SOL) == []
    closing = trader.fetch_my_trades(SOL)[-1]
    assert (closing["side"], closing["price"], closing["amount"]) == ("sell", 139, 1)
