"""The sandbox cheats against a real `tidepool serve`, in both process layouts: time moves what
signatures are checked against, a revert and a time change survive kill -9, a revert closes
WebSocket subscriptions, and every CLI command works through the console script."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from solders.keypair import Keypair

from pacifica_recipe import signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

DAY_MS = 86_400_000
ORDER = {
    "symbol": "BTC",
    "price": "95000",
    "amount": "0.001",
    "side": "bid",
    "tif": "ALO",
    "reduce_only": False,
}


@pytest.fixture(scope="module", params=sorted(LAYOUTS))
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def srv(tmp_path: Path, layout: str) -> Iterator[ServerProcess]:
    """A strict server (future timestamps refused), its speedbump off."""
    with ServerProcess(
        tmp_path / "state", "--strict-auth", "--speedbump-ms", "0", *LAYOUTS[layout]
    ) as server:
        yield server


@pytest.fixture(scope="module")
def untouched(layout: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server per layout for the tests whose requests are all refused."""
    with ServerProcess(tmp_path_factory.mktemp("untouched") / "state", *LAYOUTS[layout]) as server:
        yield server


def _dev_key(srv: ServerProcess, index: int = 0) -> Keypair:
    r = httpx.get(f"{srv.url}/sandbox/accounts")
    assert r.status_code == 200, r.text
    return Keypair.from_base58_string(r.json()["data"][index]["secret_key"])


