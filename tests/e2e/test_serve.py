"""The real `tidepool serve` process: start, answer, stop cleanly, keep state across restarts."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from pacifica_recipe import keypair, signed_body
from server_process import ServerProcess

pytestmark = pytest.mark.e2e


def _now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


def test_serve_health_order_cancel_and_restart(tmp_path: Path) -> None:
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
    with ServerProcess(tmp_path / "state") as srv:
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


def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "s").start()
    assert srv.stop(sig=signal.SIGINT) == 0
    assert (tmp_path / "s").is_dir()
