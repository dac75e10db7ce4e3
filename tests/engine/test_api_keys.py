"""API config keys in the engine (engine/apikeys.py): per-account keys, at most five, revoked
only by their own account, authorized agents, and kept in snapshots without changing the bytes
or the hash of a state that has none."""

from __future__ import annotations

import hashlib

import msgspec
from enginekit import Driver
from msgspec import UNSET

from tidepool.engine import snapshot
from tidepool.engine.commands import BindAgent, CreateApiKey, RevokeApiKey
from tidepool.engine.engine import Engine
from tidepool.engine.events import ApiKeyCreated, ApiKeyRevoked


def _create(d: Driver, account: str, key: str, **kw: object) -> None:
    outcome = d.apply(CreateApiKey, account=account, api_key=key, **kw)
    assert outcome.reject is None, outcome.reject
    assert outcome.events == [
        ApiKeyCreated(seq=d.seq, ts_ms=1_000 * d.seq, account=account, api_key=key)
    ]


def test_keys_belong_to_their_account_oldest_first() -> None:
    d = Driver()
    _create(d, "alice", "k1")
    _create(d, "bob", "k2")
    _create(d, "alice", "k3")
    assert d.engine.api_keys("alice") == ["k1", "k3"]
    assert d.engine.api_keys("carol") == []
    assert d.engine.api_key_owner("k2") == "bob"
    assert d.engine.api_key_owner("k4") is None


def test_a_sixth_key_and_a_duplicate_key_are_refused_and_change_nothing() -> None:
    d = Driver()
    for n in range(5):
        _create(d, "alice", f"k{n}")
    before = d.engine.state_hash()
    sixth = d.apply(CreateApiKey, account="alice", api_key="k5")
    assert sixth.reject is not None and sixth.reject.http_status == 422
    assert sixth.reject.message == "API key limit reached for alice: 5"
    duplicate = d.apply(CreateApiKey, account="bob", api_key="k0")
    assert duplicate.reject is not None and duplicate.reject.http_status == 400
    assert d.engine.state_hash() == before and d.engine.api_key_owner("k0") == "alice"


def test_only_the_owner_revokes_a_key() -> None:
    d = Driver()
    _create(d, "alice", "k1")
    for account, key in (("bob", "k1"), ("alice", "nope")):
        refused = d.apply(RevokeApiKey, account=account, api_key=key)
        assert refused.reject is not None and refused.reject.error_id == "api_key_not_found"
    revoked = d.apply(RevokeApiKey, account="alice", api_key="k1")
    assert revoked.events == [
        ApiKeyRevoked(seq=d.seq, ts_ms=1_000 * d.seq, account="alice", api_key="k1")
    ]
    assert d.engine.api_key_owner("k1") is None
    again = d.apply(RevokeApiKey, account="alice", api_key="k1")
    assert again.reject is not None


def test_an_agent_manages_keys_only_while_bound() -> None:
    d = Driver()
    refused = d.apply(CreateApiKey, account="alice", api_key="k1", agent_wallet="agent")
    assert refused.reject is not None and refused.reject.error_id == "agent_not_authorized"
    d.apply(BindAgent, account="alice", agent="agent")
    _create(d, "alice", "k1", agent_wallet="agent")
    assert d.engine.api_keys("alice") == ["k1"]


def test_a_state_without_keys_snapshots_and_hashes_as_before_the_field_existed() -> None:
    d = Driver()
    d.fund("alice")
    data = d.engine.snapshot()
    assert data[0] == 0x8C and b"api_keys" not in data  # the same twelve fields as before
    assert b"api_keys" not in snapshot.canonical(d.engine._state)
    _create(d, "alice", "k1")
    d.apply(RevokeApiKey, account="alice", api_key="k1")
    assert d.engine.snapshot() == data  # a key created and revoked leaves no trace


def test_keys_round_trip_through_both_snapshot_versions_and_change_the_hash() -> None:
    d = Driver()
    d.fund("alice")
    keyless_hash = d.engine.state_hash()
    _create(d, "alice", "k1")
    _create(d, "bob", "k2")
    _create(d, "alice", "k3")
    assert d.engine.state_hash() != keyless_hash
    data = d.engine.snapshot()
    assert data[0] == 0x8D  # one more field
    assert msgspec.msgpack.decode(data)["api_keys"] == [
        ["k1", "alice"],
        ["k2", "bob"],
        ["k3", "alice"],
    ]
    for blob in (data, snapshot.canonical(d.engine._state)):
        restored = Engine.restore(blob)
        assert restored.api_keys("alice") == ["k1", "k3"] and restored.api_key_owner("k2") == "bob"
        assert restored.snapshot() == data
        assert restored.state_hash() == d.engine.state_hash()
        restored.check_invariants()
    assert d.engine.state_hash() == hashlib.blake2b(snapshot.canonical(d.engine._state)).hexdigest()


def test_a_snapshot_written_before_keys_existed_restores_with_none() -> None:
    d = Driver()
    d.fund("alice")
    _create(d, "alice", "k1")
    raw = msgspec.msgpack.decode(d.engine.snapshot())
    del raw["api_keys"]
    restored = Engine.restore(msgspec.msgpack.encode(raw))
    assert restored.api_keys("alice") == [] and restored._state.api_keys == {}
    assert snapshot._capture(restored._state).api_keys is UNSET
