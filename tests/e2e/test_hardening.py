"""A real server against hostile clients (issue 12): no request stops the exchange, idle and
slow connections are closed, too many connections get a 503 instead of locking everyone out,
the "listening" line means the port accepts, and a WebSocket upgrade anywhere but /ws is
refused cleanly."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from pacifica_recipe import keypair, signed_body
from server_process import LAYOUTS, ServerProcess

pytestmark = pytest.mark.e2e

KP = keypair(41)
ACCOUNT = str(KP.pubkey())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _post(srv: ServerProcess, path: str, op: str, payload: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{srv.api}{path}", json=signed_body(KP, op, payload, _now_ms()))


def _create_and_cancel(srv: ServerProcess) -> None:
    cloid = str(uuid.uuid4())
    order = {
        "symbol": "BTC",
        "price": "90000",
        "amount": "0.001",
        "side": "bid",
        "tif": "ALO",
        "reduce_only": False,
        "client_order_id": cloid,
    }
    r = _post(srv, "/orders/create", "create_order", order)
    assert r.status_code == 200, r.text
    r = _post(srv, "/orders/cancel", "cancel_order", {"symbol": "BTC", "client_order_id": cloid})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("durability", ["process", "fsync"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_no_single_request_stops_writes_for_everyone(
    tmp_path: Path, layout: str, durability: str
) -> None:
    with ServerProcess(
        tmp_path / "state", "--durability", durability, "--speedbump-ms", "0", *LAYOUTS[layout]
    ) as srv:
        r = httpx.post(f"{srv.url}/sandbox/faucet", json={"account": ACCOUNT, "amount": "10000"})
        assert r.status_code == 200
        hostile = [
            ("/orders/cancel", "cancel_order", {"symbol": "BTC", "order_id": 2**64}),
            ("/orders/stop/cancel", "cancel_stop_order", {"symbol": "BTC", "order_id": -1}),
            ("/orders/edit", "edit_order", {"symbol": "BTC", "price": "1", "order_id": 2**64}),
            ("/account/leverage", "update_leverage", {"symbol": "BTC", "leverage": 2**64}),
            ("/orders/create", "create_order", {
                "symbol": "BTC", "price": "9" * 29, "amount": "0.001", "side": "bid",
                "tif": "GTC", "reduce_only": False,
            }),
        ]  # fmt: skip
        for path, op, payload in hostile:
            r = _post(srv, path, op, payload)
            assert r.status_code == 400, (path, r.text)
            assert r.json()["success"] is False
        nested = b'{"symbol":' + b"[" * 1000 + b"]" * 1000 + b"}"
        r = httpx.post(
            f"{srv.api}/orders/cancel", content=nested, headers={"content-type": "application/json"}
        )
        assert r.status_code == 400 and "nested" in r.json()["error"], r.text
        assert httpx.get(f"{srv.url}/ready").status_code == 200
        _create_and_cancel(srv)
    assert "Traceback" not in srv.log_path.read_text()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_listening_line_means_the_port_accepts(tmp_path: Path, layout: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tidepool", "serve", "--port", "0", "--state-dir",
         str(tmp_path / "state"), *LAYOUTS[layout]],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        match = re.search(r"listening on (http://\S+)", proc.stdout.readline())
        assert match is not None
        # No retry: the first request right after the line must be answered.
        assert httpx.get(f"{match.group(1)}/health", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        assert proc.stdout is not None
        proc.stdout.close()


_UPGRADE = (
    b"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _upgrade_status(srv: ServerProcess, path: str) -> bytes:
    host, port = srv.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(_UPGRADE.replace(b"{path}", path.encode()))
        return s.recv(4096).split(b"\r\n")[0]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_websocket_upgrades_elsewhere_than_ws_are_refused_with_a_4xx_and_no_error_logged(
    tmp_path: Path, layout: str
) -> None:
    """Both layouts serve /ws and refuse other paths."""
    with ServerProcess(tmp_path / "state", *LAYOUTS[layout]) as srv:
        for path in ("/", "/api/v1/ws", "/wss"):
            status_line = _upgrade_status(srv, path)
            assert re.fullmatch(rb"HTTP/1\.1 4\d\d .*", status_line), (path, status_line)
        assert _upgrade_status(srv, "/ws") == b"HTTP/1.1 101 Switching Protocols"
        assert httpx.get(f"{srv.url}/health").status_code == 200
    log = srv.log_path.read_text()
    assert "ERROR" not in log and "Traceback" not in log and "WARNING" not in log, log


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def test_idle_and_slow_connections_are_closed_and_too_many_get_a_503(tmp_path: Path) -> None:
    # 200 descriptors: the server keeps 64 back, so it serves at most 136 connections.
    limited = ("sh", "-c", 'ulimit -n 200 && exec "$0" -m tidepool "$@"', sys.executable)
    with ServerProcess(tmp_path / "state", command=limited) as srv:
        slow = _connect(srv.url)
        idle = [_connect(srv.url) for _ in range(150)]
        time.sleep(1.0)
        turned_away = 0
        for s in idle:
            s.setblocking(False)
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            assert data.startswith(b"HTTP/1.1 503") and b'"success":false' in data, data
            turned_away += 1
            s.setblocking(True)
        assert turned_away >= 10
        # Headers one byte at a time, forever: the 10 s header deadline still closes it.
        started = time.monotonic()
        closed = False
        for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40:
            try:
                slow.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.5)
            if time.monotonic() - started > 20:
                break
        slow.settimeout(5)
        assert closed or slow.recv(4096) == b"", "a slow client kept its connection"
        # The idle ones were closed by the server too: a read sees the end of the stream.
        for s in idle:
            s.settimeout(15)
            with contextlib.suppress(ConnectionResetError):
                assert s.recv(4096) == b""
            s.close()
        slow.close()
        assert httpx.get(f"{srv.url}/health").status_code == 200
