"""The trust boundary of `serve --workers N`: what a gateway worker's signature verdicts are and
what the engine process accepts on their strength (gateway.preverify, gateway.signed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair
from tidepool.gateway import ws_trading
from tidepool.gateway.accesslog import Trace
from tidepool.gateway.preverify import verdicts, ws_verdicts
from tidepool.pacifica import canonical_message

CREATE = "/api/v1/orders/create"


@pytest.fixture
def hx() -> Iterator[Harness]:
    """One layout is enough: these tests call the engine side's dispatch directly."""
    h = Harness()
    yield h
    h.close()


def _order(price: str = "90000") -> dict[str, Any]:
    return {
        "symbol": "BTC",
        "price": price,
        "amount": "0.001",
        "side": "bid",
        "tif": "ALO",
        "reduce_only": False,
    }


def _dispatch(hx: Harness, path: str, body: dict[str, Any], verified: Any) -> tuple[int, Any]:
    response = hx.loop.run_until_complete(
        hx.gateway.dispatch("POST", path, b"", json.dumps(body).encode(), Trace(b""), verified)
    )
    return response.status, json.loads(response.body)


def _verdicts(path: str, body: dict[str, Any]) -> frozenset[Any]:
    return verdicts("POST", path, json.dumps(body).encode())


def test_a_verdict_names_the_key_signature_and_exact_message(hx: Harness, alice: Keypair) -> None:
    body = hx.signed(CREATE, alice, _order())
    ((public_key, signature, message),) = _verdicts(CREATE, body)
    assert public_key == bytes(alice.pubkey())
    assert message == canonical_message("create_order", body["timestamp"], 5000, _order())
    assert signature == bytes(alice.sign_message(message))


def test_no_verdict_no_order_the_engine_process_does_not_verify_itself(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    body = hx.signed(CREATE, alice, _order())
    before = hx.engine.state_hash()
    status, answer = _dispatch(hx, CREATE, body, frozenset())
    assert status == 400 and answer["error_id"] == "signature_verification_failed"
    assert hx.engine.state_hash() == before
    status, answer = _dispatch(hx, CREATE, body, _verdicts(CREATE, body))
    assert status == 200 and answer["data"]["order_id"] >= 1


def test_a_verdict_for_another_message_authorises_nothing(hx: Harness, alice: Keypair) -> None:
    """Same key and signature, different body: the message in the triple no longer matches."""
    hx.faucet(alice)
    genuine = hx.signed(CREATE, alice, _order("90000"))
    tampered = {**genuine, "price": "1"}
    status, answer = _dispatch(hx, CREATE, tampered, _verdicts(CREATE, genuine))
    assert status == 400 and answer["error_id"] == "signature_verification_failed"
    assert hx.engine.open_orders(str(alice.pubkey())) == []


def test_bad_signatures_and_bad_bodies_yield_no_verdicts(hx: Harness, alice: Keypair) -> None:
    body = hx.signed(CREATE, alice, _order())
    assert _verdicts(CREATE, {**body, "price": "1"}) == frozenset()
    assert _verdicts(CREATE, {**body, "side": 7}) == frozenset()
    assert verdicts("POST", CREATE, b"{not json") == frozenset()
    assert verdicts("GET", CREATE, json.dumps(body).encode()) == frozenset()


def test_a_batch_gets_one_verdict_per_action_up_to_the_first_bad_one(
    hx: Harness, alice: Keypair
) -> None:
    bob = keypair(2)
    actions = [
        {"type": "Create", "data": hx.signed(CREATE, alice, _order("90000"))},
        {"type": "Create", "data": hx.signed(CREATE, bob, _order("91000"))},
    ]
    path = "/api/v1/orders/batch"
    signers = {key for key, _, _ in _verdicts(path, {"actions": actions})}
    assert signers == {bytes(alice.pubkey()), bytes(bob.pubkey())}
    broken = [{**actions[0], "data": {**actions[0]["data"], "price": "1"}}, actions[1]]
    assert _verdicts(path, {"actions": broken}) == frozenset()


def test_an_expired_request_gets_its_verdict_but_the_engine_process_refuses_it(
    hx: Harness, alice: Keypair
) -> None:
    """Time is the engine process's business: a worker's verdict does not depend on its clock."""
    hx.faucet(alice)
    body = hx.signed(CREATE, alice, _order(), timestamp=hx.clock.now_ms() - 60_000)
    verified = _verdicts(CREATE, body)
    assert len(verified) == 1
    status, answer = _dispatch(hx, CREATE, body, verified)
    assert (status, answer["error"]) == (400, "Invalid message")


def _ws(op: str, body: dict[str, Any]) -> bytes:
    return json.dumps({"id": "r1", "params": {op: body}}).encode()


def _ws_answer(hx: Harness, frame: bytes, verified: Any) -> dict[str, Any]:
    reply = hx.loop.run_until_complete(
        ws_trading.answer(hx.exchange, json.loads(frame), verified=verified)
    )
    return dict(json.loads(reply))


def test_a_ws_trading_frame_gets_the_verdicts_of_its_body_and_other_frames_none(
    hx: Harness, alice: Keypair
) -> None:
    body = hx.signed(CREATE, alice, _order())
    assert ws_verdicts(_ws("create_order", body)) == _verdicts(CREATE, body) != frozenset()
    bob = keypair(2)
    actions = [
        {"type": "Create", "data": hx.signed(CREATE, alice, _order("90000"))},
        {"type": "Create", "data": hx.signed(CREATE, bob, _order("91000"))},
    ]
    signers = {key for key, _, _ in ws_verdicts(_ws("batch_orders", {"actions": actions}))}
    assert signers == {bytes(alice.pubkey()), bytes(bob.pubkey())}
    for frame in (
        _ws("create_order", {**body, "price": "1"}),
        _ws("no_such_operation", body),
        json.dumps({"method": "subscribe", "params": {"create_order": body}}).encode(),
        b"{not json",
    ):
        assert ws_verdicts(frame) == frozenset(), frame


def test_a_ws_trading_frame_without_a_verdict_is_refused_behind_workers(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    frame = _ws("create_order", hx.signed(CREATE, alice, _order()))
    refused = _ws_answer(hx, frame, frozenset())
    assert refused["code"] == 401 and refused["err"].startswith("Verification failed"), refused
    assert hx.engine.open_orders(str(alice.pubkey())) == []
    assert _ws_answer(hx, frame, ws_verdicts(frame))["code"] == 200


@pytest.mark.parametrize("workers", [False, True], ids=["one_process", "workers"])
def test_the_strict_profile_holds_behind_workers(workers: bool, alice: Keypair) -> None:
    """Duplicates and over-long windows are refused by the engine process, whatever verdicts the
    (profile-less) worker sent."""
    hx = Harness(strict=True, workers=workers)
    try:
        hx.faucet(alice)
        body = hx.signed(CREATE, alice, _order())
        assert hx.post(CREATE, body)[0] == 200
        status, answer = hx.post(CREATE, body)
        assert (status, answer["error"]) == (400, "Invalid message: duplicate request")
        status, answer = hx.post(CREATE, hx.signed(CREATE, alice, _order(), expiry_window=600_000))
        assert (status, answer["error"]) == (400, "Invalid message: expiry window too large")
    finally:
        hx.close()
