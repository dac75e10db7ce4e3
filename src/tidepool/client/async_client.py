"""`AsyncClient`: the asyncio client, over `httpx.AsyncClient`."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TypeVar, Unpack

import httpx

from tidepool.client.base import BaseClient, Options, Wait
from tidepool.client.calls import Call
from tidepool.client.methods import Api
from tidepool.client.sandbox import AsyncSandbox
from tidepool.client.urls import LOCAL_URL

__all__ = ["AsyncClient"]

T = TypeVar("T")


class AsyncClient(Api, BaseClient):
    """An asyncio Pacifica client: the same methods as `Client`, awaited.

    `transport` replaces httpx's network transport (`httpx.ASGITransport(app)` runs the
    exchange in process); the options are `Options`'."""

    def __init__(
        self,
        base_url: str = LOCAL_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(base_url, **options)
        self._http = httpx.AsyncClient(transport=transport, timeout=self.timeout)
        self.sandbox = AsyncSandbox(self)  # the cheats of a local server (sandbox.py)

    async def _run(self, call: Call[T]) -> T:
        flow = self._flow(call)
        try:
            step = next(flow)
            while True:
                if isinstance(step, Wait):
                    await asyncio.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = await self._http.send(step)
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as done:
            value: T = done.value
            return value

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
