"""`Subscription`: one consumer's async iterator over a WebSocket channel.

Each iterator has its own queue (`Feed`), so two loops over the same channel both see every
push, while the connection holds one server subscription for both. The queue is bounded: an
iterator left unread for `max_queue` values ends with `ClientError` rather than hold memory
without limit (as the server closes a consumer that does not read, spec A10).

Closing an iterator (`aclose`, leaving `async with`, or dropping the last reference, as
`break` out of `async for` does) leaves the channel; the last one to leave unsubscribes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from tidepool.client.errors import ClientError

__all__ = ["Feed", "Subscription"]

T = TypeVar("T")


class Feed:
    """The values pushed for one iterator, waiting to be read."""

    def __init__(self, max_queue: int) -> None:
        self._max = max_queue
        self._values: deque[Any] = deque()
        self._wake = asyncio.Event()
        self.error: BaseException | None = None
        self.ended = False

    def put(self, value: Any) -> bool:
        """Queue `value`; False when the reader fell `max_queue` values behind (the feed
        then ends with an error)."""
        if self.ended:
            return False
        if len(self._values) >= self._max:
            self.fail(ClientError(f"subscription fell {self._max} values behind its reader"))
            return False
        self._values.append(value)
        self._wake.set()
        return True

    def fail(self, error: BaseException) -> None:
        """End the feed: the values already queued are read first, then `error` is raised."""
        if not self.ended:
            self.error = error
            self.end()

    def end(self) -> None:
        self.ended = True
        self._wake.set()

    async def get(self) -> Any:
        while not self._values:
            if self.ended:
                if self.error is not None:
                    raise self.error
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._values.popleft()


class Subscription(Generic[T]):
    """`async for value in subscription`; `leave` is called once, when it is closed or
    collected."""

    def __init__(self, feed: Feed, leave: Callable[[], None]) -> None:
        self._feed = feed
        self._leave = weakref.finalize(self, leave)

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        value: T = await self._feed.get()
        return value

    async def aclose(self) -> None:
        self._feed.end()
        self._leave()

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
