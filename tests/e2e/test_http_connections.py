"""HTTP/1.1 connections as clients use them, against a real server (both layouts, speedbump
on): a body that arrives after its headers, requests pipelined on one connection (one of them
waiting out the speedbump), and a kept-alive connection left idle, which the server closes."""

from __future__ import annotations

import json
import socket
import time
import uuid

import httpx
import pytest

from pacifica_recipe import keypair, signed_body
from server_process import ServerProcess

pytestmark = pytest.mark.e2e

KP = keypair(57)
ACCOUNT = str(KP.pubkey())


def _connect(srv: ServerProcess) -> socket.socket:
    host, port = srv.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _request(path: str, body: bytes | None = None) -> tuple[bytes, bytes]:
    """The head and body of a request as a client writes them."""
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: tidepool\r\n\r\n".encode(), b""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: tidepool\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head, body


def _read_answers(sock: socket.socket, count: int) -> list[tuple[int, dict[str, object]]]:
    """`count` answers off the connection, in the order they came: (status, JSON body)."""
    data = b""
    answers: list[tuple[int, dict[str, object]]] = []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").lower()
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            end = head_end + 4 + length
            if len(data) >= end:
                status = int(head.split(" ")[1])
                answers.append((status, json.loads(data[head_end + 4 : end])))
                data = data[end:]
                continue
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {len(answers)} answers"
        data += chunk
    return answers


def _signed_create(cloid: str) -> bytes:
    order = {
        "symbol": "BTC",
        "price": "90000",
        "amount": "0.001",
        "side": "bid",
        "tif": "GTC",  # waits out the speedbump
        "reduce_only": False,
        "client_order_id": cloid,
    }
    return json.dumps(signed_body(KP, "create_order", order, time.time_ns() // 1_000_000)).encode()


@pytest.fixture(scope="module")
def funded(server: ServerProcess) -> ServerProcess:
    r = httpx.post(f"{server.url}/sandbox/faucet", json={"account": ACCOUNT, "amount": "100000"})
    assert r.status_code == 200, r.text
    return server


def test_a_body_sent_after_its_headers_is_answered(funded: ServerProcess) -> None:
    head, body = _request("/api/v1/orders/create", _signed_create(str(uuid.uuid4())))
    with _connect(funded) as sock:
        sock.sendall(head)
        time.sleep(0.2)  # the body comes in a later read of the server's
        sock.sendall(body)
        [(status, answer)] = _read_answers(sock, 1)
    assert status == 200, answer
    assert isinstance(answer["data"], dict) and answer["data"]["order_id"] > 0


def test_pipelined_requests_are_answered_in_order_even_when_the_first_waits(
    funded: ServerProcess,
) -> None:
    cloid = str(uuid.uuid4())
    create = b"".join(_request("/api/v1/orders/create", _signed_create(cloid)))
    orders = b"".join(_request(f"/api/v1/orders?account={ACCOUNT}"))
    health = b"".join(_request("/health"))
    with _connect(funded) as sock:
        sock.sendall(create + orders + health)  # one write: the server reads them at once
        answers = _read_answers(sock, 3)
    (created, order), (listed, open_orders), (healthy, _) = answers
    assert (created, listed, healthy) == (200, 200, 200), answers
    assert isinstance(order["data"], dict)
    # The order listing was answered after the create it follows, so it shows the order.
    assert isinstance(open_orders["data"], list)
    assert cloid in {o["client_order_id"] for o in open_orders["data"]}


def test_an_idle_kept_alive_connection_is_closed_by_the_server(funded: ServerProcess) -> None:
    with _connect(funded) as sock:
        sock.sendall(b"".join(_request("/health")))
        [(status, _)] = _read_answers(sock, 1)
        assert status == 200
        sock.settimeout(30)  # the keep-alive limit is 5 s; this only bounds a failing test
        assert sock.recv(4096) == b"", "the idle connection was not closed"
