"""POST /orders/edit (spec §2.8): the new order id in data.order_id; unknown is 422."""

from __future__ import annotations

import uuid

import pytest
from solders.keypair import Keypair

from harness import Harness

EDIT = "/api/v1/orders/edit"


def test_edit_by_client_id_answers_the_new_id_and_keeps_the_client_id(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    cloid = str(uuid.uuid4())
    hx.create(alice, client_order_id=cloid, price="99000", tif="ALO")
    payload = {"symbol": "BTC", "price": "99500", "amount": "0.002", "client_order_id": cloid}
    status, body = hx.post_signed(EDIT, alice, payload)
    assert (status, body) == (
        200,
        {"success": True, "data": {"order_id": 2}, "error": None, "code": None},
    )
    [order] = hx.open_orders(alice)
    assert (order["order_id"], order["client_order_id"], order["price"]) == (2, cloid, "99500")
    assert order["initial_amount"] == "0.002"
    _, hist = hx.get("/api/v1/orders/history_by_id", order_id=1)
    assert (hist["data"][0]["event_type"], hist["data"][0]["order_status"]) == (
        "cancel",
        "cancelled",
    )


def test_edit_without_amount_keeps_the_size(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    hx.create(alice, price="99000", amount="0.003", tif="ALO")
    status, body = hx.post_signed(EDIT, alice, {"symbol": "BTC", "price": "98000", "order_id": 1})
    assert status == 200, body
    [order] = hx.open_orders(alice)
    assert (order["price"], order["initial_amount"]) == ("98000", "0.003")


def test_unknown_order_is_422_order_not_found(hx: Harness, alice: Keypair) -> None:
    status, body = hx.post_signed(EDIT, alice, {"symbol": "BTC", "price": "1", "order_id": 7})
    assert (status, body["success"], body["error"], body["code"]) == (
        422,
        False,
        "Order not found",
        6,
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"symbol": "BTC", "price": "99000"},
        {"symbol": "BTC", "price": "99000", "order_id": 1, "client_order_id": str(uuid.uuid4())},
        {"symbol": "BTC", "price": "99000.5", "order_id": 1},
    ],
)
def test_bad_edit_parameters_are_400(
    hx: Harness, alice: Keypair, payload: dict[str, object]
) -> None:
    status, body = hx.post_signed(EDIT, alice, payload)
    assert (status, body["code"]) == (400, 400), body
