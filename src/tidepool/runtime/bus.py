"""The event bus: what the engine says happened, routed to in-process subscribers by topic.

After a command is journaled (durable per the mode) and applied, the sequencer publishes its
events once (`Bus.publish`). Topics follow Pacifica's WebSocket channels (spec §5.2):

| topic                              | events                                             |
|------------------------------------|----------------------------------------------------|
| ("book", symbol), ("bbo", symbol)  | accepted orders, fills, cancels of that market     |
| ("trades", symbol)                 | fills                                              |
| ("candle", symbol)                 | fills                                              |
| ("prices", "")                     | mark price changes                                 |
| ("account_orders", account)        | its orders accepted, triggered, filled, cancelled  |
| ("account_order_updates", account) | the same                                           |
| ("account_trades", account)        | fills on either side                               |
| ("account_positions", account)     | position changes                                   |
| ("account_info", account)          | balance and position changes                       |
| ("account_margin", account)        | margin mode / leverage changes                     |
| ("account_leverage", account)      | the same                                           |
| every topic with a subscriber      | StateReplaced (a sandbox revert or reset)          |

The order topics also carry the command's changes to the account's orders: one immutable
history entry per change (engine `order_updates_since`), each showing the order as that change
left it (its event, cumulative filled and cancelled amounts, status): one
`account_order_updates` item each, a cancel_all's cancels and a taker's successive fills
included.

Two kinds of subscriber:
- `listen(topics, push)`: a `Listener`, a synchronous callback. The bus calls it from ONE
  callback (a "drain") scheduled on the event loop for all the commands published since the
  last one ran (one `call_soon` per drain, not a queue put and a task wake-up per subscriber),
  ONCE per drain with the list of every delivery of its topics in it, in publish order. At
  saturation a drain holds ~20 commands: a listener acts once for all of them (a WebSocket
  channel sends one frame of all its items, a throttled one looks at the clock once), and the
  bus makes one call per listener and drain, not one per delivery. The WebSocket channels are
  listeners: their work is done when the command is, so they cannot fall behind, and nothing
  waits on them. Listeners run in the order of their first delivery in the drain.
  A listener that needs no delivery for a while `pause()`s (a throttled channel, until its
  timer): it gets none until it `resume()`s, and nothing is built for topics whose listeners
  are all paused; but a StateReplaced resumes every paused listener and reaches it.
- `subscribe(topics, maxsize)`: a `Subscription` with a bounded queue, for a consumer that must
  await between deliveries (the market maker submits commands of its own).

Invariants:
- One `Delivery` per command and topic, holding that topic's events in engine order, with the
  command's seq and `li`, the last order id after it. Deliveries reach every subscriber in seq
  order, so `li` never decreases on a topic; a listener gets one command's deliveries in the
  order of the topics of its events (book before account updates for an order accepted).
- Publishing never blocks and never raises into the sequencer. A listener whose push raises is
  logged and the others still get their deliveries (and it gets those of the next drain); a
  listener closed before its deliveries ran gets none. A subscription whose queue is full is
  dropped, its `closed` says why, and its iterator ends. Others are not delayed.
- Nothing is routed while nobody subscribes: the cost to the sequencer is one check.
- Who wants what: the bus counts, per name (an account, a market, "" for `prices`), the
  subscribed topics naming it. A command whose events are all orders accepted, cancelled or
  filled none of whose names (market, accounts) anyone follows is not routed at all: the
  sequencer asks `follows(events)` first and then neither collects the command's order
  changes nor publishes it. Such a command costs a few dict lookups, not a routing; that is
  most commands when the only subscriber is the market maker (its own account and the marks)
  or WebSocket clients of other accounts and markets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable

import msgspec

from tidepool.engine.events import (
    BalanceChanged,
    Event,
    MarginSettingChanged,
    MarkPriceSet,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    PositionChanged,
    StateReplaced,
    StopTriggered,
)
from tidepool.engine.views import HistoryEntry

log = logging.getLogger("tidepool.bus")

Topic = tuple[str, str]
DEFAULT_QUEUE = 1024


class Delivery(msgspec.Struct, frozen=True):
    """One command's part for one topic: its events, and on the account order topics the
    command's changes to that account's orders (immutable history entries, one per change,
    each showing the order as that change left it)."""

    topic: Topic
    seq: int
    li: int
    events: tuple[Event, ...]
    updates: tuple[HistoryEntry, ...] = ()


def topics_of(event: Event) -> tuple[Topic, ...]:
    """The topics an event belongs to (the table in the module docstring). Always in the same
    order: a fill's market topics, then the maker's, then the taker's (once for a self-trade),
    as the order of a command's deliveries follows it."""
    if isinstance(event, OrderAccepted | OrderCancelled):  # the most frequent first
        symbol = event.symbol
        return ("book", symbol), ("bbo", symbol), *_order_topics(event.account)
    if isinstance(event, OrderFilled):
        symbol, maker, taker = event.symbol, event.maker_account, event.taker_account
        market = ("book", symbol), ("bbo", symbol), ("trades", symbol), ("candle", symbol)
        if maker == taker:
            return *market, *_fill_topics(maker)
        return *market, *_fill_topics(maker), *_fill_topics(taker)
    if isinstance(event, StopTriggered):
        return _order_topics(event.account)
    if isinstance(event, PositionChanged):
        return ("account_positions", event.account), ("account_info", event.account)
    if isinstance(event, BalanceChanged):
        return (("account_info", event.account),)
    if isinstance(event, MarkPriceSet):
        return (("prices", ""),)
    if isinstance(event, MarginSettingChanged):
        return ("account_margin", event.account), ("account_leverage", event.account)
    return ()


