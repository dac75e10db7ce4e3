"""Fan-out of the event bus to WebSocket subscribers: one `Channel` per subscribed channel key
(a source and its params: `("book", "BTC", 1)`, `("prices",)`...), shared by every session that
subscribed to it.

A channel is a bus listener (runtime/bus.py) of its topics: the bus calls it once per drain (the
one callback that runs the deliveries of every command published since the last one, once the
sequencer is back on the event loop; no queue and no task per channel) with all its deliveries
of that drain. It turns them into pushes, encodes each ONCE and offers the same bytes to every
subscribed session (gateway/ws_session.py: a session that cannot keep up is closed with 1008,
nobody waits). The channel exists while it has
subscribers: the last one leaving closes its listener, so subscribe/unsubscribe cycles leave
nothing behind, and a bus nobody listens to costs the sequencer one check.

Pushes of a topic go out in engine order, each with the `li` of the command that caused it
(spec A8). The channels whose `data` is a list of items each carrying its own `li`
(`account_order_updates`, `account_trades`, `trades`; spec §5.3) are `ItemsChannel`s: they
send the items of all their deliveries of one bus drain (at saturation a drain holds ~20
commands) as ONE frame, in engine order, so a drain costs one encode and one offer per session
instead of one per command. Clients read every item of such a frame (ccxt.pro and Hummingbot
loop over `data`, as the official docs show lists). The account snapshots (`account_orders`,
`account_positions`, `account_info`) show the account as it is when the drain runs, so they
push once per drain too; the other channels (a single object: bbo, prices, candles, the
settings) push per delivery; the book, throttled, looks once per drain, and pauses its listener
while its next snapshot is due (the bus then builds nothing for it). Within a drain the
channels run in the order of their first delivery.

A channel cannot fall behind the engine: its push is done with the drain, so the only backlog
is each session's own, bounded per session. A push that raises is logged by the bus and costs
the channel the rest of that drain (a list channel: the drain's whole frame); it goes on with
the next drain (the other channels are not concerned). A sandbox revert or reset (the
StateReplaced event) closes the sessions with 1012: their snapshots and `li` no longer hold, and
a reconnect gets fresh ones.
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
# One item of a list channel's `data`: a JSON object, as a dict or a struct of its keys.
Item = dict[str, Any] | msgspec.Struct

encoder = msgspec.json.Encoder(decimal_format="string")
# The close reason of a sandbox revert or reset (code 1012, "service restart").
STATE_REPLACED = "sandbox state replaced (revert or reset): reconnect and resubscribe"


class Channel:
    """Subclasses say what a delivery pushes (`push`, or `deliver` for all of a drain's) and what
    a new subscriber gets at once (`joined`)."""

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

    def deliver(self, deliveries: list[Delivery]) -> None:
        """The bus's call, once per drain, with the channel's deliveries of that drain."""
        for delivery in deliveries:
            if self.ended_by(delivery):
                return
            self.push(delivery)

    def ended_by(self, delivery: Delivery) -> bool:
        """Whether `delivery` is a sandbox revert or reset, which closes every session (and
        nothing after it in the drain is pushed)."""
        events = delivery.events
        if events and type(events[0]) is StateReplaced:
            # What the subscribers hold is void and ids go back (`li` too), so they reconnect
            # and start again from fresh snapshots.
            for session in tuple(self.sessions):
                session.close(1012, STATE_REPLACED)
            return True
        return False


class ItemsChannel(Channel):
    """A channel whose push is a list of items (`items`), sent as one frame per bus drain
    under the channel's source (`key[0]`); none when the drain gave no item. Nothing is kept
    past a drain: the items of a drain that a sandbox reset ended are dropped with the
    sessions it closed."""

    def items(self, delivery: Delivery) -> list[Item]:
        raise NotImplementedError

    def deliver(self, deliveries: list[Delivery]) -> None:
        items: list[Item] = []  # in engine order
        for delivery in deliveries:
            if self.ended_by(delivery):
                return
            items += self.items(delivery)
        if items:
            self.broadcast({"channel": self.key[0], "data": items})


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
