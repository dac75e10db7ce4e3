"""`--strict-auth` across a restart, in process: every signed write route's replay stays
refused, a snapshot in between changes nothing, and what has expired is not remembered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import base58
import msgspec
import pytest

from harness import Harness
from pacifica_recipe import keypair, signed_body
from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.commands import Command, CreateOrder, SignatureRecord
from tidepool.engine.engine import EngineConfig
from tidepool.gateway.verify import ReplayGuard
from tidepool.journal.layout import list_snapshots
from tidepool.journal.tail import commands_since
from tidepool.runtime.sequencer import Sequencer
from tidepool.server.replays import journal_retention_ms, recovered_guard

DUPLICATE = "Invalid message: duplicate request"
WINDOW = 30_000
ALICE = keypair(1)
AGENT = str(keypair(9).pubkey())
ORDER = {
    "symbol": "BTC",
    "price": "100000",
    "amount": "0.001",
    "side": "bid",
    "tif": "GTC",
    "reduce_only": False,
}


class Restartable:
    """A strict in-process server on a state dir, restarted as `tidepool serve` restarts: the
    sequencer closed (final snapshot), then the state dir recovered and the guard rebuilt."""

    def __init__(
        self, state_dir: Path, snapshot_every: int = 100_000, *, strict: bool = True
    ) -> None:
        self.hx = Harness(strict=strict)
        self.state_dir = state_dir
        self.snapshot_every = snapshot_every
        self._open()

    def _open(self) -> None:
        ex = self.hx.exchange
        ex.pipeline.sequencer = Sequencer.open(
            self.state_dir,
            DEFAULT_MARKETS,
            EngineConfig(),
            self.hx.clock,
            "process",
            self.snapshot_every,
            gc_policy=False,
            background_snapshots=False,
            retain_journal_ms=journal_retention_ms(ex.policy),
        )
        if ex.policy.strict:
            now = self.hx.clock.now_ms()
            ex.replay_guard = recovered_guard(self.state_dir, ex.policy, now)

    def restart(self) -> None:
        self.hx.loop.run_until_complete(self.hx.exchange.sequencer.close())
        self._open()

    def close(self) -> None:
        self.hx.loop.run_until_complete(self.hx.exchange.sequencer.close())
        self.hx.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Restartable]:
    srv = Restartable(tmp_path / "state")
    srv.hx.faucet(ALICE)
    yield srv
    srv.close()


def _signed(srv: Restartable, op_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    now = srv.hx.clock.now_ms()
    return signed_body(ALICE, op_type, payload, now, expiry_window=WINDOW)


# Every signed route that journals a command, with a payload that reaches the engine (which may
# reject it: a rejected command is journaled all the same).
WRITES: dict[str, tuple[str, dict[str, Any]]] = {
    "/api/v1/orders/create": ("create_order", ORDER),
    "/api/v1/orders/create_market": (
        "create_market_order",
        {
            "symbol": "BTC",
            "amount": "0.001",
            "side": "bid",
            "slippage_percent": "0.5",
            "reduce_only": False,
        },
    ),
    "/api/v1/orders/edit": ("edit_order", {"symbol": "BTC", "order_id": 77, "price": "99000"}),
    "/api/v1/orders/cancel": ("cancel_order", {"symbol": "BTC", "order_id": 77}),
    "/api/v1/orders/cancel_all": (
        "cancel_all_orders",
        {"all_symbols": True, "exclude_reduce_only": False},
    ),
    "/api/v1/orders/stop/create": (
        "create_stop_order",
        {
            "symbol": "BTC",
            "side": "ask",
            "reduce_only": True,
            "stop_order": {"stop_price": "90000"},
        },
    ),
    "/api/v1/orders/stop/cancel": ("cancel_stop_order", {"symbol": "BTC", "order_id": 77}),
    "/api/v1/positions/tpsl": (
        "set_position_tpsl",
        {"symbol": "BTC", "side": "ask", "take_profit": {"stop_price": "120000"}},
    ),
    "/api/v1/account/leverage": ("update_leverage", {"symbol": "BTC", "leverage": 5}),
    "/api/v1/account/margin": ("update_margin_mode", {"symbol": "BTC", "is_isolated": True}),
    "/api/v1/agent/bind": ("bind_agent_wallet", {"agent_wallet": AGENT}),
    "/api/v1/agent/revoke": ("revoke_agent_wallet", {"agent_wallet": AGENT}),
    "/api/v1/agent/revoke_all": ("revoke_all_agent_wallets", {}),
    "/api/v1/account/api_keys/create": ("create_api_key", {}),
    "/api/v1/account/api_keys/revoke": ("revoke_api_key", {"api_key": "AbCdEfGh_x"}),
}


@pytest.mark.parametrize("path", sorted(WRITES))
def test_every_signed_write_replayed_after_a_restart_is_refused(
    server: Restartable, path: str
) -> None:
    op_type, payload = WRITES[path]
    body = _signed(server, op_type, payload)
    journaled = server.hx.exchange.sequencer.last_seq
    server.hx.post(path, body)
    assert server.hx.exchange.sequencer.last_seq > journaled  # the engine saw it, accepted or not
    server.hx.clock.advance(1_000)
    server.restart()
    before = server.hx.engine.state_hash()
    assert server.hx.post(path, body) == (
        400,
        {"success": False, "data": None, "error": DUPLICATE, "code": 400},
    )
    assert server.hx.engine.state_hash() == before


def test_each_action_of_a_batch_replayed_after_a_restart_is_refused(server: Restartable) -> None:
    first = _signed(server, "create_order", ORDER)
    second = _signed(server, "create_order", {**ORDER, "price": "99000"})
    batch = {"actions": [{"type": "Create", "data": first}, {"type": "Create", "data": second}]}
    status, answer = server.hx.post("/api/v1/orders/batch", batch)
    assert status == 200 and all(r["success"] for r in answer["data"]["results"]), answer
    server.restart()
    fresh = _signed(server, "create_order", {**ORDER, "price": "98000"})
    again = {"actions": [{"type": "Create", "data": fresh}, {"type": "Create", "data": second}]}
    status, answer = server.hx.post("/api/v1/orders/batch", again)
    assert (status, answer["error"]) == (400, DUPLICATE)
    assert len(server.hx.open_orders(ALICE)) == 2


def test_a_replay_behind_several_snapshots_is_still_refused(tmp_path: Path) -> None:
    srv = Restartable(tmp_path / "state", snapshot_every=1)
    try:
        srv.hx.faucet(ALICE)
        body = _signed(srv, "create_order", ORDER)
        status, answer = srv.hx.post("/api/v1/orders/create", body)
        assert status == 200, answer
        for _ in range(3):
            srv.hx.faucet(ALICE)  # one snapshot each, and compaction
        srv.restart()
        assert list_snapshots(srv.state_dir)[0][0] > 2  # the order's command is behind both
        assert srv.hx.post("/api/v1/orders/create", body)[1]["error"] == DUPLICATE
        assert len(srv.hx.open_orders(ALICE)) == 1
    finally:
        srv.close()


def test_after_its_window_a_replay_is_refused_as_expired_and_not_remembered(
    server: Restartable,
) -> None:
    body = _signed(server, "create_order", ORDER)
    assert server.hx.post("/api/v1/orders/create", body)[0] == 200
    server.hx.clock.advance(WINDOW + 1)
    server.restart()
    guard = server.hx.exchange.replay_guard
    assert guard is not None and len(guard) == 0
    status, answer = server.hx.post("/api/v1/orders/create", body)
    assert (status, answer["error"]) == (400, "Invalid message")
    assert len(server.hx.open_orders(ALICE)) == 1


def test_a_signature_restored_on_its_last_valid_millisecond_is_kept_and_one_later_is_not() -> None:
    guard = ReplayGuard()
    guard.remember("signer", b"s" * 64, expires_at_ms=1_000, now_ms=1_000)
    guard.remember("signer", b"t" * 64, expires_at_ms=999, now_ms=1_000)
    assert len(guard) == 1
    assert guard.check_and_record("signer", b"s" * 64, 1_000, now_ms=1_000)
    assert not guard.check_and_record("signer", b"t" * 64, 1_005, now_ms=1_000)


def test_the_journal_keeps_signatures_only_under_the_strict_profile(tmp_path: Path) -> None:
    for strict in (True, False):
        srv = Restartable(tmp_path / f"strict-{strict}", strict=strict)
        try:
            srv.hx.faucet(ALICE)
            body = _signed(srv, "create_order", ORDER)
            assert srv.hx.post("/api/v1/orders/create", body)[0] == 200
        finally:
            srv.close()
        faucet, create = commands_since(srv.state_dir, 0)
        assert faucet.auth is msgspec.UNSET
        if strict:
            signature = base58.b58decode(body["signature"])
            expires = body["timestamp"] + WINDOW
            assert create.auth == SignatureRecord(str(ALICE.pubkey()), signature, expires)
        else:
            assert create.auth is msgspec.UNSET


def test_a_journal_written_before_signatures_were_kept_reads_and_writes_the_same_bytes() -> None:
    # encode_record's payload for this command before the `auth` field existed
    old = (
        b"\x8d\xa4type\xa6create\xa7account\xa1a\xa6symbol\xa3BTC\xa4side\xa3bid\xabprice_ticks\t"
        b"\xa9size_lots\x01\xa3tif\xa3GTC\xabreduce_only\xc2\xafclient_order_id\xc0"
        b"\xabtake_profit\xc0\xa9stop_loss\xc0\xa3seq\x07\xa5ts_ms\x08"
    )
    cmd = msgspec.msgpack.decode(old, type=Command)
    assert isinstance(cmd, CreateOrder) and cmd.auth is msgspec.UNSET
    assert msgspec.msgpack.encode(cmd) == old
    signed = msgspec.structs.replace(cmd, auth=SignatureRecord("a", b"s" * 64, 3))
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(signed), type=Command) == signed
