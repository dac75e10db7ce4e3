"""`client.sandbox`: the cheats of a local Tidepool server (docs/sandbox.md), on a client.

    with Client(key=SECRET) as client:
        snap = client.sandbox.snapshot()
        client.sandbox.mark_price("BTC", "90000")
        client.sandbox.advance_time(60_000)
        client.sandbox.revert(snap.id)

`Client.sandbox` is a `Sandbox`, `AsyncClient.sandbox` an `AsyncSandbox` (the same methods,
awaited). They send through their client, so a cheat is built, sent and read as any call
(`base`), and its errors are the client's tree (a refused cheat is InvalidRequest, an unknown
snapshot NotFound). The routes take no signature: a client without a key may call them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from tidepool.client import sandbox_calls
from tidepool.client.calls import Call
from tidepool.client.methods import method

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from tidepool.client.async_client import AsyncClient
    from tidepool.client.sync_client import Client

__all__ = ["AsyncSandbox", "Sandbox", "SandboxApi"]

T = TypeVar("T")


class SandboxApi:
    """Every sandbox route, named after it; the clock's POST as one method per body."""

    faucet = method(sandbox_calls.faucet)
    balance = method(sandbox_calls.balance)
    mark_price = method(sandbox_calls.mark_price)
    mark_prices = method(sandbox_calls.mark_prices)
    time = method(sandbox_calls.time)
    advance_time = method(sandbox_calls.advance_time)
    set_time = method(sandbox_calls.set_time)
    freeze_time = method(sandbox_calls.freeze_time)
    unfreeze_time = method(sandbox_calls.unfreeze_time)
    snapshot = method(sandbox_calls.snapshot)
    revert = method(sandbox_calls.revert)
    reset = method(sandbox_calls.reset)
    accounts = method(sandbox_calls.accounts)
    state_hash = method(sandbox_calls.state_hash)


class Sandbox(SandboxApi):
    """The sandbox of a `Client`: each method returns the answer."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _run(self, call: Call[T]) -> T:
        return self._client._run(call)


class AsyncSandbox(SandboxApi):
    """The sandbox of an `AsyncClient`: each method is awaited."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    def _run(self, call: Call[T]) -> Awaitable[T]:
        return self._client._run(call)
