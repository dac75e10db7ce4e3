"""`tidepool.client.WebSocketClient` against a real `tidepool serve` (issue 16, scope 2): the six
trading operations and their errors, every channel as typed values, the local mirror against
REST after a burst, and heartbeat, reconnect and resubscribe."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair
from wsclientkit import Relay, eventually, now

from pacifica_recipe import keypair
from server_process import ServerProcess
from tidepool.client import (
    AccountInfo,
    AccountOrder,
    AccountPosition,
    AccountTrade,
    AgentNotAuthorized,
    ApiError,
    AsyncClient,
    Bbo,
    Book,
    Candle,
    ClientError,
    DuplicateClientOrderId,
    InvalidRequest,
    LeverageUpdate,
    MarginUpdate,
    OrderAmountTooLow,
    OrderNotFound,
    OrderUpdate,
    Price,
    RateLimited,
    SignatureError,
    Snapshot,
    Trade,
    WebSocketClient,
    actions,
)

pytestmark = pytest.mark.e2e

WAIT = 10.0  # seconds for anything pushed to arrive: generous, the machine may be loaded
RATE_LIMIT = 3  # credits a minute for requests made with an API key (only those are counted)
_next_key = iter(range(160, 250))


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    state = tmp_path_factory.mktemp("wsclient") / "state"
    args = ("--speedbump-ms", "0", "--rate-limit", str(RATE_LIMIT))
    with ServerProcess(state, *args) as server:
        yield server


def ws_url(srv: ServerProcess) -> str:
    return srv.url.replace("http://", "ws://") + "/ws"


def funded(srv: ServerProcess) -> Keypair:
    """A fresh account with collateral, so each test trades on its own orders."""
    kp = keypair(next(_next_key))
    faucet = {"account": str(kp.pubkey()), "amount": "1000000"}
    assert httpx.post(f"{srv.url}/sandbox/faucet", json=faucet).status_code == 200
    return kp


def run(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


def test_each_trading_operation_is_answered_over_the_socket(srv: ServerProcess) -> None:
    maker, taker = funded(srv), funded(srv)

    async def scenario() -> None:
        async with (
            WebSocketClient(ws_url(srv), key=maker) as ws,
            WebSocketClient(ws_url(srv), key=taker) as ws_taker,
            AsyncClient(srv.api, key=maker) as rest,
        ):
            ref = await ws.create_order(symbol="BTC", price="90000", amount="0.01", side="bid")
            assert ref.client_order_id is not None
            assert [(o.order_id, o.client_order_id) for o in await rest.orders()] == [
                (ref.order_id, ref.client_order_id)
            ]
            edited = await ws.edit_order(symbol="BTC", order_id=ref.order_id, price="90001")
            assert edited.order_id > ref.order_id
            [moved] = await rest.orders()
            assert (moved.order_id, moved.price) == (edited.order_id, Decimal("90001"))
            assert await ws.cancel_order(symbol="BTC", order_id=edited.order_id) is None

            ask = await ws.create_order(symbol="BTC", price="101000", amount="0.01", side="ask")
            bought = await ws_taker.create_market_order(
                symbol="BTC", amount="0.004", side="bid", slippage_percent="2"
            )
            assert bought.order_id > ask.order_id
            [position] = await rest.positions()
            assert position.side == "ask" and position.amount == Decimal("0.004")
            results = await ws.batch_orders(
                [
                    actions.create_order(symbol="BTC", price="89000", amount="0.01", side="bid"),
                    actions.create_order(symbol="BTC", price="89000", amount="0.00001", side="bid"),
                    actions.cancel_order(symbol="BTC", order_id=ask.order_id),
                ]
            )
            assert [r.success for r in results] == [True, False, True]
            assert results[1].error is not None and "too low" in results[1].error
            assert [o.order_id for o in await rest.orders()] == [results[0].order_id]
            assert await ws.cancel_all_orders() == 1
            assert list(await rest.orders()) == []

    run(scenario())


def test_error_replies_raise_the_rest_clients_exceptions(srv: ServerProcess) -> None:
    maker, stranger, agent = funded(srv), funded(srv), keypair(250)

    async def scenario() -> None:
        async with (
            WebSocketClient(ws_url(srv), key=maker) as ws,
            WebSocketClient(ws_url(srv), key=maker, account=str(stranger.pubkey())) as forger,
            WebSocketClient(
                ws_url(srv), agent_key=agent, account=str(maker.pubkey())
            ) as unbound_agent,
        ):
            with pytest.raises(OrderNotFound) as not_open:
                await ws.cancel_order(symbol="BTC", order_id=987654321)
            assert (not_open.value.status, not_open.value.message) == (420, "Order not found")
            with pytest.raises(OrderAmountTooLow) as too_low:
                await ws.create_order(symbol="BTC", price="90000", amount="0.00001", side="bid")
            assert (too_low.value.status, too_low.value.code) == (420, 7)
            ref = await ws.create_order(symbol="BTC", price="90000", amount="0.01", side="bid")
            with pytest.raises(DuplicateClientOrderId):
                await ws.create_order(
                    symbol="BTC",
                    price="90000",
                    amount="0.01",
                    side="bid",
                    client_order_id=ref.client_order_id,
                )
            with pytest.raises(InvalidRequest) as off_tick:
                await ws.create_order(symbol="BTC", price="90000.5", amount="0.01", side="bid")
            assert off_tick.value.status == 400
            with pytest.raises(SignatureError) as forged:
                await forger.create_order(symbol="BTC", price="90000", amount="0.01", side="bid")
            assert forged.value.status == 401
            with pytest.raises(AgentNotAuthorized) as unbound:
                await unbound_agent.cancel_all_orders()
            assert unbound.value.status == 403
            assert await ws.cancel_all_orders() == 1

    run(scenario())


def test_an_api_key_is_sent_on_the_upgrade_and_its_quota_raises_rate_limited(
    srv: ServerProcess,
) -> None:
    trader = funded(srv)

    async def scenario() -> None:
        async with AsyncClient(srv.api, key=trader) as rest:
            api_key = await rest.create_api_key()
        with pytest.raises(ApiError) as refused:
            async with WebSocketClient(ws_url(srv), key=trader, api_key="not-a-key"):
                pass
        assert refused.value.status == 403 and "Invalid API key" in refused.value.message
        async with WebSocketClient(ws_url(srv), key=trader, api_key=api_key) as ws:
            with pytest.raises(RateLimited) as limited:
                for _ in range(RATE_LIMIT + 1):  # a create costs one credit
                    await ws.create_order(symbol="BTC", price="50000", amount="0.001", side="bid")
            assert limited.value.status == 429
        async with AsyncClient(srv.api, key=trader) as rest:  # no API key: not counted
            assert await rest.cancel_all_orders() == RATE_LIMIT

    run(scenario())


def test_every_channel_is_an_async_iterator_of_typed_values(srv: ServerProcess) -> None:
    maker, taker = funded(srv), funded(srv)
    mark = {"symbol": "SOL", "price": "151"}

    async def scenario() -> None:
        async with (
            WebSocketClient(ws_url(srv), key=maker) as ws,
            AsyncClient(srv.api, key=maker) as rest,
            AsyncClient(srv.api, key=taker) as rest_taker,
            httpx.AsyncClient(base_url=srv.url) as sandbox,
        ):
            # Subscribed in this order, and the server handles a connection's frames in order:
            # once the last snapshot channel answered, every subscription is live.
            streams: dict[str, Any] = {
                "prices": ws.prices(),
                "bbo": ws.bbo("SOL"),
                "trades": ws.trades("SOL"),
                "candle": ws.candle("SOL", "1m"),
                "mark_price_candle": ws.mark_price_candle("SOL", "1m"),
                "account_order_updates": ws.account_order_updates(),
                "account_trades": ws.account_trades(),
                "account_margin": ws.account_margin(),
                "account_leverage": ws.account_leverage(),
                "book": ws.book_updates("SOL"),
                "account_info": ws.account_info(),
                "account_positions": ws.account_positions(),
                "account_orders": ws.account_orders(),
            }

            async def first(name: str) -> Any:
                return await asyncio.wait_for(anext(streams[name]), WAIT)

            # The snapshot channels answer at once.
            assert isinstance(await first("book"), Book)
            assert isinstance(await first("account_info"), AccountInfo)
            assert list(await first("account_positions")) == []
            assert list(await first("account_orders")) == []

            await rest.update_leverage(symbol="SOL", leverage=5)
            await rest.update_margin_mode(symbol="SOL", is_isolated=True)
            assert (await sandbox.post("/sandbox/mark_price", json=mark)).status_code == 200
            await rest.create_order(symbol="SOL", price="151", amount="1", side="ask")
            await rest_taker.create_order(
                symbol="SOL", price="151", amount="0.4", side="bid", tif="IOC"
            )

            leverage = await first("account_leverage")
            assert isinstance(leverage, LeverageUpdate) and leverage.leverage == 5
            margin = await first("account_margin")
            assert isinstance(margin, MarginUpdate) and margin.isolated is True
            prices = await first("prices")
            assert all(isinstance(p, Price) for p in prices)
            assert next(p.mark for p in prices if p.symbol == "SOL") == Decimal("151")
            mark_candle = await first("mark_price_candle")
            assert isinstance(mark_candle, Candle) and mark_candle.close == Decimal("151")
            made = await first("account_order_updates")
            assert isinstance(made, OrderUpdate) and made.order_status == "open"
            orders = await first("account_orders")
            assert isinstance(orders, Snapshot) and isinstance(orders[0], AccountOrder)
            assert orders[0].initial_amount == Decimal("1") and orders.last_order_id is not None
            bbo = await first("bbo")
            assert isinstance(bbo, Bbo) and bbo.ask == Decimal("151")
            trade = await first("trades")
            assert isinstance(trade, Trade)
            assert (trade.price, trade.amount, trade.side) == (
                Decimal("151"),
                Decimal("0.4"),
                "open_long",
            )
            fill = await first("account_trades")
            assert isinstance(fill, AccountTrade) and fill.event_type == "fulfill_maker"
            candle = await first("candle")
            assert isinstance(candle, Candle) and candle.volume == Decimal("0.4")
            # Leverage and margin changes pushed the (empty) positions again before the fill.
            while len(position := await first("account_positions")) == 0:
                pass
            assert isinstance(position[0], AccountPosition)
            assert (position[0].side, position[0].amount) == ("ask", Decimal("0.4"))
            await rest.cancel_all_orders()

    run(scenario())


def test_a_refused_subscription_ends_its_iterator_and_an_unread_one_ends_when_full(
    srv: ServerProcess,
) -> None:
    async def scenario() -> None:
        async with (
            WebSocketClient(ws_url(srv), max_queue=2) as ws,
            WebSocketClient(ws_url(srv)) as witness,
            httpx.AsyncClient(base_url=srv.url) as sandbox,
        ):
            with pytest.raises(InvalidRequest, match="Unknown symbol: DOGE"):
                await asyncio.wait_for(anext(ws.trades("DOGE")), WAIT)
            unread, read = ws.prices(), witness.prices()
            # Frames are handled in order: prices is live once a book subscribed after it
            # answered with its snapshot (prices sends nothing on subscribe).
            await asyncio.wait_for(anext(ws.book_updates("ETH")), WAIT)
            await asyncio.wait_for(anext(witness.book_updates("ETH")), WAIT)
            for price in ("3001", "3002", "3003"):
                mark = {"symbol": "ETH", "price": price}
                assert (await sandbox.post("/sandbox/mark_price", json=mark)).status_code == 200
            while next(p.mark for p in await anext(read) if p.symbol == "ETH") != 3003:
                pass
            await ws.ping()  # the server sent each tick to both at once: all three are here
            ticks = [await asyncio.wait_for(anext(unread), WAIT) for _ in range(2)]
            assert [next(p.mark for p in t if p.symbol == "ETH") for t in ticks] == [
                Decimal("3001"),
                Decimal("3002"),
            ]
            with pytest.raises(ClientError, match="fell 2 values behind"):
                await asyncio.wait_for(anext(unread), WAIT)

    run(scenario())


def _open(orders: Any) -> list[tuple[Any, ...]]:
    return [
        (o.order_id, o.client_order_id, o.side, o.price, o.initial_amount, o.filled_amount)
        for o in orders
    ]


def _levels(book: Book) -> list[list[tuple[Decimal, Decimal, int]]]:
    return [[(lv.price, lv.amount, lv.orders) for lv in side] for side in book.levels]


def test_the_mirror_matches_rest_after_a_burst_of_creates_cancels_and_fills(
    srv: ServerProcess,
) -> None:
    maker, taker = funded(srv), funded(srv)

    async def scenario() -> None:
        async with (
            WebSocketClient(ws_url(srv), key=maker) as ws,
            AsyncClient(srv.api, key=maker) as rest,
            AsyncClient(srv.api, key=taker) as rest_taker,
        ):
            assert await ws.open_orders() == []  # mirrored from here on
            await ws.book("ETH")
            refs = await asyncio.gather(
                *(
                    ws.create_order(symbol="ETH", price=str(3450 + i), amount="0.01", side="bid")
                    for i in range(20)
                )
            )
            await asyncio.gather(
                *(rest.cancel_order(symbol="ETH", order_id=r.order_id) for r in refs[::3]),
                ws.edit_order(symbol="ETH", order_id=refs[1].order_id, price="3440"),
            )
            # Fills the best bid (3469) and half of the next (3467: 3468 was cancelled).
            await rest_taker.create_order(
                symbol="ETH", price="3467", amount="0.015", side="ask", tif="IOC"
            )
            expected = _open(await rest.orders())
            assert len(expected) == 20 - 7 - 1
            assert await eventually(ws, ws.open_orders, lambda o: _open(o) == expected, WAIT)
            assert any(o.filled_amount == Decimal("0.005") for o in await ws.open_orders())
            rest_book = _levels(await rest.book("ETH"))
            await eventually(ws, lambda: ws.book("ETH"), lambda b: _levels(b) == rest_book, WAIT)
            assert await rest.cancel_all_orders() == len(expected)
            await eventually(ws, ws.open_orders, lambda o: o == [], WAIT)

    run(scenario())


def test_after_a_drop_the_client_reconnects_resubscribes_and_rebuilds_the_mirror(
    srv: ServerProcess,
) -> None:
    maker, taker = funded(srv), funded(srv)
    host, port = srv.url.removeprefix("http://").split(":")

    async def scenario() -> None:
        async with (
            Relay(host, int(port)) as relay,
            WebSocketClient(relay.url, key=maker, backoff=0.05, max_backoff=0.2) as ws,
            AsyncClient(srv.api, key=maker) as rest,
            AsyncClient(srv.api, key=taker) as rest_taker,
        ):
            kept = await ws.create_order(symbol="SOL", price="140", amount="1", side="bid")
            gone = await ws.create_order(symbol="SOL", price="141", amount="1", side="bid")
            await eventually(ws, ws.open_orders, lambda o: len(o) == 2, WAIT)
            trades = ws.trades("SOL")

            relay.cut()
            await eventually(ws, now(lambda: ws.connected), lambda up: not up, WAIT)
            # While the client is away: one order goes, one comes; it sees no push of either.
            await rest.cancel_order(symbol="SOL", order_id=gone.order_id)
            made = await rest.create_order(symbol="SOL", price="139", amount="1", side="bid")
            pending = asyncio.ensure_future(
                ws.create_order(symbol="SOL", price="138", amount="1", side="bid")
            )  # sent once the connection is back
            relay.restore()

            later = await asyncio.wait_for(pending, WAIT)
            assert ws.connections == 2
            ids = [kept.order_id, made.order_id, later.order_id]
            await eventually(ws, ws.open_orders, lambda o: [x.order_id for x in o] == ids, WAIT)
            # The trades channel was subscribed again on the new connection.
            await rest_taker.create_order(
                symbol="SOL", price="140", amount="0.1", side="ask", tif="IOC"
            )
            trade = await asyncio.wait_for(anext(trades), WAIT)
            assert (trade.price, trade.amount) == (Decimal("140"), Decimal("0.1"))
            await rest.cancel_all_orders()

    run(scenario())


def test_the_heartbeat_keeps_an_idle_connection_open_and_a_silent_one_is_reopened(
    tmp_path: Path,
) -> None:
    env = {"TIDEPOOL_WS_IDLE_S": "1"}
    with ServerProcess(tmp_path / "state", "--speedbump-ms", "0", env=env) as server:

        async def scenario() -> None:
            async with (
                WebSocketClient(ws_url(server), heartbeat=0.2) as beating,
                WebSocketClient(ws_url(server), heartbeat=None, backoff=0.05) as silent,
            ):
                # The server closes the silent connection after 1 s; the client reopens it.
                await eventually(silent, now(lambda: silent.connections), lambda n: n >= 2, WAIT)
                # The beating one connected first, so it would have been closed first: a new
                # subscription is still answered on its first connection.
                await asyncio.wait_for(anext(beating.book_updates("BTC")), WAIT)
                assert beating.connections == 1

        run(scenario())


def test_a_connection_that_stops_answering_is_dropped_and_reopened(srv: ServerProcess) -> None:
    host, port = srv.url.removeprefix("http://").split(":")

    async def scenario() -> None:
        async with (
            Relay(host, int(port)) as relay,
            WebSocketClient(relay.url, heartbeat=0.1, timeout=1.0, backoff=0.05) as ws,
        ):
            await ws.book("BTC")
            relay.stall()  # the pings go unanswered; nothing says the connection is gone
            await eventually(ws, now(lambda: ws.connections), lambda n: n >= 2, WAIT)
            # The mirror is served again once the new connection's snapshot arrived.
            assert (await ws.book("BTC")).symbol == "BTC"

    run(scenario())
