"""The two endpoints the product exists for, body for body as spec Part A1 says."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair

CANCEL = "/api/v1/orders/cancel"
CANCEL_ALL = "/api/v1/orders/cancel_all"
NOT_FOUND = {"success": False, "data": None, "error": "Order not found", "code": 400}


def _rest(hx: Harness, kp: Keypair, **fields: object) -> int:
    status, body = hx.create(kp, **fields)
    assert status == 200, body
    return int(body["data"]["order_id"])


def test_cancel_by_order_id_answers_the_cancel_page_body_and_removes_the_order(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    oid = _rest(hx, alice)
    status, body = hx.post_signed(CANCEL, alice, {"symbol": "BTC", "order_id": oid})
    assert status == 200
    assert body == {"success": True, "data": None, "error": None, "code": None}
    assert hx.open_orders(alice) == []
    _, hist = hx.get("/api/v1/orders/history_by_id", order_id=oid)
    assert [h["event_type"] for h in hist["data"]] == ["cancel", "make"]
    assert hist["data"][0]["order_status"] == "cancelled"
    assert hist["data"][0]["cancelled_amount"] == "0.001"


def test_cancel_by_client_order_id(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    cloid = str(uuid.UUID(int=7))
    _rest(hx, alice, client_order_id=cloid)
    status, body = hx.post_signed(CANCEL, alice, {"symbol": "BTC", "client_order_id": cloid})
    assert (status, body["success"]) == (200, True)
    assert hx.open_orders(alice) == []


def test_cancel_twice_or_unknown_is_order_not_found_and_changes_nothing(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    oid = _rest(hx, alice)
    keep = _rest(hx, alice, price="99000")
    hx.post_signed(CANCEL, alice, {"symbol": "BTC", "order_id": oid})
    before = hx.engine.state_hash()
    for payload in (
        {"symbol": "BTC", "order_id": oid},
        {"symbol": "BTC", "order_id": 999_999},
        {"symbol": "BTC", "client_order_id": str(uuid.uuid4())},
        {"symbol": "ETH", "order_id": keep},
    ):
        status, body = hx.post_signed(CANCEL, alice, payload)
        assert status == 400
        assert {k: body[k] for k in NOT_FOUND} == NOT_FOUND
    assert hx.engine.state_hash() == before
    assert [o["order_id"] for o in hx.open_orders(alice)] == [keep]


def test_an_account_can_never_cancel_another_accounts_order(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    cloid = str(uuid.uuid4())
    oid = _rest(hx, alice, client_order_id=cloid)
    for payload in (
        {"symbol": "BTC", "order_id": oid},
        {"symbol": "BTC", "client_order_id": cloid},
    ):
        status, body = hx.post_signed(CANCEL, bob, payload)
        assert (status, body["error"]) == (400, "Order not found")
    status, _ = hx.post_signed(CANCEL_ALL, bob, {"all_symbols": True, "exclude_reduce_only": False})
    assert status == 200
    assert [o["order_id"] for o in hx.open_orders(alice)] == [oid]


def test_cancel_needs_exactly_one_id(hx: Harness, alice: Keypair) -> None:
    for payload in (
        {"symbol": "BTC"},
        {"symbol": "BTC", "order_id": 1, "client_order_id": str(uuid.uuid4())},
    ):
        status, body = hx.post_signed(CANCEL, alice, payload)
        assert status == 400
        assert body["error"].startswith("Invalid parameters")
        assert body["code"] == 400 and body["success"] is False and body["data"] is None


def test_cancel_with_wrong_types_names_the_field(hx: Harness, alice: Keypair) -> None:
    status, body = hx.post_signed(CANCEL, alice, {"symbol": "BTC", "order_id": "12"})
    assert status == 400
    assert body["error"].startswith("Invalid parameters")
    assert "order_id" in body["error"]


def test_cancel_all_counts_and_a_second_one_is_zero(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    for price in ("90000", "91000", "92000"):
        _rest(hx, alice, price=price)
    _rest(hx, alice, symbol="ETH", price="3000", amount="0.01")
    status, body = hx.post_signed(
        CANCEL_ALL, alice, {"all_symbols": True, "exclude_reduce_only": False}
    )
    assert status == 200
    assert body == {
        "success": True,
        "data": {"cancelled_count": 4},
        "cancelled_count": 4,
        "error": None,
        "code": None,
    }
    assert list(body) == ["success", "data", "cancelled_count", "error", "code"]
    status, body = hx.post_signed(
        CANCEL_ALL, alice, {"all_symbols": True, "exclude_reduce_only": False}
    )
    assert (status, body["data"], body["cancelled_count"]) == (200, {"cancelled_count": 0}, 0)


def test_a_large_cancel_all_runs_in_chunks_and_lets_other_requests_in_between(
    hx: Harness, alice: Keypair, bob: Keypair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of CANCEL_ALL_CHUNK orders, each its own journaled command; requests that arrive
    meanwhile are served between chunks, and orders placed meanwhile are not in its scope."""
    from tidepool.runtime import pipeline

    monkeypatch.setattr(pipeline, "CANCEL_ALL_CHUNK", 10)
    hx.faucet(alice, "1000000")
    hx.faucet(bob)
    prices = [str(80000 + 10 * i) for i in range(25)]
    ids = [_rest(hx, alice, price=p) for p in prices]
    applied: list[str] = []
    submit = hx.sequencer.submit

    async def recording(cmd: Any) -> Any:
        applied.append(type(cmd).__name__)
        return await submit(cmd)

    monkeypatch.setattr(hx.sequencer, "submit", recording)
    create = "/api/v1/orders/create"
    order = {"symbol": "BTC", "amount": "0.001", "side": "bid", "tif": "ALO", "reduce_only": False}
    (s1, all_), (s2, late), (s3, other) = hx.concurrently(
        (
            CANCEL_ALL,
            hx.signed(CANCEL_ALL, alice, {"all_symbols": True, "exclude_reduce_only": False}),
        ),
        (create, hx.signed(create, alice, {**order, "price": "70000"})),
        (create, hx.signed(create, bob, {**order, "price": "70000"})),
    )
    assert (s1, s2, s3) == (200, 200, 200)
    assert all_["data"] == {"cancelled_count": 25} and all_["cancelled_count"] == 25
    assert applied == [
        "CancelAllOrders",
        "CreateOrder",
        "CreateOrder",
        "CancelAllOrders",
        "CancelAllOrders",
    ]
    open_ids = [o.order_id for o in hx.engine.open_orders(str(alice.pubkey()))]
    assert open_ids == [late["data"]["order_id"]]  # arrived after: not cancelled
    assert max(ids) < late["data"]["order_id"]
    assert [o.order_id for o in hx.engine.open_orders(str(bob.pubkey()))] == [
        other["data"]["order_id"]
    ]


