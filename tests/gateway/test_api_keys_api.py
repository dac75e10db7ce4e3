"""API config keys over REST (spec §3.7, A11): create, list and revoke as the official SDK's
rest/api_config_keys.py signs them and Hummingbot's connector reads them at start-up; the
`PF-API-KEY` header (403 for a key that is not active); and the `--rate-limit` quota
(x-ratelimit-* headers, 429)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import base58
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.engine import Engine
from tidepool.gateway.ratelimit import RateMeter
from tidepool.journal.tail import commands_since

CREATE = "/api/v1/account/api_keys/create"
REVOKE = "/api/v1/account/api_keys/revoke"
LIST = "/api/v1/account/api_keys"
AGENT = keypair(9)


def _create(hx: Harness, kp: Keypair, **kw: Any) -> str:
    status, body = hx.post_signed(CREATE, kp, {}, **kw)
    assert status == 200, body
    assert set(body) == {"success", "data", "error", "code"} and set(body["data"]) == {"api_key"}
    key: str = body["data"]["api_key"]
    return key


def _list(hx: Harness, kp: Keypair, **kw: Any) -> tuple[int, Any]:
    return hx.post_signed(LIST, kp, {}, **kw)


def _keyed(hx: Harness, key: str, method: str = "GET", path: str = "/api/v1/info") -> Any:
    return hx.request(method, path, headers=[(b"pf-api-key", key.encode())])


def test_a_key_is_created_listed_and_revoked_with_pacificas_answers(
    hx: Harness, alice: Keypair
) -> None:
    assert _list(hx, alice) == (
        200,
        {"success": True, "data": {"active_api_keys": [], "api_key_limit": 5}, "error": None,
         "code": None},
    )  # fmt: skip
    key = _create(hx, alice)
    prefix, _, rest = key.partition("_")
    assert prefix == str(alice.pubkey())[:8] and len(base58.b58decode(rest)) == 16
    assert _list(hx, alice)[1]["data"] == {"active_api_keys": [key], "api_key_limit": 5}
    assert hx.post_signed(REVOKE, alice, {"api_key": key}) == (
        200,
        {"success": True, "data": None, "error": None, "code": None},
    )
    assert _list(hx, alice)[1]["data"]["active_api_keys"] == []


def test_keys_are_random_and_listed_oldest_first(hx: Harness, alice: Keypair) -> None:
    keys = [_create(hx, alice) for _ in range(3)]
    assert len(set(keys)) == 3
    assert _list(hx, alice)[1]["data"]["active_api_keys"] == keys


def test_a_sixth_key_is_refused_naming_the_limit_of_five(hx: Harness, alice: Keypair) -> None:
    keys = [_create(hx, alice) for _ in range(5)]
    before = hx.engine.state_hash()
    status, body = hx.post_signed(CREATE, alice, {})
    assert status == 422 and body["success"] is False, body
    assert body["error"] == f"API key limit reached for {alice.pubkey()}: 5"
    assert hx.engine.state_hash() == before
    hx.post_signed(REVOKE, alice, {"api_key": keys[0]})
    _create(hx, alice)  # a revoked key frees its place


def test_revoking_an_unknown_or_someone_elses_key_is_a_400_that_changes_nothing(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    bobs = _create(hx, bob)
    before = hx.engine.state_hash()
    for key in (bobs, "nosuchke_1111111111111111"):
        status, body = hx.post_signed(REVOKE, alice, {"api_key": key})
        assert status == 400 and body["error_id"] == "api_key_not_found", body
        assert body["error"] == f"API key {key} is not an active key of account {alice.pubkey()}"
    assert hx.engine.state_hash() == before
    assert _list(hx, bob)[1]["data"]["active_api_keys"] == [bobs]
    status, body = hx.post(REVOKE, hx.signed(REVOKE, alice, {}))  # no api_key at all
    assert status == 400 and "api_key" in body["error"], body


def test_a_bound_agent_manages_keys_as_hummingbot_does_and_an_unbound_one_cannot(
    hx: Harness, alice: Keypair
) -> None:
    account = str(alice.pubkey())
    agent = str(AGENT.pubkey())
    as_agent = {"account": account, "agent_wallet": agent}
    for path in (LIST, CREATE):
        status, body = hx.post_signed(path, AGENT, {}, **as_agent)
        assert (status, body["error"]) == (400, "Agent not authorized for account"), path
    assert hx.post_signed("/api/v1/agent/bind", alice, {"agent_wallet": agent})[0] == 200
    # The connector's start-up: list the keys, create one when there is none.
    assert _list(hx, AGENT, **as_agent)[1]["data"]["active_api_keys"] == []
    key = _create(hx, AGENT, **as_agent)
    assert _list(hx, alice)[1]["data"]["active_api_keys"] == [key]
    assert hx.post_signed(REVOKE, AGENT, {"api_key": key}, **as_agent)[0] == 200
    assert _list(hx, AGENT, **as_agent)[1]["data"]["active_api_keys"] == []


def test_an_active_key_is_accepted_on_any_request_and_changes_no_answer(
    hx: Harness, alice: Keypair
) -> None:
    key = _create(hx, alice)
    assert _keyed(hx, key) == hx.get("/api/v1/info")
    assert hx.last_headers == {}  # no quota configured: nothing to report
    hx.faucet(alice)
    order = hx.signed("/api/v1/orders/create", alice, _order())
    status, body = hx.request(
        "POST", "/api/v1/orders/create", body=_json(order), headers=[(b"pf-api-key", key.encode())]
    )
    assert status == 200 and body["data"]["order_id"] > 0, body


def test_an_unknown_or_revoked_key_is_refused_with_403_and_nothing_happens(
    hx: Harness, alice: Keypair
) -> None:
    key = _create(hx, alice)
    hx.post_signed(REVOKE, alice, {"api_key": key})
    hx.faucet(alice)
    before = hx.engine.state_hash()
    forbidden = (
        403,
        {"success": False, "data": None, "error": "Invalid API key: unknown or revoked",
         "code": 403, "error_id": "invalid_api_key"},
    )  # fmt: skip
    order = _json(hx.signed("/api/v1/orders/create", alice, _order()))
    for bad in (key, "nosuchke_1111111111111111"):
        assert _keyed(hx, bad) == forbidden
        assert _keyed(hx, bad, "POST", "/api/v1/orders/create") == forbidden
        headers = [(b"pf-api-key", bad.encode())]
        assert hx.request("POST", "/api/v1/orders/create", body=order, headers=headers) == forbidden
    assert hx.engine.state_hash() == before and hx.open_orders(alice) == []


def test_over_the_quota_a_request_is_refused_with_429_until_the_window_moves_on(
    hx: Harness, alice: Keypair
) -> None:
    hx.exchange.meter = RateMeter(2)  # `serve --rate-limit 2`
    key = _create(hx, alice)
    hx.faucet(alice)
    headers = [(b"pf-api-key", key.encode())]

    def create(price: str) -> tuple[int, Any]:
        order = _json(hx.signed("/api/v1/orders/create", alice, _order(price)))
        return hx.request("POST", "/api/v1/orders/create", body=order, headers=headers)

    assert create("90000")[0] == 200
    assert hx.last_headers == {
        "x-ratelimit-remaining": "10",
        "x-ratelimit-limit": "20",
        "x-ratelimit-reset": "60",
        "ratelimit": '"credits";r=10;t=60',
        "ratelimit-policy": '"credits";q=20;w=60',
    }  # credits times ten, as Pacifica reports them
    hx.clock.advance(20_000)
    assert _keyed(hx, key)[0] == 200  # any request counts
    assert hx.last_headers["x-ratelimit-remaining"] == "0"
    assert hx.last_headers["x-ratelimit-reset"] == "40"  # the first charge expires then
    before = hx.engine.state_hash()
    assert create("91000") == (
        429,
        {"success": False, "data": None, "error": "Rate limit exceeded", "code": 429,
         "error_id": "rate_limit_exceeded"},
    )  # fmt: skip
    assert hx.last_headers["x-ratelimit-remaining"] == "0"
    assert hx.engine.state_hash() == before and len(hx.open_orders(alice)) == 1
    assert hx.get("/api/v1/info")[0] == 200  # without a key: not metered
    hx.clock.advance(40_000)  # the first charge leaves the window
    assert create("91000")[0] == 200
    assert hx.last_headers["x-ratelimit-remaining"] == "0"


def test_a_cancel_costs_half_a_credit_and_all_keys_of_an_account_share_its_quota(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.exchange.meter = RateMeter(3)
    first, second = _create(hx, alice), _create(hx, alice)
    cancel = hx.signed("/api/v1/orders/cancel", alice, {"symbol": "BTC", "order_id": 1})
    headers = [(b"pf-api-key", first.encode())]
    hx.request("POST", "/api/v1/orders/cancel", body=_json(cancel), headers=headers)
    assert hx.last_headers["x-ratelimit-remaining"] == "25"
    _keyed(hx, second)
    assert hx.last_headers["x-ratelimit-remaining"] == "15"
    _keyed(hx, _create(hx, bob))
    assert hx.last_headers["x-ratelimit-remaining"] == "20"  # bob's own budget


def test_keys_survive_a_restart_and_replay_from_the_journal(tmp_path: Path) -> None:
    state = tmp_path / "state"
    alice = keypair(1)
    hx = Harness(state_dir=state)
    keys = [_create(hx, alice) for _ in range(3)]
    hx.post_signed(REVOKE, alice, {"api_key": keys[1]})
    state_hash = hx.engine.state_hash()
    hx.loop.run_until_complete(hx.sequencer.close())  # a final snapshot
    hx.close()
    # The journal alone rebuilds the same keys: they travel in the commands.
    replayed = Engine(DEFAULT_MARKETS)
    for cmd in commands_since(state, 0):
        replayed.replay(cmd)
    assert replayed.api_keys(str(alice.pubkey())) == [keys[0], keys[2]]
    assert replayed.state_hash() == state_hash
    # So does the snapshot a restart reads.
    again = Harness(state_dir=state)
    try:
        assert again.engine.state_hash() == state_hash
        assert _list(again, alice)[1]["data"]["active_api_keys"] == [keys[0], keys[2]]
        assert _keyed(again, keys[0])[0] == 200 and _keyed(again, keys[1])[0] == 403
    finally:
        again.loop.run_until_complete(again.sequencer.close())
        again.close()


def _order(price: str = "90000") -> dict[str, Any]:
    return {
        "symbol": "BTC",
        "price": price,
        "amount": "0.001",
        "side": "bid",
        "tif": "ALO",
        "reduce_only": False,
    }


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_the_official_sdks_bodies_with_a_null_agent_wallet_are_served(
    hx: Harness, alice: Keypair
) -> None:
    """rest/api_config_keys.py sends `"agent_wallet": None` next to the signed fields."""
    created = hx.post(CREATE, {**hx.signed(CREATE, alice, {}), "agent_wallet": None})
    assert created[0] == 200, created
    key = created[1]["data"]["api_key"]
    listed = hx.post(LIST, {**hx.signed(LIST, alice, {}), "agent_wallet": None})
    assert listed[1]["data"]["active_api_keys"] == [key]
    revoke = {**hx.signed(REVOKE, alice, {"api_key": key}), "agent_wallet": None}
    assert hx.post(REVOKE, revoke)[0] == 200
