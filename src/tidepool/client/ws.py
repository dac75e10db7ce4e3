"""`WebSocketClient`: Pacifica's WebSocket (spec §5, A8–A10) for asyncio, on one connection.

    async with WebSocketClient(key=SECRET) as ws:        # LOCAL_WS_URL; or MAINNET_WS_URL
        ref = await ws.create_order(symbol="BTC", price="99000", amount="0.001", side="bid")
        book = await ws.book("BTC")                      # the local mirror, kept up to date
        print(book.bids[0].price, [o.order_id for o in await ws.open_orders()])
        async for trade in ws.trades("BTC"):             # typed pushes, Decimal numbers
            print(trade.price, trade.amount)

Trading: `create_order`, `create_market_order`, `edit_order`, `cancel_order`,
`cancel_all_orders` and `batch_orders`, the REST methods of the same names and arguments
(methods.py), signed by the same code (`Signer`). A request is `{"id", "params": {op: body}}`;
its reply is found by `id`, and an error reply raises the REST client's exception
(`errors.ws_error_for`). An operation is sent once: when the connection drops before its reply,
it raises TransportError and may have been applied. Resending it is safe, as over REST, because
a create carries a client order id the exchange refuses to reuse (DuplicateClientOrderId then
means the first one was made).

Subscriptions: one method per channel (`prices`, `book_updates`, `bbo`, `trades`, `candle`,
`mark_price_candle`, `account_info`, `account_positions`, `account_orders`,
`account_order_updates`, `account_trades`, `account_margin`, `account_leverage`), each
returning an async iterator of typed values (ws_subscription.py, ws_channels.py). A channel the
server refuses (an unknown symbol) ends its iterators with InvalidRequest. Two subscriptions whose
pushes look alike (two agg levels of one book) raise ValueError (ws_channels.py says why).

Mirror (ws_mirror.py): `book(symbol)`, `open_orders()` and `positions()` subscribe on first use,
wait for the state of the current connection (so, during an outage, for the reconnect, up to
`timeout`), and from then on answer from it; `mirror_changed()` waits for the next change.

Connection: a JSON ping every `heartbeat` seconds (Pacifica closes a connection silent for
60 s); a connection on which not even the pong came back within `timeout` is taken for dead.
After any drop the client reconnects, waiting `backoff` seconds, then twice that, up to
`max_backoff`, subscribes again to everything, and rebuilds the mirror from the new snapshots.
Events pushed while it was disconnected are not replayed. An upgrade refused with a 4xx (a bad
`api_key`: 403) ends the client: everything waiting raises that ApiError. `connections` counts
the connections opened; `ping()` times a round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Final, TypeVar, Unpack, cast

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from tidepool.client import actions
from tidepool.client.calls import Action, Answer, Batch, Call, decode_answer
from tidepool.client.errors import (
    ApiError,
    ClientError,
    DecodingError,
    TransportError,
    error_for,
    ws_error_for,
)
from tidepool.client.methods import method
from tidepool.client.models import Book, Candle, OrderRef, Price, Snapshot
from tidepool.client.signer import KeyOptions, Signer
from tidepool.client.urls import LOCAL_WS_URL
from tidepool.client.ws_channels import CHANNELS, Push
from tidepool.client.ws_mirror import Latest, OpenOrders
from tidepool.client.ws_models import (
    AccountInfo,
    AccountOrder,
    AccountPosition,
    AccountTrade,
    Bbo,
    LeverageUpdate,
    MarginUpdate,
    OrderUpdate,
    Trade,
)
from tidepool.client.ws_subscription import Feed, Subscription
from tidepool.client.ws_topics import Topic, Topics, subscription_frame

__all__ = ["WebSocketClient"]

T = TypeVar("T")
log = logging.getLogger("tidepool.client.ws")

_PING: Final = b'{"method":"ping"}'
_BATCH: Final = "batch_orders"
# Creates and edits answer `{"I", "i", "s"}` over the WebSocket, where REST answers
# `{"order_id"}`; the other operations' data is REST's.
_ORDER_REFS: Final = frozenset({"create_order", "create_market_order", "edit_order"})
_encode = msgspec.json.Encoder(decimal_format="string").encode
_push = msgspec.json.Decoder(Push)


class _WsOrderRef(msgspec.Struct, frozen=True):
    i: int
    I: str | None = None  # noqa: E741 (the wire's name)


_order_ref = msgspec.json.Decoder(_WsOrderRef)


class WebSocketClient(Signer):
    """A Pacifica WebSocket client; see the module docstring.

    `api_key` is sent as `PF-API-KEY` on the upgrade; `timeout` bounds connecting, each
    operation's reply and each wait for the mirror; `max_queue` is how many unread values an
    iterator may hold. The signing options are `KeyOptions`' (`key`, `agent_key`, ...)."""

    create_order = method(actions.create_order)
    create_market_order = method(actions.create_market_order)
    edit_order = method(actions.edit_order)
    cancel_order = method(actions.cancel_order)
    cancel_all_orders = method(actions.cancel_all_orders)
    batch_orders = method(actions.batch_orders)

    def __init__(
        self,
        url: str = LOCAL_WS_URL,
        *,
        api_key: str | None = None,
        heartbeat: float | None = 30.0,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        timeout: float = 10.0,
        max_queue: int = 10_000,
        **options: Unpack[KeyOptions],
    ) -> None:
        super().__init__(options)
        self.url = url
        self.api_key = api_key
        self.heartbeat = heartbeat
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.max_queue = max_queue
        self.connections = 0
        self._topics = Topics(self._send)
        self._books: dict[str, Latest[Book]] = {}
        self._positions: Latest[Snapshot[AccountPosition]] = Latest(lambda s: s.last_order_id)
        self._orders = OpenOrders()
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[Push]] = {}
        self._outbox: asyncio.Queue[bytes] | None = None  # the open connection's frames to send
        self._heard = asyncio.Event()  # set by each frame received
        # One entry per JSON ping sent on the open connection, answered in order by the pongs:
        # a `ping()` call's future, or None for the heartbeat's.
        self._pings: deque[asyncio.Future[None] | None] = deque()
        self._connected = asyncio.Event()
        self._changed = asyncio.Event()
        self._failure: ClientError | None = None  # why nothing can be sent any more
        self._runner: asyncio.Task[None] | None = None

    # -- lifetime -----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection (kept open, reopened after drops, until `close`); raises
        TransportError when it cannot be opened within `timeout`."""
        if self._runner is None:
            self._failure = None
            self._runner = asyncio.get_running_loop().create_task(self._maintain())
        try:
            await self._until_connected()
        except ClientError:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection for good: iterators end, waiting operations raise."""
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        if self._failure is None:
            self._failure = ClientError("the WebSocket client is closed")
        self._topics.end()
        self._notify()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def __aenter__(self) -> WebSocketClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _maintain(self) -> None:
        headers = {} if self.api_key is None else {"PF-API-KEY": self.api_key}
        attempt = 0
        while True:
            try:
                async with connect(
                    self.url,
                    additional_headers=headers,
                    user_agent_header="tidepool-client",
                    open_timeout=self.timeout,
                    close_timeout=1.0,  # a dead peer answers no close frame
                    ping_interval=None,  # the JSON heartbeat below keeps the connection alive
                    max_size=None,  # a full book or order list can be large
                ) as conn:
                    attempt = 0
                    await self._serve(conn)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if 400 <= status < 500:  # refused, and would be again: a bad key, a wrong path
                    self._fail(_refusal(status, bytes(exc.response.body)))
                    return
                log.info("ws: upgrade answered %s; reconnecting", status)
            except (OSError, TimeoutError, WebSocketException) as exc:
                log.info("ws: connection lost (%r); reconnecting", exc)
            await asyncio.sleep(min(self.max_backoff, self.backoff * 2**attempt))
            attempt += 1

    async def _serve(self, conn: ClientConnection) -> None:
        """One connection, from open to drop."""
        outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._outbox = outbox
        self.connections += 1
        for book in self._books.values():
            book.reset()
        self._positions.reset()
        self._orders.reset()
        for key in self._topics:
            outbox.put_nowait(subscription_frame("subscribe", key))
        self._connected.set()
        self._notify()
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._read(conn)), loop.create_task(self._write(conn, outbox))]
        if self.heartbeat is not None:
            tasks.append(loop.create_task(self._beat(conn, self.heartbeat, outbox)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self._connected.clear()
            self._outbox = None
            lost = TransportError("the connection closed before the reply")
            waiting: list[asyncio.Future[Any]] = [*self._replies.values()]
            waiting += [pong for pong in self._pings if pong is not None]
            for reply in waiting:
                if not reply.done():
                    reply.set_exception(lost)
            self._replies.clear()
            self._pings.clear()
            self._notify()

    async def _read(self, conn: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in conn:
                self._heard.set()
                self._dispatch(frame.encode() if isinstance(frame, str) else frame)

    async def _write(self, conn: ClientConnection, outbox: asyncio.Queue[bytes]) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await conn.send((await outbox.get()).decode())

    async def _beat(
        self, conn: ClientConnection, interval: float, outbox: asyncio.Queue[bytes]
    ) -> None:
        """Ping every `interval`; drop the connection when nothing at all, not even the pong,
        came back within `timeout` after a ping (at once: a peer that hangs answers no close)."""
        while True:
            self._heard.clear()
            self._pings.append(None)
            outbox.put_nowait(_PING)
            await asyncio.sleep(interval)
            if self._heard.is_set():
                continue
            try:
                await asyncio.wait_for(self._heard.wait(), self.timeout)
            except TimeoutError:
                log.info("ws: no answer to a ping within %s s; reconnecting", self.timeout)
                conn.transport.abort()
                return

    def _fail(self, error: ApiError) -> None:
        self._failure = error
        self._topics.fail(error)
        self._notify()

    def _send(self, frame: bytes) -> None:
        """Send `frame` on the open connection; dropped while there is none."""
        if self._outbox is not None:
            self._outbox.put_nowait(frame)

    # -- frames in ----------------------------------------------------------------------------

    def _dispatch(self, frame: bytes) -> None:
        try:
            push = _push.decode(frame)
        except msgspec.DecodeError:
            log.warning("ws: not a JSON object, ignored: %.200r", frame)
            return
        if push.channel is None:
            if isinstance(push.id, int) and push.code is not None:
                reply = self._replies.pop(push.id, None)
                if reply is not None and not reply.done():
                    reply.set_result(push)
            return
        if push.channel == "error":
            if not self._topics.refused(push):
                log.warning("ws: an error frame not understood: %r", push)
        elif push.channel in CHANNELS:
            try:
                self._topics.deliver(push.channel, CHANNELS[push.channel].values(push))
            except msgspec.ValidationError as exc:
                log.warning("ws: a %s push that does not decode (%s), ignored", push.channel, exc)
                return
        else:
            if push.channel == "pong" and self._pings:
                pinged = self._pings.popleft()
                if pinged is not None and not pinged.done():
                    pinged.set_result(None)
            return  # the subscribe and unsubscribe acks need nothing more
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def ping(self) -> float:
        """A JSON ping's round trip, in seconds. The server answers a connection's frames in
        order, so whatever it sent before the pong (pushes included) has arrived when this
        returns."""
        await self._until_connected()
        loop = asyncio.get_running_loop()
        pong: asyncio.Future[None] = loop.create_future()
        self._pings.append(pong)
        self._send(_PING)
        sent = loop.time()
        try:
            await asyncio.wait_for(pong, self.timeout)
        except TimeoutError:
            raise TransportError(f"ping: no pong within {self.timeout} s") from None
        return loop.time() - sent

    # -- trading ------------------------------------------------------------------------------

    async def _run(self, call: Call[T]) -> T:
        assert isinstance(call, Action | Batch)
        op = _BATCH if isinstance(call, Batch) else call.op_type
        await self._until_connected()
        assert self._outbox is not None
        request_id = next(self._ids)
        reply: asyncio.Future[Push] = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        frame = {"id": request_id, "params": {op: self._body(call)}}
        self._outbox.put_nowait(_encode(frame))
        try:
            answer = await asyncio.wait_for(reply, self.timeout)
        except TimeoutError:
            raise TransportError(f"{op}: no reply within {self.timeout} s") from None
        finally:
            self._replies.pop(request_id, None)
        value: T = _parse(call, op, answer)  # `call` was narrowed to Action[Any] | Batch
        return value

    async def _until_connected(self) -> None:
        if self._runner is None:
            raise self._failure or ClientError("not connected: use `async with` or connect()")
        await self._until("the connection", self._connected.is_set)

    async def _until(self, what: str, ready: Callable[[], bool], *topics: Topic) -> None:
        """Wait until `ready()`, re-checked after each change, up to `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while not ready():
            if self._failure is not None:
                raise self._failure
            for topic in topics:
                if topic.error is not None:
                    raise topic.error
            left = deadline - loop.time()
            if left <= 0:
                raise TransportError(f"{self.url}: {what} not ready within {self.timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    # -- subscriptions ------------------------------------------------------------------------

    def _subscribe(self, **params: Any) -> Subscription[Any]:
        if self._failure is not None:
            raise self._failure
        topic = self._topics.join(params)
        feed = Feed(self.max_queue)
        topic.feeds.add(feed)
        return Subscription(feed, functools.partial(self._topics.leave, topic.key, feed))

    def _account(self, account: str | None) -> str:
        return self._own_account() if account is None else account

    def prices(self) -> Subscription[list[Price]]:
        """Every market's prices, pushed when a mark moves."""
        return self._subscribe(source="prices")

    def book_updates(self, symbol: str, agg_level: int = 1) -> Subscription[Book]:
        """Full books: one at once, then at most every 250 ms while the book changes."""
        return self._subscribe(source="book", symbol=symbol, agg_level=agg_level)

    def bbo(self, symbol: str) -> Subscription[Bbo]:
        return self._subscribe(source="bbo", symbol=symbol)

    def trades(self, symbol: str) -> Subscription[Trade]:
        """Each public (taker) fill of the market."""
        return self._subscribe(source="trades", symbol=symbol)

    def candle(self, symbol: str, interval: str) -> Subscription[Candle]:
        return self._subscribe(source="candle", symbol=symbol, interval=interval)

    def mark_price_candle(self, symbol: str, interval: str) -> Subscription[Candle]:
        return self._subscribe(source="mark_price_candle", symbol=symbol, interval=interval)

    def account_info(self, account: str | None = None) -> Subscription[AccountInfo]:
        """Account values (equity, balance, margin, counts): at once, then on change. The
        account defaults to this client's own."""
        return self._subscribe(source="account_info", account=self._account(account))

    def account_positions(
        self, account: str | None = None
    ) -> Subscription[Snapshot[AccountPosition]]:
        return self._subscribe(source="account_positions", account=self._account(account))

    def account_orders(self, account: str | None = None) -> Subscription[Snapshot[AccountOrder]]:
        return self._subscribe(source="account_orders", account=self._account(account))

    def account_order_updates(self, account: str | None = None) -> Subscription[OrderUpdate]:
        return self._subscribe(source="account_order_updates", account=self._account(account))

    def account_trades(self, account: str | None = None) -> Subscription[AccountTrade]:
        return self._subscribe(source="account_trades", account=self._account(account))

    def account_margin(self, account: str | None = None) -> Subscription[MarginUpdate]:
        return self._subscribe(source="account_margin", account=self._account(account))

    def account_leverage(self, account: str | None = None) -> Subscription[LeverageUpdate]:
        return self._subscribe(source="account_leverage", account=self._account(account))

    # -- mirror -------------------------------------------------------------------------------

    def _mirrored(self, sink: Callable[[Any], None], **params: Any) -> Topic:
        topic = self._topics.join(params)
        if sink not in topic.sinks:
            topic.sinks.append(sink)
        return topic

    async def book(self, symbol: str) -> Book:
        """The market's book (agg_level 1) as last pushed on the current connection."""
        latest = self._books.get(symbol)
        if latest is None:
            latest = self._books[symbol] = Latest(lambda b: b.last_order_id)
        topic = self._mirrored(latest.apply, source="book", symbol=symbol, agg_level=1)
        await self._until(f"the {symbol} book", lambda: latest.current, topic)
        assert latest.value is not None
        return latest.value

    async def open_orders(self) -> list[AccountOrder]:
        """This account's open orders (pending stops included), oldest id first."""
        account = self._own_account()
        topics = (
            self._mirrored(self._orders.snapshot, source="account_orders", account=account),
            self._mirrored(self._orders.update, source="account_order_updates", account=account),
        )
        await self._until("the open orders", lambda: self._orders.current, *topics)
        return sorted(self._orders.orders.values(), key=lambda o: o.order_id)

    async def positions(self) -> list[AccountPosition]:
        """This account's open positions."""
        latest = self._positions
        account = self._own_account()
        topic = self._mirrored(latest.apply, source="account_positions", account=account)
        await self._until("the positions", lambda: latest.current, topic)
        assert latest.value is not None
        return list(latest.value)

    def mirror_changed(self) -> Coroutine[Any, Any, bool]:
        """Awaits the next push, reconnect or drop (what may change the mirror) after this call,
        not after the await starts: a change in between (`asyncio.wait_for` starts it a loop
        turn later) is not missed."""
        return self._changed.wait()


def _refusal(status: int, body: bytes) -> ApiError:
    """The error of an upgrade refused with `status` (the server's envelope when it sent one)."""
    try:
        decode_answer(status, body)
    except ApiError as exc:
        return exc
    except DecodingError:
        pass
    return error_for(status, status, f"WebSocket upgrade refused: HTTP {status}", None)


def _parse(call: Call[T], op: str, reply: Push) -> T:
    if reply.code != 200:
        raise ws_error_for(reply.code or 500, reply.err or f"code {reply.code}")
    try:
        if op in _ORDER_REFS:
            ref = _order_ref.decode(reply.data)
            return cast(T, OrderRef(order_id=ref.i, client_order_id=ref.I))
        value: T = call.parse(Answer(success=True, data=reply.data))
        return value
    except msgspec.ValidationError as exc:
        raise DecodingError(f"{op}: unexpected reply ({exc})", 200) from None
