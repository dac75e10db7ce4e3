"""Fan-out of the event bus to WebSocket subscribers: one `Channel` per subscribed channel key
(a source and its params: `("book", "BTC", 1)`, `("prices",)`...), shared by every session that
subscribed to it.

A channel holds one bus subscription (runtime/bus.py) for its topics and one task that reads it,
turns each delivery into a push, encodes it ONCE and offers the same bytes to every subscribed
session (gateway/ws_session.py: a session that cannot keep up is closed, nobody waits). The
channel exists while it has subscribers: the last one leaving closes its bus subscription and
its task, so subscribe/unsubscribe cycles leave nothing behind, and a bus nobody listens to
costs the sequencer one check.

Pushes of a topic go out in engine order, each with the `li` of the command that caused it
(spec A8). If the channel's own bus queue overflows (its task starved for CHANNEL_BACKLOG
commands), its sessions are closed with 1011, since they would otherwise miss pushes silently.
A sandbox revert or reset (the StateReplaced event) closes them with 1012: their snapshots and
`li` no longer hold, and a reconnect gets fresh ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec

from tidepool.engine.events import StateReplaced
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.ws_session import Session
from tidepool.runtime.bus import Delivery, Topic

log = logging.getLogger("tidepool.ws")

ChannelKey = tuple[str | int, ...]
CHANNEL_BACKLOG = 1 << 16  # deliveries a channel task may fall behind before it gives up

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
        self._sub = ex.sequencer.bus.subscribe(topics, CHANNEL_BACKLOG)
        self._task = asyncio.get_running_loop().create_task(self._run())

    def push(self, delivery: Delivery) -> None:
        raise NotImplementedError

    def joined(self, session: Session) -> None:
        """A session subscribed (also again): by default it gets only new pushes."""

    def broadcast(self, message: dict[str, Any]) -> None:
        frame = encoder.encode(message)
        for session in tuple(self.sessions):
            session.offer(frame)

    def close(self) -> None:
        self._sub.close()
        self._task.cancel()

    async def _run(self) -> None:
        async for delivery in self._sub:
            if delivery.events and type(delivery.events[0]) is StateReplaced:
                # A sandbox revert or reset: what the subscribers hold is void and ids go back
                # (`li` too), so they reconnect and start again from fresh snapshots.
                for session in tuple(self.sessions):
                    session.close(1012, STATE_REPLACED)
                continue
            try:
                self.push(delivery)
            except Exception:  # a bug in one push must not end the stream for everyone
                log.exception("ws: push of %s failed", self.key)
        if self._sub.closed != "unsubscribed":
            log.warning("ws: channel %s fell behind the engine: %s", self.key, self._sub.closed)
            for session in tuple(self.sessions):
                session.close(1011, "server fell behind")


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
