"""What a hostile or careless client can send, and what it must get: a clear 4xx in the
envelope, an unchanged state, and an exchange that keeps taking everyone else's writes
(issue 12). Each test runs in both process layouts where the layout matters."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness import Harness
from pacifica_recipe import keypair
from tidepool.journal import segments

KP = keypair(31)
OTHER = keypair(32)
CANCEL = "/api/v1/orders/cancel"


@pytest.fixture
def funded(hx: Harness) -> Harness:
    """The conftest's harness (both process layouts) with two funded accounts."""
    hx.faucet(KP)
    hx.faucet(OTHER)
    return hx


def _other_can_still_trade(hx: Harness) -> None:
    status, body = hx.create(OTHER, price="90000", tif="ALO")
    assert status == 200, body


def _batch(hx: Harness, action: str, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
    data = hx.signed(path, KP, payload)
    return hx.post("/api/v1/orders/batch", {"actions": [{"type": action, "data": data}]})


@pytest.mark.parametrize("order_id", [2**64, 2**70, -1, -(2**63) - 1])
def test_an_order_id_outside_u64_is_a_400_naming_it_and_writes_go_on(
    funded: Harness, order_id: int
) -> None:
    hx = funded
    before = hx.engine.state_hash()
    for path in (CANCEL, "/api/v1/orders/stop/cancel"):
        status, body = hx.post_signed(path, KP, {"symbol": "BTC", "order_id": order_id})
        assert status == 400 and "order_id" in body["error"], body
    status, body = hx.post_signed(
        "/api/v1/orders/edit", KP, {"symbol": "BTC", "price": "90000", "order_id": order_id}
    )
    assert status == 400 and "order_id" in body["error"], body
    status, body = _batch(hx, "Cancel", CANCEL, {"symbol": "BTC", "order_id": order_id})
    assert status == 400 and "order_id" in body["error"], body
    assert hx.engine.state_hash() == before
    _other_can_still_trade(hx)


def test_the_largest_u64_order_id_is_simply_not_found(funded: Harness) -> None:
    hx = funded
    status, body = hx.post_signed(CANCEL, KP, {"symbol": "BTC", "order_id": 2**64 - 1})
    assert (status, body["error"]) == (400, "Order not found")
    _other_can_still_trade(hx)


@pytest.mark.parametrize("leverage", [2**64, 10**6, -1])
def test_an_absurd_leverage_is_a_400_naming_it(funded: Harness, leverage: int) -> None:
    hx = funded
    status, body = hx.post_signed(
        "/api/v1/account/leverage", KP, {"symbol": "BTC", "leverage": leverage}
    )
    assert status == 400 and "leverage" in body["error"], body
    _other_can_still_trade(hx)


@pytest.mark.parametrize(
    "price",
    ["1" * 29, "1" * 21, "９５０００", "95000\n", "\t95000", " 95000", "95000 ", "9.5e4", "+95000"],
)
def test_a_price_that_is_not_a_plain_ascii_decimal_of_sane_size_is_a_400(
    funded: Harness, price: str
) -> None:
    hx = funded
    before = hx.engine.state_hash()
    status, body = hx.create(KP, price=price)
    assert status == 400 and body["error"].startswith("Price"), body
    assert hx.engine.state_hash() == before


def test_an_amount_too_large_for_the_lot_grid_is_a_400_not_a_500(funded: Harness) -> None:
    hx = funded
    # 20 integer digits parse, but in BTC lots (0.00001) they are far beyond int64.
    status, body = hx.create(KP, amount="9" * 20)
    assert status == 400 and "Amount" in body["error"] and "too large" in body["error"], body
    _other_can_still_trade(hx)


@pytest.mark.parametrize("depth", [40, 700, 1000, 100_000])
def test_deeply_nested_json_is_a_400_envelope(funded: Harness, depth: int) -> None:
    hx = funded
    nested = b"[" * depth + b"]" * depth
    for path in (CANCEL, "/api/v1/orders/batch", "/sandbox/faucet"):
        status, body = hx.request("POST", path, body=b'{"symbol":' + nested + b"}")
        assert status == 400 and "nested" in body["error"], body
    # Inside a batch action's signed data, too.
    body_bytes = b'{"actions":[{"type":"Cancel","data":{"x":' + nested + b"}}]}"
    status, body = hx.request("POST", "/api/v1/orders/batch", body=body_bytes)
    assert status == 400 and "nested" in body["error"], body
    _other_can_still_trade(hx)


def test_a_signed_body_nested_within_the_bound_still_works(funded: Harness) -> None:
    hx = funded
    status, body = hx.create(KP, price="90000", tif="ALO")
    assert status == 200, body
    order_id = body["data"]["order_id"]
    status, body = hx.post_signed(CANCEL, KP, {"symbol": "BTC", "order_id": order_id})
    assert status == 200, body


# --------------------------------------------------------------------- the sandbox routes


def test_a_web_page_cannot_move_prices(funded: Harness) -> None:
    hx = funded
    before = hx.engine.state_hash()
    body = json.dumps({"symbol": "BTC", "price": "1"}).encode()
    refused = [
        # The form a page may send without a preflight: a "simple" content type.
        [(b"content-type", b"text/plain"), (b"origin", b"http://evil.example")],
        [(b"content-type", b"text/plain")],
        [],
        # JSON, but from a foreign or opaque origin.
        [(b"content-type", b"application/json"), (b"origin", b"http://evil.example")],
        [(b"content-type", b"application/json"), (b"origin", b"null")],
        [(b"content-type", b"application/json"), (b"origin", b"http://127.0.0.1.evil.example")],
    ]
    for headers in refused:
        status, answer = hx.request("POST", "/sandbox/mark_price", body=body, headers=headers)
        assert status in (403, 415) and answer["success"] is False, (headers, answer)
    assert hx.engine.state_hash() == before


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-type", b"application/json")],
        [(b"content-type", b"application/json; charset=utf-8")],
        [(b"content-type", b"application/json"), (b"origin", b"http://localhost:3000")],
        [(b"content-type", b"application/json"), (b"origin", b"http://127.0.0.1:8080")],
        [(b"content-type", b"application/json"), (b"origin", b"http://[::1]:5173")],
    ],
)
def test_local_programs_and_local_pages_can_use_the_sandbox(
    funded: Harness, headers: list[tuple[bytes, bytes]]
) -> None:
    hx = funded
    body = json.dumps({"symbol": "BTC", "price": "101000"}).encode()
    status, answer = hx.request("POST", "/sandbox/mark_price", body=body, headers=headers)
    assert status == 200, answer


