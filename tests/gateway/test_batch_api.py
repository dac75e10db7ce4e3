"""POST /orders/batch (spec §2.9): each action signed on its own, one result per action, one
engine command for the block, a bad signature fails everything."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from solders.keypair import Keypair

from harness import Harness

BATCH = "/api/v1/orders/batch"
OPS = {
    "Create": "/api/v1/orders/create",
    "CreateMarket": "/api/v1/orders/create_market",
    "Cancel": "/api/v1/orders/cancel",
    "Edit": "/api/v1/orders/edit",
}


def order(**fields: Any) -> dict[str, Any]:
    payload = {
        "symbol": "BTC",
        "price": "99000",
        "amount": "0.001",
        "side": "bid",
        "tif": "ALO",
        "reduce_only": False,
    }
    payload.update(fields)
    return payload


def action(hx: Harness, kp: Keypair, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "data": hx.signed(OPS[kind], kp, payload)}


def test_results_per_action_with_business_failures_as_200(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob, "1")
    cloid = str(uuid.uuid4())
    seq = hx.sequencer.last_seq
    status, body = hx.post(
        BATCH,
        {
            "actions": [
                action(hx, alice, "Create", order(client_order_id=cloid)),
                action(hx, alice, "Create", order(price="98000")),
                action(hx, alice, "Cancel", {"symbol": "BTC", "client_order_id": cloid}),
                action(hx, alice, "Cancel", {"symbol": "BTC", "order_id": 99}),
                action(hx, bob, "Create", order(amount="1")),
                action(hx, alice, "Edit", {"symbol": "BTC", "price": "97000", "order_id": 2}),
                action(hx, alice, "Create", order(symbol="DOGE")),
            ]
        },
    )
    assert status == 200, body
    assert body["success"] is True and body["error"] is None and body["code"] is None
    results = body["data"]["results"]
    assert results[:4] == [
        {"success": True, "order_id": 1, "error": None},
        {"success": True, "order_id": 2, "error": None},
        {"success": True, "order_id": 1, "error": None},
        {"success": False, "order_id": None, "error": "Order not found"},
    ]
    assert results[4]["success"] is False
    assert results[4]["error"].startswith("Insufficient balance for")
    assert results[5] == {"success": True, "order_id": 3, "error": None}
    assert results[6] == {"success": False, "order_id": None, "error": "Book not found: DOGE"}
    assert hx.sequencer.last_seq == seq + 1  # one journaled command for the whole block
    assert [(o["order_id"], o["price"]) for o in hx.open_orders(alice)] == [(3, "97000")]


def test_market_order_in_a_batch(hx: Harness, alice: Keypair, bob: Keypair) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    market = {
        "symbol": "BTC",
        "amount": "0.001",
        "side": "ask",
        "slippage_percent": "1",
        "reduce_only": False,
    }
    status, body = hx.post(
        BATCH,
        {
            "actions": [
                action(hx, alice, "Create", order(price="99900")),
                action(hx, bob, "CreateMarket", market),
            ]
        },
    )
    assert status == 200
    assert [r["order_id"] for r in body["data"]["results"]] == [1, 2]
    _, pos = hx.get("/api/v1/positions", account=str(bob.pubkey()))
    assert [(p["side"], p["entry_price"]) for p in pos["data"]] == [("ask", "99900")]


def test_one_bad_signature_fails_the_whole_batch(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    good = action(hx, alice, "Create", order())
    bad = action(hx, alice, "Create", order(price="98000"))
    bad["data"]["price"] = "97000"  # signed 98000
    before = hx.engine.state_hash()
    status, body = hx.post(BATCH, {"actions": [good, bad]})
    assert status == 400
    assert body["error"].startswith("Verification failed")
    assert body["error_id"] == "signature_verification_failed"
    assert "results" not in str(body["data"])
    assert hx.engine.state_hash() == before


def test_a_signature_for_another_operation_type_fails(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    signed_as_create = hx.signed(OPS["Create"], alice, {"symbol": "BTC", "order_id": 1})
    status, body = hx.post(BATCH, {"actions": [{"type": "Cancel", "data": signed_as_create}]})
    assert status == 400 and body["error"].startswith("Verification failed")


@pytest.mark.parametrize(
    ("actions", "needle"),
    [
        ("not a list", "actions"),
        ([{"type": "Nope", "data": {}}], "unknown action type 'Nope'"),
        ([{"type": "Create"}], "data"),
    ],
)
def test_malformed_batches_are_400(hx: Harness, actions: Any, needle: str) -> None:
    status, body = hx.post(BATCH, {"actions": actions})
    assert status == 400 and needle in body["error"], body


def test_more_than_ten_actions_is_400(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    actions = [action(hx, alice, "Create", order(price=str(90000 + i))) for i in range(11)]
    status, body = hx.post(BATCH, {"actions": actions})
    assert status == 400 and "at most 10" in body["error"]
    assert hx.engine.last_order_id == 0


def test_off_grid_price_fails_the_whole_batch(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    bad = order(price="1.5")
    actions = [action(hx, alice, "Create", order()), action(hx, alice, "Create", bad)]
    status, body = hx.post(BATCH, {"actions": actions})
    assert status == 400 and "tick size" in body["error"]
    assert hx.engine.last_order_id == 0


class CountingSpeedbump:
    def __init__(self) -> None:
        self.waits = 0

    async def wait(self) -> None:
        self.waits += 1


def test_speedbump_applies_only_to_batches_with_taker_orders(hx: Harness, alice: Keypair) -> None:
    bump = CountingSpeedbump()
    hx.exchange.pipeline.speedbump = bump  # type: ignore[assignment]
    hx.faucet(alice)
    hx.post(BATCH, {"actions": [action(hx, alice, "Create", order())]})
    hx.post(BATCH, {"actions": [action(hx, alice, "Cancel", {"symbol": "BTC", "order_id": 1})]})
    assert bump.waits == 0
    hx.post(BATCH, {"actions": [action(hx, alice, "Create", order(tif="GTC"))]})
    assert bump.waits == 1
