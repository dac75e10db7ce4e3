"""`GET /account` and `GET /positions` in their live shapes (spec §4.6, §4.8)."""

from __future__ import annotations

from solders.keypair import Keypair

from harness import Harness


def test_account_carries_every_live_key_in_the_live_order(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice, "10000")
    hx.faucet(bob)
    hx.create(bob, side="ask", price="100000", amount="0.01", tif="ALO")
    assert hx.create(alice, side="bid", price="100000", amount="0.01", tif="IOC")[0] == 200
    hx.post("/sandbox/mark_price", {"symbol": "BTC", "price": "101000"})
    status, body = hx.get("/api/v1/account", account=str(alice.pubkey()))
    assert status == 200
    data = body["data"]
    assert list(data) == [
        "balance", "fee_level", "maker_fee", "taker_fee", "account_equity",
        "available_to_spend", "available_to_withdraw", "pending_balance", "pending_interest",
        "spot_collateral", "cross_account_equity", "spot_market_value", "total_margin_used",
        "cross_mmr", "positions_count", "orders_count", "stop_orders_count", "updated_at",
        "spot_balances",
    ]  # fmt: skip
    assert data["balance"] == "9999.6"  # the taker fee on 1000 USDC
    assert data["account_equity"] == "10009.6"  # and 10 USDC of unrealised PnL
    # An all-cross account: the cross equity is the account equity. No spot, no loans.
    assert data["cross_account_equity"] == data["account_equity"]
    assert (data["pending_interest"], data["spot_collateral"], data["spot_market_value"]) == (
        "0",
        "0",
        "0",
    )
    assert data["spot_balances"] == []


def test_a_cross_position_shows_margin_zero_and_an_isolated_one_its_margin(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    status, _ = hx.post_signed(
        "/api/v1/account/margin", alice, {"symbol": "ETH", "is_isolated": True}
    )
    assert status == 200
    for symbol, price, amount in (("BTC", "100000", "0.01"), ("ETH", "3500", "0.1")):
        hx.create(bob, symbol=symbol, side="ask", price=price, amount=amount, tif="ALO")
        assert hx.create(alice, symbol=symbol, side="bid", price=price, amount=amount)[0] == 200
    _, body = hx.get("/api/v1/positions", account=str(alice.pubkey()))
    margins = {p["symbol"]: (p["isolated"], p["margin"]) for p in body["data"]}
    assert margins == {"BTC": (False, "0"), "ETH": (True, "7")}  # 350 USDC at 50x