def _order_topics(account: str) -> tuple[Topic, Topic]:
    return ("account_orders", account), ("account_order_updates", account)


def _fill_topics(account: str) -> tuple[Topic, Topic, Topic]:
    return *_order_topics(account), ("account_trades", account)


class Subscription:
    """One consumer's topics and queue. Iterate it (`async for delivery in sub`) until it is
    closed: by `Bus.unsubscribe`, or by the bus when the consumer fell `maxsize` behind."""

    def __init__(self, bus: Bus, topics: frozenset[Topic], maxsize: int) -> None:
        self._bus = bus
        self.topics = topics
        self._queue: asyncio.Queue[Delivery | None] = asyncio.Queue(maxsize + 1)
        self._maxsize = maxsize
        self.closed: str | None = None

    def _offer(self, delivery: Delivery) -> bool:
        """Queue `delivery`; False (and closed) if the consumer is `maxsize` behind."""
        if self._queue.qsize() >= self._maxsize:
            self._close(f"slow consumer: {self._maxsize} deliveries not read")
            return False
        self._queue.put_nowait(delivery)
        return True

    def _close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason
            self._queue.put_nowait(None)  # the slot kept free for it: ends the iterator

    def close(self) -> None:
        self._bus.unsubscribe(self)

    @property
    def pending(self) -> int:
        """Deliveries queued and not read yet."""
        return self._queue.qsize()

    async def get(self) -> Delivery | None:
        """The next delivery, or None once closed (what was queued before is read first)."""
        if self.closed is not None and self._queue.empty():
            return None
        return await self._queue.get()

    async def __aiter__(self) -> AsyncIterator[Delivery]:
        while (delivery := await self.get()) is not None:
            yield delivery


# A listener's call: the deliveries of its topics of one drain, in publish order (never empty).
Push = Callable[[list[Delivery]], None]


class Listener:
    """One synchronous subscriber: `push(deliveries)` once per drain that has deliveries of its
    `topics`, called from the event loop, never from inside the sequencer. Ends with `close`."""

    def __init__(self, bus: Bus, topics: frozenset[Topic], push: Push) -> None:
        self._bus = bus
        self.topics = topics
        self.push = push
        self.closed: str | None = None
        self.paused = False

    def _close(self, reason: str) -> None:
        if self.closed is None:
            self.closed = reason

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def pause(self) -> None:
        """No deliveries from the next publish on (those already published still run)."""
        self._bus._pause(self, True)

    def resume(self) -> None:
        self._bus._pause(self, False)


Subscriber = Subscription | Listener


