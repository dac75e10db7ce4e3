"""`Client`: the blocking client, over `httpx.Client`."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TypeVar, Unpack

import httpx

from tidepool.client.base import BaseClient, Options, Wait
from tidepool.client.calls import Call
from tidepool.client.methods import Api
from tidepool.client.sandbox import Sandbox
from tidepool.client.urls import LOCAL_URL

__all__ = ["Client"]

T = TypeVar("T")


class Client(Api, BaseClient):
    """A blocking Pacifica client; see `tidepool.client` for an example.

    `transport` replaces httpx's network transport (`httpx.MockTransport`, a test's in-process
    ASGI transport); the options are `Options`'."""

    def __init__(
        self,
        base_url: str = LOCAL_URL,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[Options],
    ) -> None:
        super().__init__(base_url, **options)
        self._http = httpx.Client(transport=transport, timeout=self.timeout)
        self.sandbox = Sandbox(self)  # the cheats of a local server (sandbox.py)

    def _run(self, call: Call[T]) -> T:
        flow = self._flow(call)
        try:
            step = next(flow)
            while True:
                if isinstance(step, Wait):
                    time.sleep(step.seconds)
                    step = flow.send(None)
                    continue
                try:
                    response = self._http.send(step)
                except httpx.TransportError as exc:
                    step = flow.throw(exc)
                else:
                    step = flow.send(response)
        except StopIteration as done:
            value: T = done.value
            return value

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
