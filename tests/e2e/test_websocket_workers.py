"""WebSocket in the `--workers N` layout when a process dies (issue 14, docs/processes.md): the
workers hold the sockets, the engine process the session logic. A worker killed with SIGKILL
takes only its own connections along, and their clients reconnect and resubscribe; an engine
process killed with SIGKILL closes every connection with 1011."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from test_websocket import _recv, _run, ws_url

from server_process import ServerProcess

pytestmark = pytest.mark.e2e

PRICES = {"source": "prices"}


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path / "state", "--workers", "2", "--speedbump-ms", "0") as server:
        yield server


def _workers(srv: ServerProcess) -> list[int]:
    assert srv.proc is not None
    pid = srv.proc.pid
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _holder(srv: ServerProcess, ws: Any, workers: list[int]) -> int:
    """The worker process whose socket is the server's end of the client connection `ws`."""
    server_port = int(srv.url.rsplit(":", 1)[1])
    client_port = ws.local_address[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if (
                state == "01"  # established (not a closed connection's TIME_WAIT)
                and int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port
            ):
                inode = fields[9]
    assert inode is not None, "the server's end of the connection is not in /proc/net/tcp"
    (pid,) = [w for w in workers if inode in _socket_inodes(w)]
    return pid


async def _subscribed(srv: ServerProcess) -> Any:
    ws = await websockets.connect(ws_url(srv))
    await ws.send(json.dumps({"method": "subscribe", "params": PRICES}))
    assert (await _recv(ws, "subscribe"))["data"] == PRICES
    return ws


async def _mark_pushed(srv: ServerProcess, connections: list[Any], price: str) -> None:
    """Move SOL's mark over REST and see every connection get the prices push showing it."""
    async with httpx.AsyncClient(base_url=srv.url) as client:
        mark = {"symbol": "SOL", "price": price}
        assert (await client.post("/sandbox/mark_price", json=mark, timeout=10)).status_code == 200
    for ws in connections:
        while True:
            push = await _recv(ws, "prices", timeout=10)
            if next(p for p in push["data"] if p["symbol"] == "SOL")["mark"] == price:
                break


def test_a_killed_worker_drops_only_its_own_connections_and_clients_resubscribe(
    srv: ServerProcess,
) -> None:
    async def scenario() -> None:
        workers = _workers(srv)
        assert len(workers) == 2
        held: dict[int, list[Any]] = {w: [] for w in workers}
        # The kernel hands each connection to whichever worker accepts first: connect until
        # both hold some.
        for _ in range(60):
            ws = await _subscribed(srv)
            held[_holder(srv, ws, workers)].append(ws)
            if all(held.values()):
                break
        assert all(held.values()), {w: len(c) for w, c in held.items()}
        victim, survivor = workers
        os.kill(victim, signal.SIGKILL)

        for ws in held[victim]:
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
        await _mark_pushed(srv, held[survivor], "152")
        for ws in held[survivor]:
            await ws.send('{"method":"ping"}')
            assert await _recv(ws, "pong", timeout=10) == {"channel": "pong"}

        again = [await _subscribed(srv) for _ in held[victim]]
        await _mark_pushed(srv, again + held[survivor], "153")
        for ws in again + held[survivor]:
            await ws.close()

    _run(scenario())


def test_a_killed_engine_process_closes_every_websocket_with_1011(srv: ServerProcess) -> None:
    async def scenario() -> None:
        connections = [await _subscribed(srv) for _ in range(4)]
        srv.kill()  # SIGKILL: the workers only see their link close
        for ws in connections:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
                1011,
                "engine process went away",
            )

    _run(scenario())
