"""Market data in the live shapes (spec §4.1–4.3) and the sandbox endpoints."""

from __future__ import annotations

from solders.keypair import Keypair

from harness import Harness


def test_info_lists_default_markets(hx: Harness) -> None:
    status, body = hx.get("/api/v1/info")
    assert status == 200
    btc = body["data"][0]
    assert btc == {
        "symbol": "BTC",
        "tick_size": "1",
        "min_tick": "0",
        "max_tick": "1000000",
        "lot_size": "0.00001",
        "max_leverage": 50,
        "isolated_only": False,
        "min_order_size": "10",
        "max_order_size": "5000000",
        "funding_rate": "0",
        "next_funding_rate": "0",
        "created_at": btc["created_at"],
        "instrument_type": "perpetual",
        "base_asset": "BTC",
    }
    assert [m["symbol"] for m in body["data"]] == ["BTC", "ETH", "SOL"]
    assert list(body) == ["success", "data", "error", "code", "not_modelled"]
    assert "liquidations" in body["not_modelled"]


def test_mark_price_moves_prices(hx: Harness) -> None:
    status, body = hx.post("/sandbox/mark_price", {"symbol": "BTC", "price": "123456"})
    assert (status, body["data"]) == (200, {"symbol": "BTC", "price": "123456"})
    _, prices = hx.get("/api/v1/info/prices")
    btc = next(p for p in prices["data"] if p["symbol"] == "BTC")
    assert (btc["mark"], btc["oracle"], btc["mid"]) == ("123456", "123456", "123456")


def test_sandbox_errors(hx: Harness) -> None:
    assert hx.post("/sandbox/mark_price", {"symbol": "DOGE", "price": "1"})[0] == 422
    assert hx.post("/sandbox/mark_price", {"symbol": "BTC", "price": "-1"})[0] == 400
    assert hx.post("/sandbox/faucet", {"account": "xyz", "amount": "1"})[0] == 400
    assert hx.post("/sandbox/faucet", {"account": "xyz"})[0] == 400


def test_faucet_credits_balance(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice, "2500.5")
    status, body = hx.get("/api/v1/account", account=str(alice.pubkey()))
    assert status == 200
    assert body["data"]["balance"] == "2500.5"


def test_book_aggregates(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    for price in ("99001", "99002", "99011"):
        hx.create(alice, price=price)
    _, body = hx.get("/api/v1/book", symbol="BTC", agg_level=10)
    assert body["data"]["l"][0] == [
        {"p": "99010", "a": "0.001", "n": 1},
        {"p": "99000", "a": "0.002", "n": 2},
    ]
    assert hx.get("/api/v1/book", symbol="BTC", agg_level=3)[0] == 400
    assert hx.get("/api/v1/book")[0] == 400
