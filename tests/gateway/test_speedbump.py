"""Why the speedbump exists: a maker's cancel sent after a taker's crossing GTC order, but within
the taker's delay, wins; the taker does not fill against the cancelled order."""

from __future__ import annotations

import asyncio
import json

from solders.keypair import Keypair

from harness import Harness
from tidepool.engine.commands import CreateOrder
from tidepool.runtime.speedbump import Speedbump


def test_makers_cancel_within_the_takers_delay_wins(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    hx.exchange.pipeline.speedbump = Speedbump(50, 100, seed=1)
    hx.faucet(alice)
    hx.faucet(bob)
    # ALO is never delayed: the maker's order rests at once.
    _, made = hx.create(alice, side="ask", price="100000", tif="ALO")
    maker_id = made["data"]["order_id"]
    taker = hx.signed(
        "/api/v1/orders/create",
        bob,
        {
            "symbol": "BTC",
            "price": "100000",
            "amount": "0.001",
            "side": "bid",
            "tif": "GTC",
            "reduce_only": False,
        },
    )
    cancel = hx.signed("/api/v1/orders/cancel", alice, {"symbol": "BTC", "order_id": maker_id})

    async def race() -> tuple[tuple[int, object], tuple[int, object]]:
        taker_task = asyncio.ensure_future(
            hx._asgi("POST", "/api/v1/orders/create", json.dumps(taker).encode(), {})
        )
        await asyncio.sleep(0.005)  # the taker is sent first...
        cancel_answer = await hx._asgi(
            "POST", "/api/v1/orders/cancel", json.dumps(cancel).encode(), {}
        )
        assert not taker_task.done()  # ...and is still waiting out its delay
        return await taker_task, cancel_answer

    (taker_status, taker_body), (cancel_status, _) = hx.loop.run_until_complete(race())
    assert cancel_status == 200
    assert taker_status == 200
    taker_id = taker_body["data"]["order_id"]  # type: ignore[index]
    _, hist = hx.get("/api/v1/orders/history_by_id", order_id=taker_id)
    assert hist["data"][0]["filled_amount"] == "0"
    assert [o["order_id"] for o in hx.open_orders(bob)] == [taker_id]


def test_alo_and_cancels_are_not_delayed(hx: Harness, alice: Keypair) -> None:
    hx.exchange.pipeline.speedbump = Speedbump(10_000, 10_000)  # would hang the test if applied
    hx.faucet(alice)
    status, made = hx.create(alice, tif="ALO")
    assert status == 200
    status, _ = hx.post_signed(
        "/api/v1/orders/cancel", alice, {"symbol": "BTC", "order_id": made["data"]["order_id"]}
    )
    assert status == 200


def test_an_agent_revoked_while_its_create_waits_gets_that_create_rejected(
    hx: Harness, alice: Keypair, bob: Keypair
) -> None:
    """Authorization is decided when the command is applied, after the delay: the revocation
    the main key sent meanwhile wins, and replaying the journal decides the same."""
    hx.exchange.pipeline.speedbump = Speedbump(50, 100, seed=1)
    hx.faucet(alice)
    agent = str(bob.pubkey())
    assert hx.post_signed("/api/v1/agent/bind", alice, {"agent_wallet": agent})[0] == 200
    create = hx.signed(
        "/api/v1/orders/create",
        bob,
        {"symbol": "BTC", "price": "90000", "amount": "0.001", "side": "bid", "tif": "GTC",
         "reduce_only": False},
        account=str(alice.pubkey()),
        agent_wallet=agent,
    )  # fmt: skip
    revoke = hx.signed("/api/v1/agent/revoke", alice, {"agent_wallet": agent})

    async def race() -> tuple[tuple[int, object], tuple[int, object]]:
        create_task = asyncio.ensure_future(
            hx._asgi("POST", "/api/v1/orders/create", json.dumps(create).encode(), {})
        )
        await asyncio.sleep(0.005)  # the create is in, waiting out its delay
        revoked = await hx._asgi("POST", "/api/v1/agent/revoke", json.dumps(revoke).encode(), {})
        assert not create_task.done()
        return await create_task, revoked

    (create_status, create_body), (revoke_status, _) = hx.loop.run_until_complete(race())
    assert revoke_status == 200
    assert (create_status, create_body) == (
        400,
        {
            "success": False,
            "data": None,
            "error": "Agent not authorized for account",
            "code": 400,
            "error_id": "agent_not_authorized",
        },
    )
    assert hx.open_orders(alice) == []
    # The command is journaled with its agent signer, so replay refuses it the same way.
    journaled = [c for c in hx.sequencer._store._log if isinstance(c, CreateOrder)]  # type: ignore[attr-defined]
    assert [c.agent_wallet for c in journaled] == [agent]
    assert hx.sequencer._store.rebuild().state_hash() == hx.engine.state_hash()
