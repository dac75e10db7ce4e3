"""Reference ceilings: the least work a single Python process can do per signed request.

Two raw-ASGI apps, served exactly like Tidepool (uvicorn, uvloop, httptools, one process, access
log off), measured with the same load generator and the same pre-signed bodies in the same run:

- `http`:   read the body, parse it with orjson, answer a constant envelope (the "HTTP ceiling");
- `verify`: the same, plus what any Pacifica-compatible server must do per signed request:
            split the flat body into header and payload, rebuild the canonical message (sorted
            keys, compact, orjson), base58-decode key and signature and verify ed25519 with
            solders (the "verify ceiling").

`python -m bench.ceilings --app verify --port 0` prints `Ceiling listening on http://HOST:PORT`
on its first stdout line, like `tidepool serve`. `--processes N` serves the same app from N
forked processes sharing the listening socket (the reference for `tidepool serve --workers N`:
what N processes of the least possible work reach on the same cores).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from solders.pubkey import Pubkey
from solders.signature import Signature

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

HEADER_KEYS = frozenset({"account", "signature", "timestamp", "expiry_window", "agent_wallet"})
OP_TYPES = {
    "/api/v1/orders/create": "create_order",
    "/api/v1/orders/cancel": "cancel_order",
    "/api/v1/orders/cancel_all": "cancel_all_orders",
}
_OK = b'{"success":true,"data":null,"error":null,"code":null}'
_BAD = b'{"success":false,"data":null,"error":"Verification failed","code":400}'
_OK_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_OK)).encode())]
_BAD_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_BAD)).encode()),
]


async def _body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    while message.get("more_body", False):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def verify_body(path: str, body: bytes, now_ms: int) -> bool:
    """Parse, check expiry, rebuild the canonical message, verify the ed25519 signature."""
    raw = orjson.loads(body)
    if not isinstance(raw, dict):
        return False
    timestamp = raw["timestamp"]
    window = raw.get("expiry_window", 30_000)
    if timestamp + window < now_ms:
        return False
    header = {"type": OP_TYPES[path], "timestamp": timestamp, "expiry_window": window}
    payload = {k: v for k, v in raw.items() if k not in HEADER_KEYS}
    message = orjson.dumps({**header, "data": payload}, option=orjson.OPT_SORT_KEYS)
    signer = Pubkey.from_string(raw.get("agent_wallet") or raw["account"])
    return Signature.from_string(raw["signature"]).verify(signer, message)


class HttpCeiling:
    """Parse the JSON body, answer a constant envelope: no signature work."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        if body:
            orjson.loads(body)
        await send({"type": "http.response.start", "status": 200, "headers": _OK_HEADERS})
        await send({"type": "http.response.body", "body": _OK})


class VerifyCeiling:
    """Parse, canonicalise, verify; answer 200 or 400 Verification failed."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _body(receive)
        path = scope["path"]
        ok = path in OP_TYPES and verify_body(path, body, time.time_ns() // 1_000_000)
        status, answer, headers = (200, _OK, _OK_HEADERS) if ok else (400, _BAD, _BAD_HEADERS)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})


APPS: dict[str, Callable[[], Any]] = {"http": HttpCeiling, "verify": VerifyCeiling}


def serve(app_name: str, host: str, port: int, processes: int = 1) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    sys.stdout.write(f"Ceiling listening on http://{bound_host}:{bound_port} ({app_name})\n")
    sys.stdout.flush()
    if processes == 1:
        _run(app_name, sock)
        return
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:  # a child: one uvicorn server on the shared socket, until SIGTERM
            try:
                _run(app_name, sock)
            finally:
                os._exit(0)
        children.append(pid)

    def stop(signum: int, frame: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for pid in children:
        os.waitpid(pid, 0)


def _run(app_name: str, sock: socket.socket) -> None:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            APPS[app_name](),
            loop="uvloop",
            http="httptools",
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            proxy_headers=False,  # as Tidepool: the same uvicorn stack on both sides
        )
    )
    server.run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--app", choices=sorted(APPS), required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--processes", type=int, default=1)
    args = p.parse_args(argv)
    serve(args.app, args.host, args.port, args.processes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
