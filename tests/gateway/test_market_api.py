"""POST /orders/create_market (spec §2.2): answers like a create, reads back as type market."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair

from harness import Harness

MARKET = "/api/v1/orders/create_market"


def market_payload(**fields: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "symbol": "BTC",
        "amount": "0.001",
        "side": "bid",
        "slippage_percent": "0.5",
        "reduce_only": False,
    }
    payload.update(fields)
    return payload


def test_market_order_fills_and_reads_back_as_market(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    hx.create(alice, side="ask", price="100400", amount="0.002", tif="ALO")
    status, body = hx.post_signed(MARKET, bob, market_payload())
    assert (status, body) == (
        200,
        {"success": True, "data": {"order_id": 2}, "error": None, "code": None},
    )
    _, hist = hx.get("/api/v1/orders/history_by_id", order_id=2)
    newest = hist["data"][0]
    assert (newest["order_type"], newest["order_status"], newest["filled_amount"]) == (
        "market",
        "filled",
        "0.001",
    )
    assert newest["event_type"] == "fulfill_market"
    assert newest["price"] == "100400"  # a fill event shows the fill price (limit: 100500)
    _, pos = hx.get("/api/v1/positions", account=str(bob.pubkey()))
    assert [(p["side"], p["amount"], p["entry_price"]) for p in pos["data"]] == [
        ("bid", "0.001", "100400")
    ]


def test_empty_book_is_no_reasonable_price(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    status, body = hx.post_signed(MARKET, alice, market_payload())
    assert (status, body["code"], body["error"]) == (422, 25, "No reasonable price found")
    assert hx.engine.last_order_id == 0


def test_price_beyond_the_slippage_is_not_reached(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    hx.create(alice, side="ask", price="100600", tif="ALO")  # mark 100000 + 0.6 %
    status, body = hx.post_signed(MARKET, bob, market_payload())
    assert (status, body["code"]) == (422, 25)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"slippage_percent": "-1"}, "slippage_percent"),
        ({"slippage_percent": "lots"}, "slippage_percent"),
        ({"slippage_percent": 1}, "slippage_percent"),
        ({"amount": "0.000001"}, "lot size"),
        ({"side": "buy"}, "side"),
    ],
)
def test_malformed_market_order_is_400(
    hx: Harness, alice: Keypair, fields: dict[str, object], needle: str
) -> None:
    hx.faucet(alice)
    status, body = hx.post_signed(MARKET, alice, market_payload(**fields))
    assert status == 400 and needle in body["error"], body


class CountingSpeedbump:
    def __init__(self) -> None:
        self.waits = 0

    async def wait(self) -> None:
        self.waits += 1


def test_market_orders_wait_out_the_speedbump(hx: Harness, alice: Keypair) -> None:
    bump = CountingSpeedbump()
    hx.exchange.pipeline.speedbump = bump  # type: ignore[assignment]
    hx.faucet(alice)
    hx.post_signed(MARKET, alice, market_payload())
    assert bump.waits == 1