def test_sandbox_off_removes_the_sandbox_routes() -> None:
    hx = Harness(sandbox=False)
    try:
        status, body = hx.post("/sandbox/faucet", {"account": str(KP.pubkey()), "amount": "10"})
        assert status == 404 and body["success"] is False
        assert hx.get("/sandbox/state_hash")[0] == 404
        assert hx.get("/health")[0] == 200
    finally:
        hx.close()


# ------------------------------------------------------------- a journal that cannot write


def test_a_full_disk_answers_503_and_ready_says_why_until_it_has_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hx = Harness(state_dir=tmp_path / "state")
    hx.faucet(KP)
    hx.faucet(OTHER)
    hx.sequencer.probe_interval_s = 0.0
    assert hx.get("/ready")[0] == 200
    real_write_all = segments.write_all

    def disk_full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(segments, "write_all", disk_full)
    before = hx.engine.state_hash()
    for _ in range(2):
        status, body = hx.create(KP, price="90000", tif="ALO")
        assert status == 503 and body["error"].startswith("Service unavailable: "), body
        assert "No space left" in body["error"]
    status, body = hx.get("/ready")
    assert status == 503 and "No space left" in body["error"], body
    assert hx.get("/health")[0] == 200  # liveness is another question
    assert hx.engine.state_hash() == before

    monkeypatch.setattr(segments, "write_all", real_write_all)
    assert hx.get("/ready")[0] == 200
    _other_can_still_trade(hx)
    hx.loop.run_until_complete(hx.sequencer.close())
    hx.close()
