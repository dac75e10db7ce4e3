"""Stop orders, position TP/SL and attached TP/SL over the wire (spec §2.3, §2.4, §2.7, A6)."""

from __future__ import annotations

from typing import Any

from solders.keypair import Keypair

from harness import Harness

STOP = "/api/v1/orders/stop/create"
STOP_CANCEL = "/api/v1/orders/stop/cancel"
TPSL = "/api/v1/positions/tpsl"
CLOID = "0b5e6b8a-7a44-4c6a-9e0b-2f1d3c4b5a69"


def stop_payload(side: str = "bid", **leg: Any) -> dict[str, Any]:
    return {"symbol": "BTC", "side": side, "reduce_only": False, "stop_order": leg}


def go_long(hx: Harness, kp: Keypair, maker: Keypair) -> None:
    hx.create(maker, side="ask", price="100000", amount="0.002", tif="ALO")
    status, body = hx.create(kp, side="bid", price="100000", amount="0.002", tif="IOC")
    assert status == 200, body


def mark(hx: Harness, price: str) -> None:
    status, body = hx.post("/sandbox/mark_price", {"symbol": "BTC", "price": price})
    assert status == 200, body


def test_stop_order_shows_in_open_orders_and_triggers_on_the_mark(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    hx.create(bob, side="ask", price="101000", tif="ALO")
    payload = stop_payload(stop_price="100500", amount="0.001")
    status, body = hx.post_signed(STOP, alice, payload)
    assert (status, body) == (
        200,
        {"success": True, "data": {"order_id": 2}, "error": None, "code": None},
    )
    [order] = hx.open_orders(alice)
    assert {k: order[k] for k in ("order_type", "stop_price", "trigger_price_type", "price")} == {
        "order_type": "stop_market",
        "stop_price": "100500",
        "trigger_price_type": "mark_price",
        "price": "0",
    }
    _, account = hx.get("/api/v1/account", account=str(alice.pubkey()))
    assert (account["data"]["orders_count"], account["data"]["stop_orders_count"]) == (0, 1)
    mark(hx, "100500")
    assert hx.open_orders(alice) == []
    _, hist = hx.get("/api/v1/orders/history_by_id", order_id=2)
    assert [h["event_type"] for h in hist["data"]] == [
        "fulfill_market",
        "stop_triggered",
        "stop_created",
    ]
    assert hist["data"][0]["stop_price"] == "100500"


def test_stop_limit_and_cancel(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    payload = stop_payload(
        "ask", stop_price="95000", limit_price="94900", amount="0.001", client_order_id=CLOID
    )
    hx.post_signed(STOP, alice, payload)
    assert hx.open_orders(alice)[0]["order_type"] == "stop_limit"
    status, body = hx.post_signed(STOP_CANCEL, alice, {"symbol": "BTC", "client_order_id": CLOID})
    assert (status, body["data"]) == (200, None)
    status, body = hx.post_signed(STOP_CANCEL, alice, {"symbol": "BTC", "order_id": 1})
    assert (status, body["error"], body["code"]) == (400, "Order not found", 400)


def test_position_tpsl(hx: Harness, alice: Keypair, bob: Keypair) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    legs = {"take_profit": {"stop_price": "110000"}, "stop_loss": {"stop_price": "95000"}}
    status, body = hx.post_signed(TPSL, alice, {"symbol": "BTC", "side": "ask", **legs})
    assert (status, body["code"], body["error"]) == (422, 13, "Position not found")
    go_long(hx, alice, bob)
    status, body = hx.post_signed(TPSL, alice, {"symbol": "BTC", "side": "bid", **legs})
    assert (status, body["code"], body["error"]) == (422, 17, "Invalid stop order side")
    status, body = hx.post_signed(TPSL, alice, {"symbol": "BTC", "side": "ask"})
    assert status == 400
    status, body = hx.post_signed(TPSL, alice, {"symbol": "BTC", "side": "ask", **legs})
    assert (status, body) == (200, {"success": True, "data": None, "error": None, "code": None})
    orders = hx.open_orders(alice)
    assert [(o["order_type"], o["side"], o["stop_price"], o["reduce_only"]) for o in orders] == [
        ("take_profit_market", "ask", "110000", True),
        ("stop_loss_market", "ask", "95000", True),
    ]
    hx.create(bob, side="bid", price="94000", amount="0.01", tif="ALO")
    mark(hx, "95000")
    _, pos = hx.get("/api/v1/positions", account=str(alice.pubkey()))
    assert pos["data"] == [] and hx.open_orders(alice) == []
    _, fills = hx.get("/api/v1/trades/history", account=str(alice.pubkey()))
    assert (fills["data"][0]["side"], fills["data"][0]["price"]) == ("close_long", "94000")


def test_attached_tpsl_and_cancel_all(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    status, body = hx.create(
        alice,
        price="99000",
        tif="ALO",
        take_profit={"stop_price": "105000", "limit_price": "104900"},
        stop_loss={"stop_price": "95000", "trigger_price_type": "last_trade_price"},
    )
    assert status == 200 and body["data"] == {"order_id": 1}
    orders = hx.open_orders(alice)
    assert [(o["order_id"], o["order_type"], o["stop_parent_order_id"]) for o in orders] == [
        (1, "limit", None),
        (2, "take_profit_limit", 1),
        (3, "stop_loss_market", 1),
    ]
    assert orders[2]["trigger_price_type"] == "last_trade_price"
    hx.post_signed(STOP, alice, stop_payload(stop_price="120000", amount="0.001"))
    status, body = hx.post_signed(
        "/api/v1/orders/cancel_all",
        alice,
        {"all_symbols": True, "exclude_reduce_only": True},
    )
    # the parent and the plain stop go; the legs are reduce-only but their parent never
    # filled, so they go with it
    assert body["data"] == {"cancelled_count": 4}
    assert hx.open_orders(alice) == []


def test_mid_price_triggers_are_not_modelled(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    payload = stop_payload(stop_price="100500", amount="0.001", trigger_price_type="mid_price")
    status, body = hx.post_signed(STOP, alice, payload)
    assert status == 400 and "mid_price" in body["error"]


def test_tpsl_and_stop_cancel_in_a_batch(hx: Harness, alice: Keypair, bob: Keypair) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    go_long(hx, alice, bob)
    hx.post_signed(STOP, alice, stop_payload(stop_price="120000", amount="0.001"))  # id 3
    actions = [
        {
            "type": "SetPositionTpsl",
            "data": hx.signed(
                TPSL,
                alice,
                {"symbol": "BTC", "side": "ask", "stop_loss": {"stop_price": "90000"}},
            ),
        },
        {
            "type": "CancelStopOrder",
            "data": hx.signed(STOP_CANCEL, alice, {"symbol": "BTC", "order_id": 3}),
        },
    ]
    status, body = hx.post("/api/v1/orders/batch", {"actions": actions})
    assert status == 200
    assert body["data"]["results"] == [
        {"success": True, "order_id": None, "error": None},
        {"success": True, "order_id": 3, "error": None},
    ]
    assert [o["order_type"] for o in hx.open_orders(alice)] == ["stop_loss_market"]