class Bus:
    def __init__(self) -> None:
        self._by_topic: dict[Topic, set[Subscriber]] = {}
        # The same but paused listeners, as the tuples `publish` walks: rebuilt per
        # (un)subscribe and pause, not per delivery; a topic nobody hears is absent.
        self._routes: dict[Topic, tuple[Subscriber, ...]] = {}
        # Per name (an account, a symbol, "" for `prices`): how many topics in _by_topic name
        # it. `follows` asks it, so a command nobody follows costs a lookup, not a routing.
        self._names: dict[str, int] = {}
        # Listeners' deliveries published and not run yet, in publish order, by listener (in
        # the order of their first delivery); one scheduled `_drain` runs them all.
        self._due: dict[Listener, list[Delivery]] = {}
        self.dropped = 0  # subscriptions closed for falling behind, since start
        self.failed = 0  # listener calls that raised, since start

    def subscribe(self, topics: Iterable[Topic], maxsize: int = DEFAULT_QUEUE) -> Subscription:
        sub = Subscription(self, frozenset(topics), maxsize)
        self._add(sub)
        return sub

    def listen(self, topics: Iterable[Topic], push: Push) -> Listener:
        listener = Listener(self, frozenset(topics), push)
        self._add(listener)
        return listener

    def _add(self, sub: Subscriber) -> None:
        for topic in sub.topics:
            subscribers = self._by_topic.get(topic)
            if subscribers is None:
                subscribers = self._by_topic[topic] = set()
                self._names[topic[1]] = self._names.get(topic[1], 0) + 1
            subscribers.add(sub)
            self._route(topic)

    def unsubscribe(self, sub: Subscriber, reason: str = "unsubscribed") -> None:
        for topic in sub.topics:
            subscribers = self._by_topic.get(topic)
            if subscribers is not None:
                subscribers.discard(sub)
                if not subscribers:
                    del self._by_topic[topic]
                    if self._names[topic[1]] == 1:
                        del self._names[topic[1]]
                    else:
                        self._names[topic[1]] -= 1
                self._route(topic)
        sub._close(reason)

    def _pause(self, listener: Listener, paused: bool) -> None:
        if listener.paused != paused and listener.closed is None:
            listener.paused = paused
            for topic in listener.topics:
                self._route(topic)

    def _route(self, topic: Topic) -> None:
        heard = tuple(
            sub
            for sub in self._by_topic.get(topic, ())
            if not (isinstance(sub, Listener) and sub.paused)
        )
        if heard:
            self._routes[topic] = heard
        else:
            self._routes.pop(topic, None)

    def _resume_all(self) -> None:
        for subscribers in tuple(self._by_topic.values()):
            for sub in tuple(subscribers):
                if isinstance(sub, Listener):
                    sub.resume()

    @property
    def idle(self) -> bool:
        return not self._by_topic

    def follows(self, events: Iterable[Event]) -> bool:
        """Whether anyone may want a command with these events. False when each is an order
        accepted, cancelled or filled none of whose names anyone follows: the sequencer then
        neither collects the command's order changes nor publishes it (every order change
        comes with an event naming the order's account: tests/engine/test_determinism.py).

        Every command of every client pays this check once anyone subscribes (the market
        maker, a WebSocket client), so it reads the names as attributes, one dict lookup each:
        building them as a tuple and testing it against the dict's keys cost twice as much
        (~3,000 instructions a command, instead of ~1,400). The names are those of the event's
        topics (`topics_of`; tests/journal/test_bus.py checks they agree)."""
        names = self._names
        for event in events:
            if type(event) is OrderAccepted or type(event) is OrderCancelled:
                if event.account in names or event.symbol in names:
                    return True
            elif type(event) is OrderFilled:
                if (
                    event.maker_account in names
                    or event.taker_account in names
                    or event.symbol in names
                ):
                    return True
            else:  # any other event: routed as before
                return True
        return False

    def publish(
        self,
        seq: int,
        li: int,
        events: Iterable[Event],
        updates: Iterable[tuple[str, HistoryEntry]] = (),
    ) -> None:
        """Route one command's events and order changes. Never blocks; a full subscription is
        dropped; listeners run once the sequencer has returned to the event loop."""
        if not self._by_topic:
            return
        due = self._due
        was_due = bool(due)
        routes = self._routes  # its tuples are replaced, not changed: safe to walk meanwhile
        for delivery in self._deliveries(seq, li, events, updates):
            for sub in routes.get(delivery.topic, ()):
                if isinstance(sub, Listener):
                    batch = due.get(sub)
                    if batch is None:
                        due[sub] = [delivery]
                    else:
                        batch.append(delivery)
                elif not sub._offer(delivery):
                    self.dropped += 1
                    log.warning("bus: dropped a subscriber of %s: %s", delivery.topic, sub.closed)
                    self.unsubscribe(sub, sub.closed or "slow consumer")
        if due and not was_due:
            asyncio.get_running_loop().call_soon(self._drain)

    def _deliveries(
        self,
        seq: int,
        li: int,
        events: Iterable[Event],
        updates: Iterable[tuple[str, HistoryEntry]],
    ) -> list[Delivery]:
        """One command's delivery of each topic someone listens to, in the order of the
        topics' first events (then the topics with order changes only)."""
        listened = self._routes
        by_topic: dict[Topic, list[Event]] = {}
        for event in events:
            if type(event) is StateReplaced:
                # A sandbox revert or reset: every subscriber's state is void, paused or not.
                self._resume_all()
                topics: Iterable[Topic] = tuple(listened)
            else:
                topics = topics_of(event)
            for topic in topics:
                if topic in listened:
                    if topic in by_topic:
                        by_topic[topic].append(event)
                    else:
                        by_topic[topic] = [event]
        changes: dict[Topic, list[HistoryEntry]] = {}
        for account, entry in updates:
            for topic in _order_topics(account):
                if topic in listened:
                    if topic in changes:
                        changes[topic].append(entry)
                    else:
                        changes[topic] = [entry]
        if not by_topic and not changes:
            return []
        deliveries = [
            Delivery(topic, seq, li, tuple(of_topic), tuple(changes.pop(topic, ())))
            for topic, of_topic in by_topic.items()
        ]
        deliveries += [Delivery(t, seq, li, (), tuple(of_t)) for t, of_t in changes.items()]
        return deliveries

    def _drain(self) -> None:
        """Run every listener once with its deliveries due, in the order of their first."""
        due, self._due = self._due, {}
        for listener, deliveries in due.items():
            if listener.closed is not None:
                continue
            try:
                listener.push(deliveries)
            except Exception:  # a bug in one listener must not cost the others their pushes
                self.failed += 1
                topic = deliveries[0].topic
                log.exception("bus: a listener of %s failed: %r", topic, listener.push)