def test_cancel_all_for_one_symbol_keeps_the_others(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    _rest(hx, alice)
    eth = _rest(hx, alice, symbol="ETH", price="3000", amount="0.01")
    status, body = hx.post_signed(
        CANCEL_ALL, alice, {"all_symbols": False, "symbol": "BTC", "exclude_reduce_only": False}
    )
    assert (status, body["cancelled_count"]) == (200, 1)
    assert [o["order_id"] for o in hx.open_orders(alice)] == [eth]


def test_cancel_all_parameter_errors(hx: Harness, alice: Keypair) -> None:
    for payload in (
        {"all_symbols": False, "exclude_reduce_only": False},
        {"all_symbols": True},
        {"all_symbols": "yes", "exclude_reduce_only": False},
    ):
        status, body = hx.post_signed(CANCEL_ALL, alice, payload)
        assert status == 400, payload
        assert body["error"].startswith("Invalid parameters"), body
        assert body["code"] == 400


def test_cancel_all_unknown_symbol_is_book_not_found(hx: Harness, alice: Keypair) -> None:
    status, body = hx.post_signed(
        CANCEL_ALL, alice, {"all_symbols": False, "symbol": "DOGE", "exclude_reduce_only": False}
    )
    assert (status, body["code"], body["error"]) == (422, 3, "Book not found: DOGE")


def test_bound_agent_can_cancel_and_cancel_all(hx: Harness, alice: Keypair, bob: Keypair) -> None:

    agent = keypair(9)
    hx.faucet(alice)
    status, body = hx.post_signed(
        "/api/v1/agent/bind", alice, {"agent_wallet": str(agent.pubkey())}
    )
    assert (status, body) == (200, {"success": True, "data": None, "error": None, "code": None})
    oid = _rest(hx, alice)
    _rest(hx, alice, price="95000")
    account = str(alice.pubkey())
    status, body = hx.post_signed(
        CANCEL,
        agent,
        {"symbol": "BTC", "order_id": oid},
        account=account,
        agent_wallet=str(agent.pubkey()),
    )
    assert (status, body["success"]) == (200, True)
    status, body = hx.post_signed(
        CANCEL_ALL,
        agent,
        {"all_symbols": True, "exclude_reduce_only": False},
        account=account,
        agent_wallet=str(agent.pubkey()),
    )
    assert (status, body["cancelled_count"]) == (200, 1)


def test_unbound_agent_is_not_authorized(hx: Harness, alice: Keypair) -> None:

    agent = keypair(10)
    hx.faucet(alice)
    oid = _rest(hx, alice)
    status, body = hx.post_signed(
        CANCEL,
        agent,
        {"symbol": "BTC", "order_id": oid},
        account=str(alice.pubkey()),
        agent_wallet=str(agent.pubkey()),
    )
    assert (status, body["error"], body["code"]) == (400, "Agent not authorized for account", 400)
    assert len(hx.open_orders(alice)) == 1


def test_agent_signature_without_agent_wallet_fails_verification(
    hx: Harness, alice: Keypair
) -> None:

    agent = keypair(11)
    hx.post_signed("/api/v1/agent/bind", alice, {"agent_wallet": str(agent.pubkey())})
    status, body = hx.post_signed(
        CANCEL_ALL,
        agent,
        {"all_symbols": True, "exclude_reduce_only": False},
        account=str(alice.pubkey()),
    )
    assert status == 400
    assert body["error"].startswith("Verification failed")
    assert body["error_id"] == "signature_verification_failed"


def test_revoked_agent_loses_access(hx: Harness, alice: Keypair) -> None:

    agent = keypair(12)
    pub = str(agent.pubkey())
    hx.post_signed("/api/v1/agent/bind", alice, {"agent_wallet": pub})
    status, body = hx.post_signed("/api/v1/agent/list", alice, {})
    assert body["data"] == {"agent_wallets": [pub]}
    status, body = hx.post_signed("/api/v1/agent/revoke", alice, {"agent_wallet": pub})
    assert status == 200
    status, body = hx.post_signed(
        CANCEL_ALL,
        agent,
        {"all_symbols": True, "exclude_reduce_only": False},
        account=str(alice.pubkey()),
        agent_wallet=pub,
    )
    assert (status, body["error"]) == (400, "Agent not authorized for account")
