"""R1: kill -9 under load, restart, and check the client's log of acknowledged answers.

A real server runs with --durability process. Four client tasks send a seeded mix of creates
(GTC/IOC/ALO, some crossing), cancels (live, dead, unknown) and cancel-alls from several accounts;
the server is SIGKILLed at a seeded random moment, restarted on the same state dir, and:
- every acknowledged create exists with its order id and client order id;
- every acknowledged cancel left its order cancelled (no fill after a cancel ack);
- no order exists whose client order id was never sent;
- order ids continue above the last acknowledged one;
- re-sending every unacknowledged create with its client order id never makes a second order;
- a clean restart and an offline replay reach the same state hash.
TIDEPOOL_KILL_LOOPS sets the iteration count (default 20).
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

ITERATIONS = int(os.environ.get("TIDEPOOL_KILL_LOOPS", "20"))
ACCOUNTS = [keypair(40 + i) for i in range(3)]


def _now() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class ClientLog:
    sent_cloids: set[str] = field(default_factory=set)
    acked_creates: dict[int, str] = field(default_factory=dict)  # order_id -> cloid
    unacked_creates: list[tuple[Keypair, dict[str, Any]]] = field(default_factory=list)
    acked_cancels: list[int] = field(default_factory=list)
    live: dict[str, list[int]] = field(default_factory=dict)  # account -> order ids


def _order_payload(rng: random.Random) -> dict[str, Any]:
    side = rng.choice(["bid", "ask"])
    # Prices straddle 100000 so some orders cross and trade; every notional is above 10 USDC.
    offset = rng.randint(-20, 20)
    price = 100_000 + (offset if side == "ask" else -offset)
    return {
        "symbol": "BTC",
        "price": str(price),
        "amount": f"{rng.randint(11, 30) / 100000:.5f}",
        "side": side,
        "tif": rng.choice(["GTC", "GTC", "GTC", "IOC", "ALO"]),
        "reduce_only": False,
        "client_order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    }


async def _worker(client: httpx.AsyncClient, api: str, rng: random.Random, log: ClientLog) -> None:
    while True:
        kp = rng.choice(ACCOUNTS)
        account = str(kp.pubkey())
        roll = rng.random()
        try:
            if roll < 0.6:
                payload = _order_payload(rng)
                log.sent_cloids.add(payload["client_order_id"])
                log.unacked_creates.append((kp, payload))
                r = await client.post(
                    f"{api}/orders/create", json=signed_body(kp, "create_order", payload, _now())
                )
                if r.status_code == 200:
                    oid = r.json()["data"]["order_id"]
                    log.acked_creates[oid] = payload["client_order_id"]
                    log.live.setdefault(account, []).append(oid)
                log.unacked_creates.remove((kp, payload))
            elif roll < 0.9:
                ids = log.live.get(account) or [10**9]
                oid = rng.choice(ids)
                r = await client.post(
                    f"{api}/orders/cancel",
                    json=signed_body(
                        kp, "cancel_order", {"symbol": "BTC", "order_id": oid}, _now()
                    ),
                )
                if r.status_code == 200:
                    log.acked_cancels.append(oid)
            else:
                payload = {"all_symbols": True, "exclude_reduce_only": False}
                await client.post(
                    f"{api}/orders/cancel_all",
                    json=signed_body(kp, "cancel_all_orders", payload, _now()),
                )
        except httpx.TransportError:
            return  # the server died under us: this request stays unacknowledged


async def _load(api: str, seed: int, duration: float, log: ClientLog) -> None:
    async with httpx.AsyncClient(timeout=5.0) as client:
        tasks = [
            asyncio.create_task(_worker(client, api, random.Random(seed * 10 + i), log))
            for i in range(4)
        ]
        await asyncio.wait(tasks, timeout=duration)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _history(api: str, oid: int) -> list[dict[str, Any]]:
    r = httpx.get(f"{api}/orders/history_by_id", params={"order_id": oid})
    assert r.status_code == 200, f"acknowledged order {oid} lost: {r.text}"
    return list(r.json()["data"])


def _verify(srv: ServerProcess, log: ClientLog) -> None:
    api = srv.api
    open_orders: list[dict[str, Any]] = []
    for kp in ACCOUNTS:
        r = httpx.get(f"{api}/orders", params={"account": str(kp.pubkey())})
        open_orders += r.json()["data"]
    for o in open_orders:
        assert o["client_order_id"] in log.sent_cloids, f"order never sent: {o}"
    cloids = [o["client_order_id"] for o in open_orders]
    assert len(cloids) == len(set(cloids))
    for oid, cloid in log.acked_creates.items():
        assert _history(api, oid)[0]["client_order_id"] == cloid
    for oid in log.acked_cancels:
        assert _history(api, oid)[0]["order_status"] == "cancelled", oid
        assert all(o["order_id"] != oid for o in open_orders)
    # Unacknowledged creates: applied or absent, never doubled when retried with the same id.
    for kp, payload in log.unacked_creates:
        r = httpx.post(
            f"{api}/orders/create", json=signed_body(kp, "create_order", payload, _now())
        )
        assert r.status_code in (200, 422), r.text
        if r.status_code == 422:
            assert r.json()["code"] == 36
    # Ids continue above every acknowledged id.
    kp = ACCOUNTS[0]
    probe = {
        **_order_payload(random.Random(0)),
        "tif": "ALO",
        "price": "90000",
        "side": "bid",
        "amount": "0.001",
    }
    probe["client_order_id"] = str(uuid.uuid4())
    r = httpx.post(f"{api}/orders/create", json=signed_body(kp, "create_order", probe, _now()))
    assert r.status_code == 200, r.text
    assert r.json()["data"]["order_id"] > max(log.acked_creates, default=0)


def _fund(srv: ServerProcess) -> None:
    for kp in ACCOUNTS:
        r = httpx.post(
            f"{srv.url}/sandbox/faucet", json={"account": str(kp.pubkey()), "amount": "1000000"}
        )
        assert r.status_code == 200


def _state_hash(srv: ServerProcess) -> str:
    return str(httpx.get(f"{srv.url}/sandbox/state_hash").json()["data"]["state_hash"])


def _offline_hash(state_dir: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "tidepool", "journal", "replay", str(state_dir)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(line.split()[-1] for line in out.splitlines() if line.startswith("state_hash"))


@pytest.mark.parametrize("seed", range(ITERATIONS))
def test_kill_minus_nine_loses_nothing_acknowledged(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    state = tmp_path / "state"
    log = ClientLog()
    layout = LAYOUTS[rng.choice(sorted(LAYOUTS))]  # killed: the engine process, workers or not
    srv = ServerProcess(
        state, "--snapshot-every", str(rng.choice([50, 200, 100_000])), *layout
    ).start()
    _fund(srv)
    kill_after = rng.uniform(0.2, 1.5)

    async def run() -> None:
        load = asyncio.create_task(_load(srv.api, seed, 10.0, log))
        await asyncio.sleep(kill_after)
        srv.kill()
        await load

    asyncio.run(run())
    srv = ServerProcess(state).start()
    try:
        _verify(srv, log)
        live_hash = _state_hash(srv)
    finally:
        srv.stop()
    assert _offline_hash(state) == live_hash
    srv = ServerProcess(state).start()
    try:
        assert _state_hash(srv) == live_hash
    finally:
        srv.stop()
