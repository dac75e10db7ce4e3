"""The sandbox's cheats, as a bot's test suite uses them: set a balance, move several marks,
move and freeze time, snapshot and revert, reset, list the dev accounts. Every test runs in both
process layouts (the `hx` fixture)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from solders.keypair import Keypair

from harness import Harness
from tidepool.gateway.exchange import DevKeys
from tidepool.server.devaccounts import dev_accounts, fund_dev_accounts

DAY_MS = 86_400_000
CREATE = "/api/v1/orders/create"


def _hash(hx: Harness) -> str:
    status, body = hx.get("/sandbox/state_hash")
    assert status == 200, body
    return str(body["data"]["state_hash"])


def _balance(hx: Harness, kp: Keypair) -> str:
    status, body = hx.get("/api/v1/account", account=str(kp.pubkey()))
    assert status == 200, body
    return str(body["data"]["balance"])


def _marks(hx: Harness) -> dict[str, str]:
    status, body = hx.get("/api/v1/info/prices")
    assert status == 200, body
    return {p["symbol"]: p["mark"] for p in body["data"]}


def _time(hx: Harness) -> dict[str, Any]:
    status, body = hx.get("/sandbox/time")
    assert status == 200, body
    return dict(body["data"])


def _ok(answer: tuple[int, Any]) -> Any:
    status, body = answer
    assert status == 200, body
    assert body["success"] is True
    return body["data"]


def _refused(answer: tuple[int, Any], status: int = 400) -> str:
    got, body = answer
    assert got == status, body
    assert body["success"] is False and body["data"] is None
    return str(body["error"])


def _rest(
    hx: Harness, kp: Keypair, price: str = "95000", timestamp: int | None = None, **fields: Any
) -> int:
    """An ALO order (no speedbump), a bid unless `side` says otherwise, signed at the server's
    time unless `timestamp` says otherwise; its order id."""
    ts = hx.exchange.clock.now_ms() if timestamp is None else timestamp
    status, body = hx.post_signed(CREATE, kp, _order(price=price, **fields), timestamp=ts)
    assert status == 200, body
    return int(body["data"]["order_id"])


# ---- balance ---------------------------------------------------------------------------------


def test_set_balance_replaces_the_balance_and_keeps_collateral_conserved(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice, "500")
    data = _ok(hx.post("/sandbox/balance", {"account": str(alice.pubkey()), "balance": "1234.5"}))
    assert data == {"account": str(alice.pubkey()), "balance": "1234.5"}
    assert _balance(hx, alice) == "1234.5"
    _ok(hx.post("/sandbox/balance", {"account": str(alice.pubkey()), "balance": "0"}))
    assert _balance(hx, alice) == "0"
    hx.engine.check_invariants()  # the difference counts as a deposit or a withdrawal


@pytest.mark.parametrize(
    "body",
    [
        {"account": "not-a-key", "balance": "1"},
        {"balance": "1"},
        {"account": "ALICE"},
        {"account": "ALICE", "balance": "-1"},
        {"account": "ALICE", "balance": "abc"},
        {"account": "ALICE", "balance": 5},
        {"account": "ALICE", "balance": "1e400"},
    ],
)
def test_a_bad_balance_request_is_a_400_and_changes_nothing(
    hx: Harness, alice: Keypair, body: dict[str, Any]
) -> None:
    hx.faucet(alice, "500")
    if body.get("account") == "ALICE":
        body = {**body, "account": str(alice.pubkey())}
    before = _hash(hx)
    _refused(hx.post("/sandbox/balance", body))
    assert _hash(hx) == before


# ---- marks -----------------------------------------------------------------------------------


def test_several_marks_move_in_one_request(hx: Harness) -> None:
    data = _ok(hx.post("/sandbox/mark_price", {"prices": {"BTC": "100000", "ETH": "3500.5"}}))
    assert data == {"prices": {"BTC": "100000", "ETH": "3500.5"}}
    marks = _marks(hx)
    assert (marks["BTC"], marks["ETH"]) == ("100000", "3500.5")


@pytest.mark.parametrize(
    "prices",
    [
        {"BTC": "100000", "DOGE": "1"},
        {"BTC": "100000", "ETH": "-1"},
        {"BTC": "100000", "ETH": "lots"},
        {},
    ],
)
def test_one_bad_mark_moves_no_mark(hx: Harness, prices: dict[str, str]) -> None:
    before = _marks(hx)
    _refused(hx.post("/sandbox/mark_price", {"prices": prices}))
    assert _marks(hx) == before


def test_a_mark_request_with_both_forms_is_refused(hx: Harness) -> None:
    body = {"symbol": "BTC", "price": "1", "prices": {"ETH": "1"}}
    assert "not both" in _refused(hx.post("/sandbox/mark_price", body))


def test_several_marks_trigger_the_stops_of_each_market(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    stop = {
        "symbol": "ETH",
        "side": "ask",
        "reduce_only": False,
        "stop_order": {"stop_price": "3000", "amount": "0.1"},
    }
    status, body = hx.post_signed("/api/v1/orders/stop/create", alice, stop)
    assert status == 200, body
    stop_id = body["data"]["order_id"]
    assert any(o["order_id"] == stop_id for o in hx.open_orders(alice))
    _ok(hx.post("/sandbox/mark_price", {"prices": {"BTC": "90000", "ETH": "2900"}}))
    assert all(o["order_id"] != stop_id for o in hx.open_orders(alice))  # it fired


# ---- time ------------------------------------------------------------------------------------


def test_server_time_is_the_wall_clock_until_moved(hx: Harness) -> None:
    assert _time(hx) == {"now_ms": hx.clock.now_ms(), "frozen": False}
    hx.clock.advance(1234)
    assert _time(hx)["now_ms"] == hx.clock.now_ms()


def test_server_time_stands_still_when_the_machine_clock_is_stepped_back(hx: Harness) -> None:
    before = _time(hx)["now_ms"]
    hx.clock.advance(-10_000)  # NTP stepping the wall clock back
    assert _time(hx)["now_ms"] == before
    hx.clock.advance(10_005)
    assert _time(hx)["now_ms"] == before + 5


def test_advance_moves_server_time_and_the_stamps_of_new_orders(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    wall = hx.clock.now_ms()
    assert _ok(hx.post("/sandbox/time", {"advance_ms": DAY_MS})) == {
        "now_ms": wall + DAY_MS,
        "frozen": False,
    }
    hx.clock.advance(500)  # the server time runs on with the wall clock
    assert _time(hx)["now_ms"] == wall + DAY_MS + 500
    order_id = _rest(hx, alice, timestamp=hx.clock.now_ms() + DAY_MS)
    (order,) = hx.open_orders(alice)
    assert order["order_id"] == order_id
    assert order["created_at"] == wall + DAY_MS + 500


def test_a_request_signed_in_the_future_becomes_valid_after_advance(alice: Keypair) -> None:
    """Under --strict-auth a timestamp more than 5 s ahead is refused, until the server's time
    catches up with it."""
    strict = Harness(strict=True)
    try:
        strict.faucet(alice)
        future = strict.clock.now_ms() + 60_000
        refused = strict.post_signed(CREATE, alice, _order(), timestamp=future)
        assert "future" in _refused(refused)
        _ok(strict.post("/sandbox/time", {"advance_ms": 60_000}))
        _ok(strict.post_signed(CREATE, alice, _order(), timestamp=future))
    finally:
        strict.close()


def test_a_request_signed_now_expires_after_advance(hx: Harness, alice: Keypair) -> None:
    hx.faucet(alice)
    body = hx.signed(CREATE, alice, _order())  # signed at the wall clock, 5 s window
    _ok(hx.post("/sandbox/time", {"advance_ms": 5_001}))
    status, answer = hx.post(CREATE, body)
    assert status == 400, answer
    assert answer["error"].startswith("Invalid message")
    assert hx.open_orders(alice) == []


def test_set_moves_time_forward_and_never_back(hx: Harness) -> None:
    target = hx.clock.now_ms() + 10 * DAY_MS
    assert _ok(hx.post("/sandbox/time", {"set_ms": target}))["now_ms"] == target
    before = _hash(hx)
    assert "never goes backwards" in _refused(hx.post("/sandbox/time", {"set_ms": target - 1}))
    assert _time(hx)["now_ms"] == target
    assert _hash(hx) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"advance_ms": 1, "freeze": True},
        {"advance_ms": -1},
        {"advance_ms": 1.5},
        {"advance_ms": "10"},
        {"set_ms": 10**20},
        {"freeze": "yes"},
    ],
)
def test_a_bad_time_request_is_a_400_and_moves_nothing(hx: Harness, body: dict[str, Any]) -> None:
    before = _time(hx)
    _refused(hx.post("/sandbox/time", body))
    assert _time(hx) == before


def test_frozen_time_stands_still_and_orders_keep_their_sequence(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    frozen_at = _ok(hx.post("/sandbox/time", {"freeze": True}))
    assert frozen_at["frozen"] is True
    hx.clock.advance(5_000)
    assert _time(hx) == frozen_at
    first = _rest(hx, alice, price="95000")
    second = _rest(hx, alice, price="94000")
    assert second > first
    stamps = {o["created_at"] for o in hx.open_orders(alice)}
    assert stamps == {frozen_at["now_ms"]}  # the same ts; seq and order id keep them in order
    # advance while frozen: it stays frozen, further on
    assert _ok(hx.post("/sandbox/time", {"advance_ms": 1_000})) == {
        "now_ms": frozen_at["now_ms"] + 1_000,
        "frozen": True,
    }
    # unfreeze: it runs on from where it stood
    _ok(hx.post("/sandbox/time", {"freeze": False}))
    hx.clock.advance(250)
    assert _time(hx) == {"now_ms": frozen_at["now_ms"] + 1_250, "frozen": False}


def test_klines_follow_server_time(hx: Harness, alice: Keypair, bob: Keypair) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    _ok(hx.post("/sandbox/time", {"advance_ms": DAY_MS}))
    _rest(hx, alice, price="100000")
    now = _time(hx)["now_ms"]
    taker = _order(price="100000", side="ask", tif="IOC")
    _ok(hx.post_signed(CREATE, bob, taker, timestamp=now))
    status, body = hx.get("/api/v1/kline", symbol="BTC", interval="1m", start_time=now - 60_000)
    assert status == 200, body
    assert [c["n"] for c in body["data"]][-1] == 1  # the trade, in the candle of the new time
    assert body["data"][-1]["t"] <= now < body["data"][-1]["T"]


def _order(**fields: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "symbol": "BTC",
        "price": "95000",
        "amount": "0.001",
        "side": "bid",
        "tif": "ALO",
        "reduce_only": False,
    }
    order.update(fields)
    return order


# ---- snapshot and revert ---------------------------------------------------------------------


def _picture(hx: Harness, *kps: Keypair) -> dict[str, Any]:
    """What a revert must restore exactly, as a client reads it."""
    picture: dict[str, Any] = {"hash": _hash(hx), "marks": _marks(hx)}
    for kp in kps:
        account = str(kp.pubkey())
        picture[account] = (
            hx.open_orders(kp),
            _ok(hx.get("/api/v1/positions", account=account)),
            _balance(hx, kp),
        )
    return picture


def _trade_a_little(hx: Harness, alice: Keypair, bob: Keypair) -> None:
    _rest(hx, alice, price="100000", amount="0.01")
    status, body = hx.create(bob, price="100000", amount="0.004", side="ask", tif="IOC")
    assert status == 200, body
    _rest(hx, bob, price="101000", side="ask")
    _ok(hx.post("/sandbox/mark_price", {"prices": {"BTC": "99000", "ETH": "3000"}}))
    hx.faucet(alice, "77")


def test_revert_restores_the_state_of_the_snapshot_exactly(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.faucet(alice)
    hx.faucet(bob)
    _trade_a_little(hx, alice, bob)
    picture = _picture(hx, alice, bob)
    snap = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    _trade_a_little(hx, alice, bob)
    _ok(hx.post("/sandbox/balance", {"account": str(bob.pubkey()), "balance": "3"}))
    assert _picture(hx, alice, bob) != picture
    assert _ok(hx.post("/sandbox/revert", {"id": snap})) == {"id": snap}
    assert _picture(hx, alice, bob) == picture
    hx.engine.check_invariants()


def test_revert_drops_that_snapshot_and_later_ones_and_ids_are_never_reused(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    first = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    _rest(hx, alice)
    second = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    assert second > first
    _ok(hx.post("/sandbox/revert", {"id": first}))
    assert hx.open_orders(alice) == []
    for gone in (first, second):
        assert "not found" in _refused(hx.post("/sandbox/revert", {"id": gone}), 404)
    third = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    assert third > second


def test_orders_after_a_revert_get_the_ids_they_got_the_first_time(
    hx: Harness, alice: Keypair
) -> None:
    """A test run twice from the same snapshot sees the same order ids (the state hash
    includes the id counter, and a revert restores it)."""
    hx.faucet(alice)
    snap = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    first_run = [_rest(hx, alice), _rest(hx, alice, price="94000")]
    _ok(hx.post("/sandbox/revert", {"id": snap}))
    assert [_rest(hx, alice), _rest(hx, alice, price="94000")] == first_run


def test_revert_keeps_the_server_time(hx: Harness) -> None:
    snap = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    moved = _ok(hx.post("/sandbox/time", {"advance_ms": DAY_MS}))
    _ok(hx.post("/sandbox/revert", {"id": snap}))
    assert _time(hx) == moved  # time never goes backwards, not even on a revert


@pytest.mark.parametrize(
    "body", [{}, {"id": "1"}, {"id": 1.0}, {"id": True}, {"id": 999}, {"id": -1}]
)
def test_a_bad_revert_is_refused_and_changes_nothing(
    hx: Harness, alice: Keypair, body: dict[str, Any]
) -> None:
    hx.faucet(alice)
    _ok(hx.post("/sandbox/snapshot", {}))
    _rest(hx, alice)
    before = _hash(hx)
    status, answer = hx.post("/sandbox/revert", body)
    assert status in (400, 404), answer
    assert _hash(hx) == before


# ---- reset and dev accounts ------------------------------------------------------------------

DEV = dev_accounts(5, 3)
DEV_BALANCE = Decimal(2500)


@pytest.fixture
def dev(hx: Harness) -> Harness:
    """`hx` serving 3 dev accounts of seed 5, funded as a new state dir funds them."""
    hx.exchange.dev = DevKeys(tuple((a.public_key, a.secret_key) for a in DEV), DEV_BALANCE)
    hx.loop.run_until_complete(fund_dev_accounts(hx.exchange, DEV, DEV_BALANCE))
    return hx


def test_reset_gives_the_state_of_a_new_server(dev: Harness, alice: Keypair) -> None:
    new_server = _hash(dev)
    initial_marks = _marks(dev)
    dev.faucet(alice)
    dev_key = Keypair.from_base58_string(DEV[0].secret_key)
    _rest(dev, dev_key)
    _ok(dev.post("/sandbox/mark_price", {"prices": {"BTC": "1", "ETH": "2"}}))
    _ok(dev.post("/sandbox/balance", {"account": DEV[1].public_key, "balance": "1"}))
    assert _ok(dev.post("/sandbox/reset", {})) == {"accounts": 3, "balance": "2500"}
    assert _hash(dev) == new_server
    assert _marks(dev) == initial_marks
    assert _balance(dev, alice) == "0"
    assert [_balance(dev, Keypair.from_base58_string(a.secret_key)) for a in DEV] == ["2500"] * 3
    assert _rest(dev, dev_key) == 1  # order ids start again, as on a new server


def test_a_snapshot_taken_before_a_reset_can_still_be_reverted_to(
    dev: Harness, alice: Keypair
) -> None:
    dev.faucet(alice)
    _rest(dev, alice)
    picture = _picture(dev, alice)
    snap = _ok(dev.post("/sandbox/snapshot", {}))["id"]
    _ok(dev.post("/sandbox/reset", {}))
    _ok(dev.post("/sandbox/revert", {"id": snap}))
    assert _picture(dev, alice) == picture


def test_the_dev_accounts_are_listed_with_their_keys_and_balances(dev: Harness) -> None:
    _ok(dev.post("/sandbox/balance", {"account": DEV[2].public_key, "balance": "7"}))
    rows = _ok(dev.get("/sandbox/accounts"))
    assert rows == [
        {"index": i, "public_key": a.public_key, "secret_key": a.secret_key, "balance": b}
        for i, (a, b) in enumerate(zip(DEV, ["2500", "2500", "7"], strict=True))
    ]


# ---- across a restart ------------------------------------------------------------------------


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def _restarted(hx: Harness, state_dir: Path) -> Harness:
    """The same state dir opened by a new server (the old one closed: final snapshot)."""
    hx.loop.run_until_complete(hx.sequencer.close())
    hx.close()
    again = Harness(state_dir=state_dir)
    again.clock.set(hx.clock.now_ms())  # the wall clock went on
    return again


def test_a_revert_and_the_snapshots_survive_a_restart(state_dir: Path, alice: Keypair) -> None:
    hx = Harness(state_dir=state_dir)
    hx.faucet(alice)
    first = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    _rest(hx, alice)
    picture = _picture(hx, alice)
    second = _ok(hx.post("/sandbox/snapshot", {}))["id"]
    _rest(hx, alice, price="94000")
    _ok(hx.post("/sandbox/revert", {"id": second}))
    hx = _restarted(hx, state_dir)
    try:
        assert _picture(hx, alice) == picture
        _ok(hx.post("/sandbox/revert", {"id": first}))  # still there after the restart
        assert hx.open_orders(alice) == []
    finally:
        hx.loop.run_until_complete(hx.sequencer.close())
        hx.close()


def test_advanced_time_survives_a_restart(state_dir: Path, alice: Keypair) -> None:
    hx = Harness(state_dir=state_dir)
    hx.faucet(alice)
    advanced = _ok(hx.post("/sandbox/time", {"advance_ms": DAY_MS}))["now_ms"]
    hx.clock.advance(100)
    hx = _restarted(hx, state_dir)
    try:
        assert _time(hx) == {"now_ms": advanced + 100, "frozen": False}
        _rest(hx, alice, timestamp=advanced + 100)
        (order,) = hx.open_orders(alice)
        assert order["created_at"] == advanced + 100  # not a day earlier
    finally:
        hx.loop.run_until_complete(hx.sequencer.close())
        hx.close()


def test_frozen_time_stays_frozen_across_a_restart(state_dir: Path) -> None:
    hx = Harness(state_dir=state_dir)
    frozen = _ok(hx.post("/sandbox/time", {"freeze": True}))
    hx.clock.advance(60_000)
    hx = _restarted(hx, state_dir)
    try:
        assert _time(hx) == frozen
    finally:
        hx.loop.run_until_complete(hx.sequencer.close())
        hx.close()
