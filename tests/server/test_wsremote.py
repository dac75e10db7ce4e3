"""The engine process's side of the workers' WebSocket connections (server/wsremote.py,
server/link.py), in process: the real GatewayApp and channels, with the link's bytes captured
instead of written to a worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest

from harness import Harness
from tidepool.server.link import (
    FrameProtocol,
    ToWorker,
    WsClose,
    WsEnded,
    WsPush,
    WsText,
    WsUpgrade,
    WsUpgraded,
)
from tidepool.server.wsremote import RemoteConnections

_decode = msgspec.msgpack.Decoder(ToWorker).decode


class _Captured:
    """A transport that keeps what a link writes, as frames."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False

    def frames(self) -> list[Any]:
        found, at = [], 0
        while at < len(self.data):
            size = int.from_bytes(self.data[at : at + 4], "little")
            found.append(_decode(bytes(self.data[at + 4 : at + 4 + size])))
            at += 4 + size
        return found


class _Worker:
    """One worker as the engine process sees it: its link (captured) and its connections."""

    def __init__(self, hx: Harness) -> None:
        self.link = FrameProtocol()
        self.captured = _Captured()
        self.link.connection_made(self.captured)  # type: ignore[arg-type]
        self.connections = RemoteConnections(self.link, hx.gateway)
        _workers.append(self)

    def pushes(self, channel: str) -> list[WsPush]:
        return [
            f
            for f in self.captured.frames()
            if isinstance(f, WsPush) and json.loads(f.payload).get("channel") == channel
        ]


_workers: list[_Worker] = []


@pytest.fixture
def hx() -> Iterator[Harness]:
    h = Harness()
    yield h
    for worker in _workers:  # their channels' tasks end before the loop does
        worker.connections.worker_gone()
    _workers.clear()
    h.loop.run_until_complete(asyncio.sleep(0))
    h.close()


def _until(hx: Harness, done: Callable[[], bool]) -> None:
    async def wait() -> None:
        while not done():
            await asyncio.sleep(0.001)

    hx.loop.run_until_complete(asyncio.wait_for(wait(), 10))


def _subscribe_prices(hx: Harness, worker: _Worker, *conns: int) -> None:
    async def subscribe() -> None:
        for conn in conns:
            worker.connections.received(WsUpgrade(conn, None))
            frame = {"method": "subscribe", "params": {"source": "prices"}}
            worker.connections.received(WsText(conn, json.dumps(frame).encode(), frozenset()))

    hx.loop.run_until_complete(subscribe())
    _until(hx, lambda: {c for f in worker.pushes("subscribe") for c in f.conns} >= set(conns))


def _move_mark(hx: Harness, price: str) -> None:
    status, body = hx.post("/sandbox/mark_price", {"symbol": "SOL", "price": price})
    assert status == 200, body


def test_a_push_to_many_connections_of_a_worker_is_one_link_frame_with_the_same_bytes(
    hx: Harness,
) -> None:
    worker = _Worker(hx)
    _subscribe_prices(hx, worker, 7, 8, 9)
    _move_mark(hx, "151")
    _until(hx, lambda: bool(worker.pushes("prices")))
    (push,) = worker.pushes("prices")
    assert sorted(push.conns) == [7, 8, 9]


def test_a_worker_gone_or_a_closed_connection_gets_no_more_pushes_and_others_still_do(
    hx: Harness,
) -> None:
    gone, staying = _Worker(hx), _Worker(hx)
    _subscribe_prices(hx, gone, 1, 2)
    _subscribe_prices(hx, staying, 1, 2)
    gone.connections.worker_gone()
    staying.connections.received(WsEnded(2))
    _move_mark(hx, "152")
    _until(hx, lambda: bool(staying.pushes("prices")))
    (push,) = staying.pushes("prices")
    assert push.conns == [1]
    assert gone.pushes("prices") == []


def test_a_connection_closed_by_the_engine_process_is_closed_in_its_worker(hx: Harness) -> None:
    worker = _Worker(hx)
    _subscribe_prices(hx, worker, 3)

    async def fall_behind() -> None:
        worker.connections.close_all(1011, "server fell behind")
        # A frame of the client's that was on its way: nothing answers it.
        worker.connections.received(WsText(3, b'{"method":"ping"}', frozenset()))

    hx.loop.run_until_complete(fall_behind())
    _subscribe_prices(hx, worker, 4)
    _move_mark(hx, "153")
    _until(hx, lambda: bool(worker.pushes("prices")))
    closes = [f for f in worker.captured.frames() if isinstance(f, WsClose)]
    assert closes == [WsClose(3, 1011, "server fell behind")]
    (push,) = worker.pushes("prices")
    assert push.conns == [4] and worker.pushes("pong") == []


def test_an_upgrade_with_an_unknown_api_key_is_refused_with_403_and_others_accepted(
    hx: Harness,
) -> None:
    worker = _Worker(hx)

    async def upgrade() -> None:
        worker.connections.received(WsUpgrade(1, "no-such-key"))
        worker.connections.received(WsUpgrade(2, None))
        worker.connections.received(WsText(1, b'{"method":"ping"}', frozenset()))

    hx.loop.run_until_complete(upgrade())
    _until(hx, lambda: len(worker.captured.frames()) >= 2)
    refused, accepted = worker.captured.frames()
    assert isinstance(refused, WsUpgraded) and refused.conn == 1 and refused.status == 403
    assert json.loads(refused.body)["success"] is False
    assert accepted == WsUpgraded(2, 101, b"")
    assert worker.pushes("pong") == []  # the refused connection has no session logic
