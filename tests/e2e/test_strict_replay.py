"""`--strict-auth` keeps refusing an exact replay across a restart of the server process, also
when snapshots (and compaction) ran between the original and the replay."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess
from tidepool.journal.layout import list_snapshots

pytestmark = pytest.mark.e2e

STRICT = ("--strict-auth", "--speedbump-ms", "0")
DUPLICATE = "Invalid message: duplicate request"
ORDER = {
    "symbol": "BTC",
    "price": "95000",
    "amount": "0.001",
    "side": "bid",
    "tif": "GTC",
    "reduce_only": False,
}


def _order_body() -> dict[str, Any]:
    """A create signed now with the longest window the strict profile takes: its replay stays
    inside the window across a restart."""
    return signed_body(
        keypair(5), "create_order", ORDER, time.time_ns() // 1_000_000, expiry_window=60_000
    )


def _account() -> str:
    return str(keypair(5).pubkey())


def _fund(srv: ServerProcess) -> None:
    r = httpx.post(f"{srv.url}/sandbox/faucet", json={"account": _account(), "amount": "10000"})
    assert r.status_code == 200, r.text


def _open_order_ids(srv: ServerProcess) -> list[int]:
    r = httpx.get(f"{srv.api}/orders", params={"account": _account()})
    return [o["order_id"] for o in r.json()["data"]]


def _replay_is_refused(srv: ServerProcess, body: dict[str, Any]) -> None:
    r = httpx.post(f"{srv.api}/orders/create", json=body)
    assert (r.status_code, r.json()["error"]) == (400, DUPLICATE)


def _stop(srv: ServerProcess, how: str) -> None:
    if how == "kill -9":
        srv.kill()
    else:
        assert srv.stop(sig=signal.SIGTERM) == 0


@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_replayed_order_is_refused_after_a_restart_and_only_one_order_exists(
    tmp_path: Path, layout: str, how: str
) -> None:
    state = tmp_path / "state"
    body = _order_body()
    with ServerProcess(state, *STRICT, *LAYOUTS[layout]) as srv:
        _fund(srv)
        r = httpx.post(f"{srv.api}/orders/create", json=body)
        assert r.status_code == 200, r.text
        order_id = r.json()["data"]["order_id"]
        _replay_is_refused(srv, body)
        _stop(srv, how)
    with ServerProcess(state, *STRICT, *LAYOUTS[layout]) as srv:
        _replay_is_refused(srv, body)
        assert _open_order_ids(srv) == [order_id]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_replayed_order_is_refused_after_a_restart_even_behind_several_snapshots(
    tmp_path: Path, layout: str
) -> None:
    state = tmp_path / "state"
    body = _order_body()
    with ServerProcess(state, *STRICT, "--snapshot-every", "1", *LAYOUTS[layout]) as srv:
        _fund(srv)  # seq 1
        r = httpx.post(f"{srv.api}/orders/create", json=body)  # seq 2
        assert r.status_code == 200, r.text
        order_id = r.json()["data"]["order_id"]
        for _ in range(4):  # a background snapshot after each, compaction after the third
            _fund(srv)
            time.sleep(0.3)
        srv.kill()
    # The order is inside both snapshots kept: recovery alone never reads its command again.
    assert list_snapshots(state)[0][0] >= 2
    with ServerProcess(state, *STRICT, *LAYOUTS[layout]) as srv:
        _replay_is_refused(srv, body)
        assert _open_order_ids(srv) == [order_id]