def _post(srv: ServerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{srv.url}{path}", json=body, timeout=30)


def _data(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _server_ms(srv: ServerProcess) -> int:
    return int(_data(httpx.get(f"{srv.url}/sandbox/time"))["now_ms"])


def _create(srv: ServerProcess, kp: Keypair, timestamp: int, **fields: Any) -> httpx.Response:
    body = signed_body(kp, "create_order", {**ORDER, **fields}, timestamp)
    return httpx.post(f"{srv.api}/orders/create", json=body, timeout=30)


def _hash(srv: ServerProcess) -> str:
    return str(_data(httpx.get(f"{srv.url}/sandbox/state_hash", timeout=30))["state_hash"])


def _restart_after_kill(srv: ServerProcess) -> None:
    srv.kill()
    srv.start()


def test_a_future_signature_becomes_valid_and_a_current_one_expires_after_advance(
    srv: ServerProcess,
) -> None:
    kp = _dev_key(srv)
    now = _server_ms(srv)
    early = signed_body(kp, "create_order", ORDER, now + 60_000)  # too far ahead (strict)
    late = signed_body(kp, "create_order", {**ORDER, "price": "94000"}, now)  # 5 s window
    r = httpx.post(f"{srv.api}/orders/create", json=early)
    assert r.status_code == 400 and "future" in r.json()["error"], r.text
    _data(_post(srv, "/sandbox/time", {"advance_ms": 60_000}))
    assert _data(httpx.post(f"{srv.api}/orders/create", json=early))["order_id"] >= 1
    r = httpx.post(f"{srv.api}/orders/create", json=late)
    assert r.status_code == 400 and r.json()["error"] == "Invalid message", r.text


def test_a_revert_survives_kill_9(srv: ServerProcess) -> None:
    kp = _dev_key(srv)
    _data(_create(srv, kp, _server_ms(srv)))
    before = _hash(srv)
    snap = _data(_post(srv, "/sandbox/snapshot", {}))["id"]
    _data(_create(srv, kp, _server_ms(srv), price="94000"))
    _data(_post(srv, "/sandbox/mark_price", {"prices": {"BTC": "90000", "ETH": "2000"}}))
    assert _hash(srv) != before
    _data(_post(srv, "/sandbox/revert", {"id": snap}))
    assert _hash(srv) == before
    _restart_after_kill(srv)
    assert _hash(srv) == before
    orders = _data(httpx.get(f"{srv.api}/orders", params={"account": str(kp.pubkey())}))
    assert [o["price"] for o in orders] == ["95000"]


def test_advanced_time_survives_kill_9_and_new_orders_are_stamped_after_it(
    srv: ServerProcess,
) -> None:
    kp = _dev_key(srv)
    advanced = _data(_post(srv, "/sandbox/time", {"advance_ms": DAY_MS}))["now_ms"]
    _restart_after_kill(srv)
    now = _server_ms(srv)
    assert now >= advanced
    order_id = _data(_create(srv, kp, now))["order_id"]
    history = _data(httpx.get(f"{srv.api}/orders/history_by_id", params={"order_id": order_id}))
    assert min(h["created_at"] for h in history) >= advanced


def test_a_revert_closes_websocket_subscriptions_so_clients_resubscribe(tmp_path: Path) -> None:
    """One process: WebSocket behind gateway workers is not served yet (issue 14)."""
    with ServerProcess(tmp_path / "state") as srv:
        _revert_under_a_subscription(srv)


def _revert_under_a_subscription(srv: ServerProcess) -> None:
    snap = _data(_post(srv, "/sandbox/snapshot", {}))["id"]
    ws_url = srv.url.replace("http://", "ws://") + "/ws"

    async def scenario() -> Any:
        async with websockets.connect(ws_url) as ws:
            subscribe = {"method": "subscribe", "params": {"source": "prices"}}
            await ws.send(json.dumps(subscribe))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert ack["channel"] == "subscribe"
            # the revert answers once it is journaled; the close follows on the socket
            await asyncio.to_thread(_post, srv, "/sandbox/revert", {"id": snap})
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            return closed.value.rcvd

    close = asyncio.run(scenario())
    assert close is not None and close.code == 1012
    assert "revert or reset" in close.reason


# ---- the CLI, through the console script -------------------------------------------------------


def _tidepool_script() -> str:
    """The `tidepool` console script of this interpreter's environment."""
    beside = Path(sys.executable).parent / "tidepool"
    found = str(beside) if beside.exists() else shutil.which("tidepool")
    assert found is not None, "the tidepool console script is not installed"
    return found


def _cli(srv: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tidepool_script(), *args, "--url", srv.url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _cli_ok(srv: ServerProcess, *args: str) -> str:
    done = _cli(srv, *args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def _cli_json(srv: ServerProcess, *args: str) -> Any:
    return json.loads(_cli_ok(srv, *args, "--json"))


def test_every_sandbox_command_of_the_cli_works_on_a_running_server(srv: ServerProcess) -> None:
    kp = _dev_key(srv, 1)
    account = str(kp.pubkey())
    assert _cli_ok(srv, "faucet", account, "50") == f"{account} balance 100050 USDC\n"
    assert _cli_json(srv, "balance", account, "2500")["balance"] == "2500"
    assert _cli_ok(srv, "mark", "BTC", "100000") == "BTC 100000\n"
    assert _cli_json(srv, "mark", "BTC", "99000", "ETH", "3100") == {
        "prices": {"BTC": "99000", "ETH": "3100"}
    }
    shown = _cli_json(srv, "time")
    assert shown["frozen"] is False
    advanced = _cli_json(srv, "time", "advance", "1d")
    assert advanced["now_ms"] >= shown["now_ms"] + DAY_MS
    assert _cli_json(srv, "time", "freeze")["frozen"] is True
    assert "frozen" in _cli_ok(srv, "time", "show")
    target = advanced["now_ms"] + 7 * DAY_MS
    assert _cli_json(srv, "time", "set", str(target)) == {"now_ms": target, "frozen": True}
    assert _cli_json(srv, "time", "unfreeze")["frozen"] is False
    snap = _cli_json(srv, "snapshot")["id"]
    _cli_ok(srv, "balance", account, "1")
    assert _cli_ok(srv, "revert", str(snap)) == f"reverted to snapshot {snap}\n"
    assert _data(httpx.get(f"{srv.api}/account", params={"account": account}))["balance"] == (
        "2500"
    )
    assert _cli_ok(srv, "reset").startswith("reset: 10 dev accounts funded with 100000 USDC")
    assert _data(httpx.get(f"{srv.api}/account", params={"account": account}))["balance"] == (
        "100000"
    )


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("revert", "999"), 1, "Snapshot 999 not found"),
        (("mark", "DOGE", "1", "BTC", "2"), 1, "unknown symbol DOGE"),
        (("time", "set", "2001-01-01"), 1, "never goes backwards"),
        (("time", "advance", "soon"), 2, "not a duration"),
        (("mark", "BTC"), 2, "SYMBOL PRICE pairs"),
    ],
)
def test_a_refused_cli_command_prints_one_line_and_exits_non_zero(
    untouched: ServerProcess, args: tuple[str, ...], code: int, says: str
) -> None:
    done = _cli(untouched, *args)
    assert done.returncode == code, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and says in done.stderr, done.stderr


def test_a_refused_cli_command_with_json_prints_the_error_document_and_exits_1(
    untouched: ServerProcess,
) -> None:
    done = _cli(untouched, "revert", "999", "--json")
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stdout)["error"]
    assert (error["status"], error["code"]) == (404, 404)
    assert error["message"].startswith("Snapshot 999 not found")
    assert done.stderr == f"tidepool: {error['message']}\n"


@contextmanager
def _silent_port() -> Iterator[int]:
    """A port nothing listens on while the block runs (bound, never listened to)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_the_cli_says_so_when_no_server_answers() -> None:
    with _silent_port() as port:
        done = subprocess.run(
            [_tidepool_script(), "snapshot", "--url", f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 3
    assert done.stderr.startswith("tidepool: no Tidepool server at http://127.0.0.1:")
    assert done.stderr.count("\n") == 1
