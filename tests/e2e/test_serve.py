"""The real `tidepool serve` process: start, answer, stop cleanly, keep state across restarts."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_serve_health_order_cancel_and_restart(tmp_path: Path, layout: str) -> None:
    kp = keypair(3)
    account = str(kp.pubkey())
    order = {
        "symbol": "BTC",
        "price": "95000",
        "amount": "0.001",
        "side": "bid",
        "tif": "GTC",
        "reduce_only": False,
    }
    with ServerProcess(tmp_path / "state", *LAYOUTS[layout]) as srv:
        assert (
            httpx.post(
                f"{srv.url}/sandbox/faucet", json={"account": account, "amount": "10000"}
            ).status_code
            == 200
        )
        r = httpx.post(
            f"{srv.api}/orders/create", json=signed_body(kp, "create_order", order, _now_ms())
        )
        assert r.status_code == 200, r.text
        keep = r.json()["data"]["order_id"]
        r = httpx.post(
            f"{srv.api}/orders/create",
            json=signed_body(kp, "create_order", {**order, "price": "94000"}, _now_ms()),
        )
        gone = r.json()["data"]["order_id"]
        r = httpx.post(
            f"{srv.api}/orders/cancel",
            json=signed_body(kp, "cancel_order", {"symbol": "BTC", "order_id": gone}, _now_ms()),
        )
        assert r.json() == {"success": True, "data": None, "error": None, "code": None}
        hash_before = httpx.get(f"{srv.url}/sandbox/state_hash").json()["data"]["state_hash"]
    assert srv.proc is not None and srv.proc.returncode == 0
    with ServerProcess(tmp_path / "state") as srv:
        orders = httpx.get(f"{srv.api}/orders", params={"account": account}).json()
        assert [o["order_id"] for o in orders["data"]] == [keep]
        assert (
            httpx.get(f"{srv.url}/sandbox/state_hash").json()["data"]["state_hash"] == hash_before
        )


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_sigint_stops_cleanly(tmp_path: Path, layout: str) -> None:
    srv = ServerProcess(tmp_path / "s", *LAYOUTS[layout]).start()
    assert srv.stop(sig=signal.SIGINT) == 0
    assert (tmp_path / "s").is_dir()


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def _wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_dead_worker_is_replaced_and_a_killed_engine_takes_its_workers_along(
    tmp_path: Path,
) -> None:
    srv = ServerProcess(tmp_path / "s", "--workers", "2").start()
    assert srv.proc is not None
    engine = srv.proc.pid
    workers = _children(engine)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    assert _wait_until(lambda: len(set(_children(engine)) - {workers[0]}) == 2)
    for _ in range(20):  # whichever worker takes the connection, the answer comes
        assert httpx.get(f"{srv.url}/health", timeout=5).status_code == 200
    workers = _children(engine)
    srv.kill()  # SIGKILL: no goodbye to the workers, their link just closes
    assert _wait_until(lambda: not any(_alive(w) for w in workers)), "orphaned workers"
