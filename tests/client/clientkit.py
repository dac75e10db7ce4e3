"""Test helpers for the client tests: in-process transports and the two clients behind one face."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from tidepool.client import AsyncClient, AsyncSandbox

URL = "http://tidepool.test/api/v1"


class SyncASGITransport(httpx.BaseTransport):
    """httpx's ASGITransport is async-only; this runs it to completion on the harness loop, so
    the blocking Client reaches the same app in process."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        copy = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )

        async def round_trip() -> httpx.Response:
            response = await self._inner.handle_async_request(copy)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._loop.run_until_complete(round_trip())


class Awaiting:
    """An AsyncClient whose methods are run to completion on the harness loop, so one test body
    checks both clients."""

    def __init__(self, client: AsyncClient | AsyncSandbox, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if isinstance(value, AsyncSandbox):  # client.sandbox: its methods are awaited too
            return Awaiting(value, self._loop)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if isinstance(result, Coroutine):
                return self._loop.run_until_complete(result)
            return result

        return call


MakeClient = Callable[..., Any]


class DropAnswers(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Fault injection: every request reaches the app, but the answers to the first `drops`
    requests whose path ends with `path` are thrown away and the send fails as a connection
    reset would, after the server has done the work."""

    def __init__(self, inner: Any, path: str, drops: int = 1) -> None:
        self.inner = inner
        self.path = path
        self.drops = drops
        self.sent: list[dict[str, Any]] = []  # the JSON bodies that reached the app at `path`

    def _after(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        if not request.url.path.endswith(self.path):
            return response
        self.sent.append(json.loads(request.content))
        if self.drops > 0:
            self.drops -= 1
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._after(request, self.inner.handle_request(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        return self._after(request, response)


class Unreachable(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A server nobody can connect to: every send fails before reaching it."""

    def __init__(self) -> None:
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        raise httpx.ConnectError("connection refused", request=request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.handle_request(request)
