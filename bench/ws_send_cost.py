"""Server CPU per WebSocket message sent through uvicorn's ASGI WebSocket protocols (issue 14:
the stack is chosen by measurement). One ASGI app sends N pre-encoded text frames of a book-push
size to each of C clients; the server's process CPU time per delivered message is printed for
each `ws` implementation uvicorn offers here.

    python -m bench.ws_send_cost [CLIENTS]      (default 10 clients, 20,000 messages each)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import sys
import time
from typing import Any

import uvicorn
import websockets

FRAME = ('{"channel":"book","data":{"l":[' + ",".join(['{"p":"95000","a":"1.5","n":3}'] * 10)
         + '],"s":"BTC","t":1765017049008,"li":1559696133}}')  # fmt: skip


def _server(sock: socket.socket, ws: str, messages: int, clients: int, out: Any) -> None:
    done = 0
    cpu: list[float] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal done
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await receive()  # the client's "go"
        if not cpu:
            cpu.append(time.process_time())
        frame = {"type": "websocket.send", "text": FRAME}
        for _ in range(messages):
            await send(frame)
        done += 1
        if done == clients:
            out.send(time.process_time() - cpu[0])
        await receive()

    config = uvicorn.Config(app, ws=ws, log_level="warning", lifespan="off", loop="uvloop")  # type: ignore[arg-type]
    uvicorn.Server(config).run(sockets=[sock])


async def _clients(port: int, messages: int, clients: int) -> None:
    conns = [
        await websockets.connect(f"ws://127.0.0.1:{port}/", max_queue=None) for _ in range(clients)
    ]

    async def drain(c: Any) -> None:
        await c.send("go")
        for _ in range(messages):
            await c.recv()

    await asyncio.gather(*(drain(c) for c in conns))
    for c in conns:
        await c.close()


def measure(ws: str, messages: int, clients: int) -> float:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=_server, args=(sock, ws, messages, clients, child))
    proc.start()
    try:
        asyncio.run(_clients(port, messages, clients))
        cpu = parent.recv()
    finally:
        proc.terminate()
        proc.join()
    return cpu / (messages * clients) * 1e6


if __name__ == "__main__":
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for ws in ("websockets", "websockets-sansio"):
        us = measure(ws, 20_000, clients)
        print(f"{ws:18s} {us:6.2f} µs server CPU per delivered message ({clients} clients)")
