"""The subscriptions of a `WebSocketClient`: what the connection is subscribed to, and who reads
each one.

A `Topic` is one server subscription (a `Key`: its params): the iterators reading it (their
`Feed`s) and the mirror parts it feeds (`sinks`). It is subscribed when first used and
unsubscribed when its last iterator leaves (mirror topics stay). `Topics` routes each push to
the topics it belongs to (ws_channels.py says how), and is what a new connection subscribes to
again. `send` gets each subscribe and unsubscribe frame; it drops them while disconnected,
since a connection subscribes to everything here when it opens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from tidepool.client.errors import ClientError, InvalidRequest
from tidepool.client.ws_channels import Key, Push
from tidepool.client.ws_subscription import Feed

__all__ = ["Topic", "Topics", "subscription_frame"]

_encode = msgspec.json.Encoder().encode


def subscription_frame(method: str, key: Key) -> bytes:
    return _encode({"method": method, "params": key.params})


class Topic:
    def __init__(self, key: Key) -> None:
        self.key = key
        self.feeds: set[Feed] = set()
        self.sinks: list[Callable[[Any], None]] = []
        self.error: ClientError | None = None  # the server refused it

    @property
    def used(self) -> bool:
        return bool(self.feeds or self.sinks)


class Topics:
    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send
        self._topics: dict[Key, Topic] = {}

    def __iter__(self) -> Iterator[Key]:
        return iter(tuple(self._topics))

    def join(self, params: dict[str, Any]) -> Topic:
        """The topic of `params`, subscribed now if it is new. ValueError when an existing
        subscription differs from it only in params the pushes do not show."""
        key = Key.of(params)
        topic = self._topics.get(key)
        if topic is None:
            clash = next((k for k in self._topics if k.clashes(key)), None)
            if clash is not None:
                raise ValueError(
                    f"already subscribed to {clash.params}, which the server's pushes do not "
                    f"tell apart from {params}: unsubscribe it first"
                )
            topic = self._topics[key] = Topic(key)
            self._send(subscription_frame("subscribe", key))
        return topic

    def leave(self, key: Key, feed: Feed) -> None:
        topic = self._topics.get(key)
        if topic is None:
            return
        topic.feeds.discard(feed)
        if not topic.used:
            del self._topics[key]
            self._send(subscription_frame("unsubscribe", key))

    def deliver(self, source: str, values: list[Any]) -> None:
        """Hand a push's values to the topics it belongs to."""
        if not values:
            return
        for topic in tuple(self._topics.values()):
            if not topic.key.routes(source, values[0]):
                continue
            for value in values:
                for sink in topic.sinks:
                    sink(value)
                for feed in tuple(topic.feeds):
                    if not feed.put(value):  # its reader fell behind: it has ended
                        self.leave(topic.key, feed)

    def refused(self, push: Push) -> bool:
        """`{"channel": "error", "data": {"message", "params"}}`: the subscribe the server
        refused ends its topic with InvalidRequest. False when it names no topic of ours."""
        try:
            data = msgspec.json.decode(push.data)
            key = Key.of(data["params"])
            message = str(data["message"])
        except (msgspec.DecodeError, KeyError, TypeError, AttributeError):
            return False
        topic = self._topics.pop(key, None)
        if topic is None:
            return False
        topic.error = InvalidRequest(400, 400, message, None)
        for feed in topic.feeds:
            feed.fail(topic.error)
        return True

    def fail(self, error: ClientError) -> None:
        """Every iterator ends with `error` (the client cannot connect any more)."""
        for topic in self._topics.values():
            for feed in topic.feeds:
                feed.fail(error)

    def end(self) -> None:
        """Every iterator ends (the client was closed)."""
        for topic in self._topics.values():
            for feed in topic.feeds:
                feed.end()
        self._topics.clear()
