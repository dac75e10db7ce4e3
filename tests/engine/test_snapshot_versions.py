"""Snapshot format versions: version 2 is written, version 1 (what earlier releases wrote)
still restores to the same state, the state hash digests the version-1 form either way, and
an unknown version is refused by name."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from test_determinism import record_stream

from tidepool.engine import snapshot
from tidepool.engine.engine import Engine


@pytest.fixture(scope="module")
def engine() -> Engine:
    return record_stream(20240611, 3_000)[2]


def test_writes_version_2_and_hashes_the_version_1_form(engine: Engine) -> None:
    data = engine.snapshot()
    assert msgspec.msgpack.decode(data)["version"] == snapshot.FORMAT_VERSION == 2
    v1 = snapshot.canonical(engine._state)
    assert msgspec.msgpack.decode(v1)["version"] == 1
    assert engine.state_hash() == hashlib.blake2b(v1).hexdigest()
    assert len(data) < len(v1)


def test_version_1_snapshot_restores_to_the_same_state(engine: Engine) -> None:
    v1 = snapshot.canonical(engine._state)
    restored = Engine.restore(v1)
    assert restored.snapshot() == engine.snapshot()
    assert restored.state_hash() == engine.state_hash()
    assert snapshot.canonical(restored._state) == v1
    restored.check_invariants()


def test_version_2_round_trip(engine: Engine) -> None:
    data = engine.snapshot()
    restored = Engine.restore(data)
    assert restored.snapshot() == data
    assert restored.state_hash() == engine.state_hash()
    restored.check_invariants()


def test_unknown_version_is_refused_by_name(engine: Engine) -> None:
    raw = msgspec.msgpack.decode(engine.snapshot())
    raw["version"] = 99
    with pytest.raises(ValueError, match=r"unsupported engine snapshot version 99 .*1, 2"):
        Engine.restore(msgspec.msgpack.encode(raw))


def test_version_is_read_whatever_the_layout(engine: Engine) -> None:
    """The version is peeked from the first bytes of what `encode` writes; any other layout
    (keys in another order, a version that is not a fixint) still goes through the decoder."""
    raw = msgspec.msgpack.decode(engine.snapshot())
    reordered = msgspec.msgpack.encode(dict(reversed(raw.items())))
    assert reordered[:9] != engine.snapshot()[:9]
    assert Engine.restore(reordered).state_hash() == engine.state_hash()
    raw["version"] = 300
    with pytest.raises(ValueError, match=r"unsupported engine snapshot version 300 "):
        Engine.restore(msgspec.msgpack.encode(raw))
