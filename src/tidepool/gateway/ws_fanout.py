"""Fan-out of the event bus to WebSocket subscribers: one `Channel` per subscribed channel key
(a source and its params: `("book", "BTC", 1)`, `("prices",)`...), shared by every session that
subscribed to it.

A channel is a bus listener (runtime/bus.py) of its topics: the bus calls it with each delivery,
from the one callback that runs all the deliveries of a command once the sequencer is back on
the event loop (no queue and no task per channel). It turns the delivery into a push, encodes
it ONCE and offers the same bytes to every subscribed session (gateway/ws_session.py: a session
that cannot keep up is closed with 1008, nobody waits). The channel exists while it has
subscribers: the last one leaving closes its listener, so subscribe/unsubscribe cycles leave
nothing behind, and a bus nobody listens to costs the sequencer one check.

Pushes of a topic go out in engine order, each with the `li` of the command that caused it
(spec A8). A channel cannot fall behind the engine: its push is done with the command, so the
only backlog is each session's own, bounded per session. A push that raises is logged by the
bus, and the channel goes on with the next delivery (the other channels are not concerned).
A sandbox revert or reset (the StateReplaced event) closes the sessions with 1012: their
snapshots and `li` no longer hold, and a reconnect gets fresh ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tidepool.engine.events import StateReplaced
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.ws_session import Session
from tidepool.runtime.bus import Delivery, Topic

ChannelKey = tuple[str | int, ...]

encoder = msgspec.json.Encoder(decimal_format="string")
# The close reason of a sandbox revert or reset (code 1012, "service restart").
STATE_REPLACED = "sandbox state replaced (revert or reset): reconnect and resubscribe"


class Channel:
    """Subclasses say what a delivery pushes (`push`) and what a new subscriber gets at once
    (`joined`)."""

    def __init__(self, ex: Exchange, key: ChannelKey, *topics: Topic) -> None:
        self.ex = ex
        self.key = key
        self.sessions: set[Session] = set()
        self._listener = ex.sequencer.bus.listen(topics, self.deliver)

    def __repr__(self) -> str:  # what the bus logs of a push that raised
        return f"<{type(self).__name__} {self.key}>"

    def push(self, delivery: Delivery) -> None:
        raise NotImplementedError

    def joined(self, session: Session) -> None:
        """A session subscribed (also again): by default it gets only new pushes."""

    def broadcast(self, message: dict[str, Any]) -> None:
        frame = encoder.encode(message)
        for session in tuple(self.sessions):
            session.offer(frame)

    def close(self) -> None:
        self._listener.close()

    def deliver(self, delivery: Delivery) -> None:
        """The bus's call for each delivery of the channel's topics."""
        if delivery.events and type(delivery.events[0]) is StateReplaced:
            # A sandbox revert or reset: what the subscribers hold is void and ids go back
            # (`li` too), so they reconnect and start again from fresh snapshots.
            for session in tuple(self.sessions):
                session.close(1012, STATE_REPLACED)
            return
        self.push(delivery)


class Hub:
    """Every open channel of the process. `opener` builds the channel of a key."""

    def __init__(self, ex: Exchange, opener: Callable[[Exchange, ChannelKey], Channel]) -> None:
        self._ex = ex
        self._opener = opener
        self._channels: dict[ChannelKey, Channel] = {}

    def join(self, key: ChannelKey, session: Session) -> None:
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = self._opener(self._ex, key)
        channel.sessions.add(session)
        channel.joined(session)

    def leave(self, key: ChannelKey, session: Session) -> None:
        channel = self._channels.get(key)
        if channel is None:
            return
        channel.sessions.discard(session)
        if not channel.sessions:
            channel.close()
            del self._channels[key]

    @property
    def open_channels(self) -> int:
        return len(self._channels)
