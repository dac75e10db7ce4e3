"""Bad input gets a clear error and changes nothing; nothing crashes the server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from solders.keypair import Keypair

from harness import Harness

CREATE = "/api/v1/orders/create"


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"a":1}garbage', b'"str"', b"1e999"]
)
def test_malformed_json_is_400(hx: Harness, raw: bytes) -> None:
    status, body = hx.request("POST", CREATE, body=raw)
    assert status == 400
    assert body["success"] is False and body["code"] == 400 and body["data"] is None


@pytest.mark.parametrize("chunks", [1, 3])
def test_a_body_over_one_mebibyte_is_413_in_one_chunk_or_several(
    hx: Harness, alice: Keypair, chunks: int
) -> None:
    big = hx.signed(CREATE, alice, {"symbol": "BTC", "pad": "x" * (1 << 20)})
    raw = json.dumps(big).encode()
    size = -(-len(raw) // chunks)
    parts = [raw[i : i + size] for i in range(0, len(raw), size)]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": CREATE, "query_string": b""}
    hx.loop.run_until_complete(hx.app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == "Request body larger than 1048576 bytes"
    status, _ = hx.create(alice)  # and the server goes on
    assert status in (200, 422)


def test_unknown_path_is_404_and_wrong_method_405(hx: Harness) -> None:
    assert hx.get("/api/v1/nope")[0] == 404
    assert hx.get(CREATE)[0] == 405


def test_health(hx: Harness) -> None:
    assert hx.get("/health") == (
        200,
        {"success": True, "data": {"status": "ok"}, "error": None, "code": None},
    )


def test_expired_request_is_invalid_message(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    ts = hx.clock.now_ms() - 5001
    body = hx.signed(CREATE, alice, _order(), timestamp=ts, expiry_window=5000)
    status, resp = hx.post(CREATE, body)
    assert (status, resp["code"]) == (400, 400)
    assert resp["error"].startswith("Invalid message")
    # exactly at the boundary is still valid
    body = hx.signed(CREATE, alice, _order(), timestamp=ts + 1, expiry_window=5000)
    assert hx.post(CREATE, body)[0] == 200


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(price="100001"), "Verification failed"),
        (lambda b: b.update(signature="not-base58-0OIl"), "Invalid signature"),
        (lambda b: b.update(signature="3" * 20), "Invalid signature"),
        (lambda b: b.update(account="abc"), "Invalid public key"),
    ],
)
def test_signature_problems(hx: Harness, alice: Keypair, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    hx.faucet(alice)
    body = hx.signed(CREATE, alice, _order())
    mutate(body)
    status, resp = hx.post(CREATE, body)
    assert status == 400
    assert resp["error"].startswith(message)
    assert hx.open_orders(alice) == []


def test_unexpected_exception_is_500_and_state_is_unchanged(
    hx: Harness, alice: Keypair, monkeypatch: pytest.MonkeyPatch
) -> None:
    hx.faucet(alice)
    hx.create(alice, price="90000")
    before = hx.engine.state_hash()

    engine = hx.engine
    real_apply = engine.apply

    def boom(cmd: object) -> None:
        real_apply(cmd)  # type: ignore[arg-type]  # mutate first, then fail: a half-applied command
        raise RuntimeError("injected")

    monkeypatch.setattr(engine, "apply", boom)
    status, body = hx.create(alice, price="91000")
    monkeypatch.undo()
    assert (status, body) == (
        500,
        {"success": False, "data": None, "error": "Internal server error", "code": 500},
    )
    assert hx.engine.state_hash() == before
    assert hx.create(alice, price="92000")[0] == 200


def _order() -> dict[str, object]:
    return {
        "symbol": "BTC",
        "price": "100000",
        "amount": "0.001",
        "side": "bid",
        "tif": "GTC",
        "reduce_only": False,
    }
