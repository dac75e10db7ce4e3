"""GET /sandbox/state_hash: the engine's hash at a named seq, computed by a forked child
(runtime/forkread.py) so it never holds the event loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from solders.keypair import Keypair

from harness import Harness
from tidepool.engine.engine import Engine


def _state_hash(hx: Harness) -> dict[str, Any]:
    status, body = hx.get("/sandbox/state_hash")
    assert status == 200, body
    return dict(body["data"])


def test_state_hash_names_the_seq_it_was_taken_at_and_follows_every_write(
    hx: Harness, alice: Keypair
) -> None:
    empty = _state_hash(hx)
    assert empty == {"state_hash": hx.engine.state_hash(), "seq": 0}
    hx.faucet(alice)
    funded = _state_hash(hx)
    assert funded == {"state_hash": hx.engine.state_hash(), "seq": 1}
    assert funded["state_hash"] != empty["state_hash"]
    hx.create(alice, tif="ALO", price="90000")
    assert _state_hash(hx) == {"state_hash": hx.engine.state_hash(), "seq": 2}


def test_state_hash_read_twice_without_a_write_is_the_same_answer(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)
    assert _state_hash(hx) == _state_hash(hx)


def test_concurrent_state_hash_reads_each_see_the_writes_before_them(
    hx: Harness, alice: Keypair
) -> None:
    hx.faucet(alice)

    async def reads_around_a_write() -> list[tuple[int, Any]]:
        first = asyncio.ensure_future(hx._asgi("GET", "/sandbox/state_hash", b"", {}))
        await asyncio.sleep(0)  # the first read is waiting for its child
        faucet = {"account": str(alice.pubkey()), "amount": "5"}
        write = await hx._asgi("POST", "/sandbox/faucet", json.dumps(faucet).encode(), {})
        second = await hx._asgi("GET", "/sandbox/state_hash", b"", {})
        return [await first, write, second]

    first, write, second = hx.loop.run_until_complete(reads_around_a_write())
    assert write[0] == 200
    assert first[1]["data"]["seq"] >= 1
    assert second[1]["data"] == {"state_hash": hx.engine.state_hash(), "seq": 2}


def test_a_failed_hash_child_answers_500_and_the_next_read_works(
    hx: Harness, alice: Keypair, monkeypatch: pytest.MonkeyPatch
) -> None:
    hx.faucet(alice)

    def broken(self: Engine) -> str:
        raise RuntimeError("hash broken for this test")

    with monkeypatch.context() as patch:
        patch.setattr(Engine, "state_hash", broken)  # inherited by the forked child
        status, body = hx.get("/sandbox/state_hash")
    assert (status, body["error"]) == (500, "Internal server error")
    assert _state_hash(hx) == {"state_hash": hx.engine.state_hash(), "seq": 1}
