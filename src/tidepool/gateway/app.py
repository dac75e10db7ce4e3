"""The ASGI application: a route table and the three failure mechanisms (architecture guide).

A bare ASGI callable rather than a framework: the hot path is one dict lookup, one body read and
one send, which measured roughly half the per-request cost of Starlette routing (issue notes).

- WireError (bad JSON, bad signature, unknown symbol...): its envelope, nothing reached the engine.
- Business rejections: values in the engine's Outcome, turned into envelopes by the handlers.
- The sequencer cannot journal (SequencerStopped: a full disk, a failed fsync): the 503
  envelope with the reason, which `GET /ready` also answers until it clears.
- Anything else: logged, answered with the 500 envelope; the sequencer has already restored the
  engine to the state before the request.

WebSocket upgrades to `/ws` are connections of gateway/websocket.py; other paths are refused with
a 404 envelope.

Requests under /sandbox/ are unauthenticated by design (a local tool's cheats); what keeps a web
page the developer visits from using them is checked on the HTTP request itself, in both process
layouts (sandbox_guard): a JSON content type for bodies and no browser Origin but loopback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from tidepool.gateway import (
    accounts,
    batch,
    history,
    markets,
    orders,
    sandbox,
    signed,
    websocket,
)
from tidepool.gateway.envelope import INTERNAL_ERROR, Response, error, ok
from tidepool.gateway.errors import WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.operations import OPERATIONS
from tidepool.gateway.request import API, Request, Verified
from tidepool.gateway.sandbox_guard import SANDBOX_PREFIX, sandbox_guard
from tidepool.journal.errors import JournalWriteError

log = logging.getLogger("tidepool.gateway")

Handler = Callable[[Exchange, Request], Awaitable[Response]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 1 << 20


async def health(ex: Exchange, req: Request) -> Response:
    """Liveness: the process answers. Whether writes can be journaled is /ready's question."""
    return ok({"status": "ok"})


async def ready(ex: Exchange, req: Request) -> Response:
    """Readiness: 200 while commands can be journaled, 503 with the reason while they cannot."""
    reason = ex.sequencer.stopped_reason()
    if reason is not None:
        return unavailable(reason)
    return ok({"status": "ready", "seq": ex.sequencer.last_seq})


def unavailable(reason: str) -> Response:
    return error(503, f"Service unavailable: {reason}")


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/health"): health,
    ("GET", "/ready"): ready,
    ("GET", f"{API}/info"): markets.info,
    ("GET", f"{API}/info/prices"): markets.prices,
    ("GET", f"{API}/book"): markets.book,
    ("GET", f"{API}/orders"): orders.open_orders,
    ("GET", f"{API}/orders/history_by_id"): orders.order_history_by_id,
    ("GET", f"{API}/orders/history"): history.orders_history,
    ("GET", f"{API}/trades"): history.recent_trades,
    ("GET", f"{API}/trades/history"): history.trades_history,
    ("GET", f"{API}/kline"): history.kline,
    ("GET", f"{API}/account"): accounts.account,
    ("GET", f"{API}/positions"): accounts.positions,
    ("GET", f"{API}/account/settings"): accounts.settings,
    # Every signed operation, from the operation table; the batch holds several of them.
    **{("POST", op.path): signed.route(op) for op in OPERATIONS},
    ("POST", f"{API}/orders/batch"): batch.batch,
    ("POST", "/sandbox/faucet"): sandbox.faucet,
    ("POST", "/sandbox/mark_price"): sandbox.mark_price,
    ("GET", "/sandbox/state_hash"): sandbox.state_hash,
}
_CONTENT_TYPE = (b"content-type", b"application/json")


