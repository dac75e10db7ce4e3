"""Create, read back, match: the live shapes of spec §2.1, §2.10, §2.12 and the 4xx forms of A1."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from solders.keypair import Keypair

from harness import Harness
from tidepool.gateway import orders
from tidepool.runtime.forkread import ForkedReads

CREATE = "/api/v1/orders/create"


def test_create_answers_order_id_and_the_order_is_open_in_the_live_shape(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    cloid = str(uuid.uuid4())
    status, body = hx.create(alice, client_order_id=cloid, price="99000", amount="0.0015")
    assert status == 200
    assert body == {"success": True, "data": {"order_id": 1}, "error": None, "code": None}
    status, orders = hx.get("/api/v1/orders", account=str(alice.pubkey()))
    assert list(orders) == ["success", "data", "error", "code", "last_order_id"]
    assert orders["last_order_id"] == 1
    now = hx.clock.now_ms()
    assert orders["data"] == [
        {
            "order_id": 1,
            "client_order_id": cloid,
            "symbol": "BTC",
            "side": "bid",
            "price": "99000",
            "initial_amount": "0.0015",
            "filled_amount": "0",
            "cancelled_amount": "0",
            "stop_price": None,
            "order_type": "limit",
            "stop_parent_order_id": None,
            "trigger_price_type": None,
            "reduce_only": False,
            "created_at": now,
            "updated_at": now,
        }
    ]


def test_crossing_orders_from_two_accounts_trade_at_the_resting_price(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    _, made = hx.create(alice, side="ask", price="100000", amount="0.002")
    _, took = hx.create(bob, side="bid", price="100500", amount="0.0015")
    maker_id, taker_id = made["data"]["order_id"], took["data"]["order_id"]
    [rest] = hx.open_orders(alice)
    assert (rest["filled_amount"], rest["price"]) == ("0.0015", "100000")
    assert hx.open_orders(bob) == []
    _, hist = hx.get("/api/v1/orders/history_by_id", order_id=taker_id)
    assert hist["data"][0]["order_status"] == "filled"
    _, book = hx.get("/api/v1/book", symbol="BTC")
    assert book["data"]["l"] == [[], [{"p": "100000", "a": "0.0005", "n": 1}]]
    _, pos = hx.get("/api/v1/positions", account=str(bob.pubkey()))
    assert [(p["symbol"], p["side"], p["amount"], p["entry_price"]) for p in pos["data"]] == [
        ("BTC", "bid", "0.0015", "100000")
    ]
    assert maker_id < taker_id


def test_same_account_cross_cancels_the_resting_order(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    _, made = hx.create(alice, side="ask", price="100000")
    hx.create(alice, side="bid", price="100000")
    _, hist = hx.get("/api/v1/orders/history_by_id", order_id=made["data"]["order_id"])
    assert hist["data"][0]["event_type"] == "self_trade_prevented"
    assert [o["side"] for o in hx.open_orders(alice)] == ["bid"]


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"price": "100000.5"}, "Price 100000.5 is not a multiple of tick size 1"),
        ({"amount": "0.000015"}, "Amount 0.000015 is not a multiple of lot size 0.00001"),
        ({"price": "-5"}, "Price -5"),
        ({"price": "abc"}, "Price abc"),
        ({"price": 100000}, "price"),
        ({"side": "buy"}, "side"),
        ({"tif": "FOK"}, "tif"),
        ({"reduce_only": "false"}, "reduce_only"),
        ({"client_order_id": "not-a-uuid"}, "client_order_id"),
        # 36 characters that uuid.UUID would accept (it drops hyphens wherever they are)
        ({"client_order_id": "0123456789abcdef0123456789abcdef----"}, "client_order_id"),
        ({"client_order_id": "{12345678-1234-1234-1234-1234567890}"}, "client_order_id"),
    ],
)
def test_malformed_create_is_a_400_naming_the_problem(
    hx: Harness, alice: Keypair, fields: dict[str, object], needle: str
) -> None:
    hx.faucet(alice)
    before = hx.engine.state_hash()
    status, body = hx.create(alice, **fields)
    assert status == 400, body
    assert needle in body["error"]
    assert (body["success"], body["data"], body["code"]) == (False, None, 400)
    assert hx.engine.state_hash() == before


def test_missing_field_is_named(hx: Harness, alice: Keypair) -> None:
    payload = {"symbol": "BTC", "price": "1", "amount": "1", "side": "bid", "tif": "GTC"}
    status, body = hx.post_signed(CREATE, alice, payload)
    assert status == 400
    assert "reduce_only" in body["error"]


@pytest.mark.parametrize(
    ("fields", "code", "message"),
    [
        ({"symbol": "DOGE"}, 3, "Book not found: DOGE"),
        ({"amount": "0.00005"}, 7, "Order amount too low for"),
        ({"amount": "1"}, 5, "Insufficient balance for"),
        ({"amount": "1000"}, 8, "Order amount too high for"),
        ({"price": "150001"}, 30, "Price too far from mark: 150001 100000"),
    ],
)
def test_business_rejections_are_422_with_the_business_code(
    hx: Harness, alice: Keypair, fields: dict[str, object], code: int, message: str
) -> None:
    hx.faucet(alice, "1000")
    status, body = hx.create(alice, **fields)
    assert (status, body["code"], body["success"]) == (422, code, False), body
    assert body["error"].startswith(message)
    assert hx.open_orders(alice) == []


def test_reused_client_order_id_is_rejected_even_after_cancel(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    cloid = str(uuid.uuid4())
    _, first = hx.create(alice, client_order_id=cloid)
    hx.post_signed(
        "/api/v1/orders/cancel", alice, {"symbol": "BTC", "order_id": first["data"]["order_id"]}
    )
    status, body = hx.create(alice, client_order_id=cloid)
    assert (status, body["code"], body["error"]) == (422, 36, f"Duplicate client order id: {cloid}")


def test_no_money_no_order(hx: Harness, alice: Keypair) -> None:
    status, body = hx.create(alice)
    assert (status, body["code"]) == (422, 5)


def test_history_of_unknown_order_is_404(hx: Harness) -> None:
    status, body = hx.get("/api/v1/orders/history_by_id", order_id=424242)
    assert status == 404
    assert body == {
        "success": False,
        "data": None,
        "error": "Order history not found for order ID: 424242",
        "code": 404,
    }


def test_an_account_over_the_inline_limit_gets_every_open_order_from_a_forked_read(
    hx: Harness, alice: Keypair, bob: Keypair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above INLINE_OPEN_ORDERS the list is rendered by a forked child (runtime/forkread.py),
    off the event loop: the same answer, every open order, at one seq."""
    hx.faucet(alice)
    hx.faucet(bob)
    for price in ("90000", "90001", "90002"):
        hx.create(alice, tif="ALO", price=price)
    hx.create(bob, tif="ALO", price="90003")
    account = str(alice.pubkey())
    inline = hx.get("/api/v1/orders", account=account)

    forks: list[str] = []
    run = ForkedReads.run

    async def counted(self: ForkedReads, compute: Callable[[], bytes]) -> bytes:
        forks.append("fork")
        return await run(self, compute)

    monkeypatch.setattr(ForkedReads, "run", counted)
    monkeypatch.setattr(orders, "INLINE_OPEN_ORDERS", 2)
    forked = hx.get("/api/v1/orders", account=account)
    assert forks == ["fork"]
    assert forked == inline
    assert [o["order_id"] for o in forked[1]["data"]] == [1, 2, 3]
    assert forked[1]["last_order_id"] == 4
