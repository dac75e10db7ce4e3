"""Clients talking to the real ASGI app in process (httpx transports), on the harness's loop and
manual clock, so every answer is deterministic and no port is opened."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from clientkit import URL, Awaiting, MakeClient, SyncASGITransport
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair
from tidepool.client import AsyncClient, Client


@pytest.fixture
def hx() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.close()


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, hx: Harness) -> Iterator[MakeClient]:
    """make_client(key=..., ...) -> a Client, or an AsyncClient run on the harness loop."""
    made: list[Any] = []

    def make(wrap: Callable[[Any], Any] = lambda transport: transport, **options: Any) -> Any:
        """`wrap` puts a transport of the test's own in front of the app's."""
        options.setdefault("clock", hx.clock.now_ms)
        options.setdefault("backoff", 0.0)
        if request.param == "sync":
            transport = wrap(SyncASGITransport(hx.app, hx.loop))
            client: Any = Client(URL, transport=transport, **options)
            made.append(client.close)
            return client
        inner = AsyncClient(URL, transport=wrap(httpx.ASGITransport(app=hx.app)), **options)
        made.append(lambda: hx.loop.run_until_complete(inner.aclose()))
        return Awaiting(inner, hx.loop)

    yield make
    for close in made:
        close()


@pytest.fixture
def alice_key(hx: Harness) -> Keypair:
    kp = keypair(1)
    hx.faucet(kp)
    return kp


@pytest.fixture
def bob_key(hx: Harness) -> Keypair:
    kp = keypair(2)
    hx.faucet(kp)
    return kp


@pytest.fixture
def alice(make_client: MakeClient, alice_key: Keypair) -> Any:
    return make_client(key=alice_key)


@pytest.fixture
def bob(make_client: MakeClient, bob_key: Keypair) -> Any:
    return make_client(key=bob_key)