class AsgiApp:
    """The ASGI plumbing: read the body (bounded), answer one JSON Response, run the lifespan
    hooks. Shared by the in-process gateway and the gateway worker processes."""

    def __init__(
        self,
        on_startup: Callable[[], Awaitable[None]] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The HTTP path is written out here rather than in a helper coroutine: every await level
        # costs about a microsecond on each request.
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            elif scope["type"] == "websocket":
                await self.websocket(scope, receive, send)
            return
        message = await receive()
        if message["type"] == "http.disconnect":  # the client (or a read deadline) hung up
            return
        body: bytes | None = message.get("body", b"")
        if message.get("more_body", False):  # rare for small JSON bodies: read the rest
            body = await _read_rest(receive, message.get("body", b""))
        elif len(message.get("body", b"")) > MAX_BODY_BYTES:
            body = None
        path: str = scope["path"]
        refusal = sandbox_guard(scope) if path.startswith(SANDBOX_PREFIX) else None
        if refusal is not None:
            response = refusal
        elif body is None:
            response = error(413, f"Request body larger than {MAX_BODY_BYTES} bytes")
        else:
            try:
                response = await self.answer(scope["method"], path, scope["query_string"], body)
            except Exception:  # answer() handles its own; this guards a worker's forwarding
                log.exception("unexpected failure on %s %s", scope["method"], path)
                response = INTERNAL_ERROR
        # An explicit length spares clients chunked decoding of every small JSON answer.
        headers = [_CONTENT_TYPE, (b"content-length", str(len(response.body)).encode())]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    async def answer(self, method: str, path: str, query_string: bytes, body: bytes) -> Response:
        raise NotImplementedError

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket upgrade: refused with a 404 envelope unless a subclass serves it."""
        await websocket.refuse(receive, send, error(404, f"Not found: {scope['path']}"))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self._on_startup is not None:
                    await self._on_startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown is not None:
                    await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


class GatewayApp(AsgiApp):
    """The whole exchange API in this process: routes to handlers over `exchange`."""

    def __init__(
        self,
        exchange: Exchange,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        *,
        sandbox: bool = True,
        on_startup: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """sandbox False: the /sandbox/ routes do not exist (`serve --sandbox off`)."""
        super().__init__(on_startup=on_startup, on_shutdown=on_shutdown)
        self.exchange = exchange
        self._routes = (
            ROUTES
            if sandbox
            else {key: h for key, h in ROUTES.items() if not key[1].startswith(SANDBOX_PREFIX)}
        )
        self._paths = frozenset(path for _, path in self._routes)
        self._hub = websocket.hub(exchange)

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """`/ws` (spec §5); any other path is refused as AsgiApp does."""
        if normalize(scope["path"]) != websocket.PATH:
            await super().websocket(scope, receive, send)
            return
        try:
            await websocket.serve(self.exchange, self._hub, scope, receive, send)
        except Exception:
            log.exception("unexpected failure on the WebSocket connection")

    async def answer(
        self,
        method: str,
        path: str,
        query_string: bytes,
        body: bytes,
        verified: Verified | None = None,
    ) -> Response:
        """Answer one request. `verified`: the signature verdicts of the gateway worker process
        that received it (None: verify here). Also reachable as `dispatch`."""
        path = normalize(path)
        handler = self._routes.get((method, path))
        if handler is None:
            if path in self._paths:
                return error(405, f"Method {method} not allowed for {path}")
            return error(404, f"Not found: {path}")
        query = dict(parse_qsl(query_string.decode("latin-1"))) if query_string else {}
        try:
            return await handler(self.exchange, Request(method, path, query, body, verified))
        except WireError as exc:
            return exc.response
        except JournalWriteError as exc:
            return unavailable(str(exc))
        except Exception:
            log.exception("unexpected failure on %s %s", method, path)
            return INTERNAL_ERROR

    dispatch = answer


def normalize(path: str) -> str:
    return path.rstrip("/") or "/"


async def _read_rest(receive: Receive, first: bytes) -> bytes | None:
    """The whole request body after its `first` chunk, or None beyond MAX_BODY_BYTES."""
    chunks = [first]
    size = len(first)
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
