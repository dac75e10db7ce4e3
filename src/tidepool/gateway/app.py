"""The ASGI application: a route table and the three failure mechanisms (architecture guide).

A bare ASGI callable rather than a framework: the hot path is one dict lookup, one body read and
one send, which measured roughly half the per-request cost of Starlette routing (issue notes).

- WireError (bad JSON, bad signature, unknown symbol...): its envelope, nothing reached the engine.
- Business rejections: values in the engine's Outcome, turned into envelopes by the handlers.
- The sequencer cannot journal (SequencerStopped: a full disk, a failed fsync): the 503
  envelope with the reason, which `GET /ready` also answers until it clears.
- Anything else: logged, answered with the 500 envelope; the sequencer has already restored the
  engine to the state before the request.

WebSocket upgrades to `/ws` are connections of gateway/websocket.py (in a gateway worker process:
relayed to the engine process's `ws_connection`); other paths are refused with a 404 envelope.

Requests under /sandbox/ are unauthenticated by design (a local tool's cheats); what keeps a web
page the developer visits from using them is checked on the HTTP request itself, in both process
layouts (sandbox_guard): a JSON content type for bodies and no browser Origin but loopback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from tidepool.gateway import (
    accesslog,
    accounts,
    api_keys,
    batch,
    history,
    markets,
    metrics,
    orders,
    sandbox,
    signed,
    websocket,
)
from tidepool.gateway.envelope import INTERNAL_ERROR, Response, error, ok, rejected
from tidepool.gateway.errors import WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.operations import BY_PATH, OPERATIONS
from tidepool.gateway.request import API, Request, Verified
from tidepool.gateway.sandbox_guard import SANDBOX_PREFIX, sandbox_guard
from tidepool.gateway.ws_session import Session
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
    ("GET", "/metrics"): metrics.scrape,
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
    ("POST", "/sandbox/balance"): sandbox.balance,
    ("POST", "/sandbox/mark_price"): sandbox.mark_price,
    ("GET", "/sandbox/time"): sandbox.time,
    ("POST", "/sandbox/time"): sandbox.time,
    ("POST", "/sandbox/snapshot"): sandbox.snapshot,
    ("POST", "/sandbox/revert"): sandbox.revert,
    ("POST", "/sandbox/reset"): sandbox.reset,
    ("GET", "/sandbox/accounts"): sandbox.accounts,
    ("GET", "/sandbox/state_hash"): sandbox.state_hash,
}


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
        logged = accesslog.enabled()
        started = perf_counter() if logged else 0.0  # the log line's time, only for a line
        message = await receive()
        if message["type"] == "http.disconnect":  # the client (or a read deadline) hung up
            return
        request_id, api_key = _request_headers(scope.get("headers", ()))
        trace = accesslog.Trace(request_id)
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
                response = await self.answer(
                    scope["method"], path, scope["query_string"], body, trace, api_key=api_key
                )
            except Exception:  # answer() handles its own; this guards a worker's forwarding
                log.exception("unexpected failure on %s %s", scope["method"], path)
                response = INTERNAL_ERROR
        # An explicit length spares clients chunked decoding of every small JSON answer.
        headers = [
            (b"content-type", response.content_type),
            (b"content-length", str(len(response.body)).encode()),
            (accesslog.REQUEST_ID_HEADER, trace.request_id),
            *response.headers,
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})
        if logged:  # after the answer is sent: the line never delays it
            accesslog.write(scope["method"], path, response.status, perf_counter() - started, trace)

    async def answer(
        self,
        method: str,
        path: str,
        query_string: bytes,
        body: bytes,
        trace: accesslog.Trace,
        *,
        api_key: str | None,
    ) -> Response:
        """The answer to one HTTP request; `trace` is filled in for its log line. `api_key`:
        the request's `PF-API-KEY` header (gateway.api_keys), None without one."""
        raise NotImplementedError

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket upgrade: `/ws` (spec §5) is the subclass's `serve_websocket`; any other
        path is refused with a 404 envelope."""
        if normalize(scope["path"]) != websocket.PATH:
            await websocket.refuse(receive, send, error(404, f"Not found: {scope['path']}"))
            return
        try:
            await self.serve_websocket(scope, receive, send)
        except Exception:
            log.exception("unexpected failure on the WebSocket connection")

    async def serve_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError

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
        self._stats = exchange.stats

    async def serve_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        await websocket.serve(self.exchange, self._hub, scope, receive, send)

    def ws_connection(self, session: Session, api_key: str | None) -> websocket.Connection:
        """The session logic of a connection whose socket a gateway worker process holds,
        upgraded with the `PF-API-KEY` header `api_key`."""
        return websocket.Connection(self.exchange, self._hub, session, api_key)

    async def answer(
        self,
        method: str,
        path: str,
        query_string: bytes,
        body: bytes,
        trace: accesslog.Trace,
        verified: Verified | None = None,
        *,
        api_key: str | None = None,
    ) -> Response:
        """Answer one request, count it for /metrics, and fill in its `trace`. `verified`: the
        signature verdicts of the gateway worker process that received it (None: verify here);
        `api_key`: its `PF-API-KEY` header. Also reachable as `dispatch`."""
        path = normalize(path)
        if api_key is not None:
            return await self._keyed(method, path, query_string, body, trace, verified, api_key)
        started = perf_counter()
        handler = self._routes.get((method, path))
        if handler is None:
            route = metrics.OTHER_ROUTE
            if path in self._paths:
                response = error(405, f"Method {method} not allowed for {path}")
            else:
                response = error(404, f"Not found: {path}")
        else:
            route = path
            query = dict(parse_qsl(query_string.decode("latin-1"))) if query_string else {}
            trace.account = query.get("account")
            try:
                response = await handler(
                    self.exchange, Request(method, path, query, body, verified, trace)
                )
            except WireError as exc:
                response = exc.response
            except JournalWriteError as exc:
                response = unavailable(str(exc))
            except Exception:
                log.exception("unexpected failure on %s %s", method, path)
                response = INTERNAL_ERROR
        self._stats.request(route, response.status, perf_counter() - started)
        return response

    dispatch = answer

    async def _keyed(
        self,
        method: str,
        path: str,
        query_string: bytes,
        body: bytes,
        trace: accesslog.Trace,
        verified: Verified | None,
        api_key: str,
    ) -> Response:
        """A request with an API key: refused (403 bad key, 429 over quota) before anything
        else, else answered as without it, plus the quota headers when a quota is set."""
        op = BY_PATH.get(path) if method == "POST" else None
        refusal, usage = api_keys.admit(self.exchange, api_key, None if op is None else op.op_type)
        response = (
            rejected(refusal)
            if refusal is not None
            else await self.answer(method, path, query_string, body, trace, verified)
        )
        if usage is None:
            return response
        return msgspec.structs.replace(response, headers=api_keys.rest_headers(usage))


def _request_headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bytes, str | None]:
    """The request id to answer with (accesslog) and the `PF-API-KEY` (api_keys): one pass over
    the headers for both; the first of each header counts."""
    given = key = None
    for name, value in headers:
        if name == accesslog.REQUEST_ID_HEADER:
            if given is None:
                given = value
        elif name == api_keys.HEADER and key is None:
            key = value
    return accesslog.request_id(given), None if key is None else api_keys.key_of(key)


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
