"""`tidepool.client` against a real `tidepool serve` (both process layouts, speedbump on): a dev
account trades with the blocking and the asyncio client, and a lost answer is retried into
exactly one order over a real socket."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest

from server_process import ServerProcess
from tidepool.client import AsyncClient, Client, OrderNotFound
from tidepool.server.devaccounts import dev_accounts

pytestmark = pytest.mark.e2e

# The e2e server fixture serves with --seed 7: its first dev accounts are funded at start.
ALICE, BOB = (a.secret_key for a in dev_accounts(7, 2))


def test_a_dev_account_trades_with_the_blocking_client(server: ServerProcess) -> None:
    with Client(server.url, key=ALICE) as alice, Client(server.api, key=BOB) as bob:
        assert alice.account().balance > 0
        resting = alice.create_order(symbol="BTC", price="99000", amount="0.01", side="bid")
        assert [o.order_id for o in alice.orders()] == [resting.order_id]
        alice.cancel_order(symbol="BTC", order_id=resting.order_id)
        with pytest.raises(OrderNotFound):
            alice.cancel_order(symbol="BTC", order_id=resting.order_id)
        bob.create_order(symbol="BTC", price="100000", amount="0.01", side="ask")
        alice.create_market_order(symbol="BTC", amount="0.01", side="bid", slippage_percent="1")
        [position] = alice.positions()
        assert (position.side, position.amount) == ("bid", Decimal("0.01"))


def test_the_asyncio_client_trades_concurrently(server: ServerProcess) -> None:
    async def trade() -> None:
        async with AsyncClient(server.api, key=ALICE) as alice:
            refs = await asyncio.gather(
                *(
                    alice.create_order(symbol="ETH", price=price, amount="0.1", side="bid")
                    for price in ("3000", "3001", "3002")
                )
            )
            open_ids = {o.order_id for o in await alice.orders() if o.symbol == "ETH"}
            assert open_ids == {r.order_id for r in refs}
            assert await alice.cancel_all_orders(symbol="ETH") == 3

    asyncio.run(trade())


class DropFirstCreateAnswer(httpx.HTTPTransport):
    """The real network transport, except that the first create's answer is thrown away after
    the server made the order, as a connection reset would lose it."""

    dropped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/orders/create") and not self.dropped:
            self.dropped = True
            response.read()
            raise httpx.ReadError("connection reset after the server answered", request=request)
        return response


def test_a_lost_answer_over_a_real_socket_is_retried_into_one_order(
    server: ServerProcess,
) -> None:
    transport = DropFirstCreateAnswer()
    with Client(server.api, key=ALICE, transport=transport, backoff=0.01) as alice:
        ref = alice.create_order(symbol="SOL", price="140", amount="1", side="bid")
        assert transport.dropped
        assert [o.order_id for o in alice.orders() if o.symbol == "SOL"] == [ref.order_id]
        alice.cancel_all_orders()
