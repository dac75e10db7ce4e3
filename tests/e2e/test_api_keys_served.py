"""API config keys against a real `tidepool serve --rate-limit 3` (spec §3.7, §5.4, A10, A11):
the `PF-API-KEY` header on the WebSocket upgrade (403 refusal, `rl` on every reply, 429 over the
quota) and on REST, in both process layouts (the gateway workers forward it)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from solders.keypair import Keypair

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

QUOTA_UNITS = 30  # --rate-limit 3 credits, reported times ten


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def srv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    state: Path = tmp_path_factory.mktemp("keys") / "state"
    args = ("--speedbump-ms", "0", "--rate-limit", "3", *LAYOUTS[request.param])
    with ServerProcess(state, *args) as server:
        yield server


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _post(srv: ServerProcess, path: str, kp: Keypair, op: str, payload: dict[str, Any]) -> Any:
    body = signed_body(kp, op, payload, _now_ms())
    answer = httpx.post(f"{srv.api}{path}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _new_key(srv: ServerProcess, kp: Keypair) -> str:
    key: str = _post(srv, "/account/api_keys/create", kp, "create_api_key", {})["api_key"]
    return key


def _frame(kp: Keypair, op: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "params": {op: signed_body(kp, op, payload, _now_ms())}}


async def _call(ws: Any, frame: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(frame))
    while True:
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if reply.get("id") == frame["id"]:
            return reply


def _ws_url(srv: ServerProcess) -> str:
    return srv.url.replace("http://", "ws://") + "/ws"


CANCEL_ALL = {"all_symbols": True, "exclude_reduce_only": False}
ORDER = {"symbol": "BTC", "price": "90000", "amount": "0.001", "side": "bid", "tif": "ALO",
         "reduce_only": False}  # fmt: skip


def test_rest_checks_the_key_header_and_reports_the_quota_in_both_layouts(
    srv: ServerProcess,
) -> None:
    kp = keypair(61)
    key = _new_key(srv, kp)
    answer = httpx.get(f"{srv.api}/info", headers={"PF-API-KEY": key}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-ratelimit-remaining"] == str(QUOTA_UNITS - 10)
    assert answer.headers["x-ratelimit-limit"] == str(QUOTA_UNITS)
    assert answer.headers["ratelimit-policy"] == f'"credits";q={QUOTA_UNITS};w=60'
    refused = httpx.get(f"{srv.api}/info", headers={"PF-API-KEY": key + "x"}, timeout=10)
    assert refused.status_code == 403
    assert refused.json() == {
        "success": False, "data": None, "error": "Invalid API key: unknown or revoked",
        "code": 403, "error_id": "invalid_api_key",
    }  # fmt: skip
    assert "x-ratelimit-remaining" not in httpx.get(f"{srv.api}/info", timeout=10).headers


def test_an_upgrade_with_an_unknown_key_is_refused_with_403(srv: ServerProcess) -> None:
    async def scenario() -> None:
        headers = {"PF-API-KEY": "nosuchke_1111111111111111"}
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(_ws_url(srv), additional_headers=headers):
                pass
        assert refused.value.response.status_code == 403
        assert json.loads(refused.value.response.body)["error"].startswith("Invalid API key")

    asyncio.run(scenario())


def test_replies_on_a_keyed_connection_carry_rl_and_stop_at_the_quota(
    srv: ServerProcess,
) -> None:
    kp = keypair(62)
    httpx.post(f"{srv.url}/sandbox/faucet", json={"account": str(kp.pubkey()), "amount": "100000"})
    key = _new_key(srv, kp)

    async def scenario() -> None:
        url = _ws_url(srv)
        async with websockets.connect(url, additional_headers={"PF-API-KEY": key}) as ws:
            cancel = await _call(ws, _frame(kp, "cancel_all_orders", CANCEL_ALL))
            assert cancel["code"] == 200 and list(cancel)[-1] == "rl", cancel
            assert cancel["rl"]["q"] == QUOTA_UNITS and cancel["rl"]["r"] == QUOTA_UNITS - 5
            assert 0 < cancel["rl"]["t"] <= 60
            for _ in range(2):
                created = await _call(ws, _frame(kp, "create_order", ORDER))
                assert created["code"] == 200, created
            assert created["rl"]["r"] == 5
            over = await _call(ws, _frame(kp, "create_order", ORDER))
            assert (over["code"], over["err"], over["rl"]["r"]) == (429, "Rate limit exceeded", 5)
            assert over["type"] == "create_order" and over["id"] is not None
            last = await _call(ws, _frame(kp, "cancel_all_orders", CANCEL_ALL))
            assert last["data"] == {"cancelled_count": 2} and last["rl"]["r"] == 0
        async with websockets.connect(url) as ws:  # without a key: no rl, no quota
            plain = await _call(ws, _frame(kp, "cancel_all_orders", CANCEL_ALL))
            assert plain["code"] == 200 and "rl" not in plain

    asyncio.run(scenario())


def test_a_key_revoked_while_connected_is_refused_with_403(srv: ServerProcess) -> None:
    kp = keypair(63)
    key = _new_key(srv, kp)

    async def scenario() -> None:
        url = _ws_url(srv)
        async with websockets.connect(url, additional_headers={"PF-API-KEY": key}) as ws:
            assert (await _call(ws, _frame(kp, "cancel_all_orders", CANCEL_ALL)))["code"] == 200
            _post(srv, "/account/api_keys/revoke", kp, "revoke_api_key", {"api_key": key})
            refused = await _call(ws, _frame(kp, "cancel_all_orders", CANCEL_ALL))
            assert refused["code"] == 403 and "Invalid API key" in refused["err"], refused

    asyncio.run(scenario())
