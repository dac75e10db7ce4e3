"""Every client method against the real app in process, through the blocking and the asyncio
client alike (conftest's make_client): what a bot author sees."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from clientkit import MakeClient
from solders.keypair import Keypair

from harness import Harness
from pacifica_recipe import keypair
from tidepool.client import (
    AgentNotAuthorized,
    BookNotFound,
    DuplicateClientOrderId,
    InsufficientBalance,
    InvalidRequest,
    NotFound,
    OrderNotFound,
    PositionNotFound,
    SignatureError,
    StopLeg,
    actions,
)


def rest_bid(client: Any, price: str = "99000", **extra: Any) -> Any:
    return client.create_order(symbol="BTC", price=price, amount="0.01", side="bid", **extra)


def test_a_created_order_is_listed_with_decimal_numbers_and_a_generated_client_order_id(
    alice: Any,
) -> None:
    ref = alice.create_order(
        symbol="BTC", price=Decimal("99000"), amount="0.01", side="bid", tif="ALO"
    )
    assert uuid.UUID(ref.client_order_id).version == 4
    orders = alice.orders()
    assert [(o.order_id, o.client_order_id) for o in orders] == [
        (ref.order_id, ref.client_order_id)
    ]
    assert orders[0].price == Decimal("99000") and isinstance(orders[0].initial_amount, Decimal)
    assert orders.last_order_id is not None and orders.last_order_id >= ref.order_id


def test_a_given_client_order_id_is_sent_as_is_and_cancels_the_order(alice: Any) -> None:
    cloid = str(uuid.uuid4())
    assert rest_bid(alice, client_order_id=cloid).client_order_id == cloid
    alice.cancel_order(symbol="BTC", client_order_id=cloid)
    assert len(alice.orders()) == 0


def test_cancel_by_order_id_removes_the_order_and_a_second_cancel_is_order_not_found(
    alice: Any,
) -> None:
    ref = rest_bid(alice)
    assert alice.cancel_order(symbol="BTC", order_id=ref.order_id) is None
    with pytest.raises(OrderNotFound) as caught:
        alice.cancel_order(symbol="BTC", order_id=ref.order_id)
    assert (caught.value.status, caught.value.message) == (400, "Order not found")


def test_a_market_order_fills_against_the_book_and_shows_in_positions_and_histories(
    alice: Any, bob: Any, hx: Harness
) -> None:
    bob.create_order(symbol="BTC", price="100000", amount="0.02", side="ask")
    ref = alice.create_market_order(symbol="BTC", amount="0.01", side="bid", slippage_percent="1")
    [position] = alice.positions()
    assert (position.symbol, position.side, position.amount) == ("BTC", "bid", Decimal("0.01"))
    assert position.entry_price == Decimal("100000")
    fills = alice.trade_history(symbol="BTC")
    assert [(f.order_id, f.event_type, f.price) for f in fills] == [
        (ref.order_id, "fulfill_taker", Decimal("100000"))
    ]
    assert not fills.has_more and fills.next_cursor is None
    [trade] = alice.trades("BTC")
    assert (trade.price, trade.amount, trade.side) == (
        Decimal(100000),
        Decimal("0.01"),
        "open_long",
    )
    [candle] = alice.kline("BTC", "1m", hx.clock.now_ms())
    assert (candle.symbol, candle.close, candle.volume, candle.trades) == (
        "BTC",
        Decimal(100000),
        Decimal("0.01"),
        1,
    )


def test_the_book_lists_resting_levels_best_first(alice: Any, bob: Any) -> None:
    rest_bid(alice, "99000")
    rest_bid(alice, "99500")
    bob.create_order(symbol="BTC", price="101000", amount="0.03", side="ask")
    book = alice.book("BTC")
    assert [(lv.price, lv.amount, lv.orders) for lv in book.bids] == [
        (Decimal(99500), Decimal("0.01"), 1),
        (Decimal(99000), Decimal("0.01"), 1),
    ]
    assert [lv.price for lv in book.asks] == [Decimal(101000)]
    assert [lv.price for lv in alice.book("BTC", agg_level=1000).bids] == [Decimal(99000)]


def test_market_reads_describe_every_market(alice: Any) -> None:
    markets = {m.symbol: m for m in alice.info()}
    assert markets["BTC"].tick_size == Decimal(1) and markets["BTC"].max_leverage > 1
    prices = {p.symbol: p for p in alice.prices()}
    assert prices.keys() == markets.keys()
    assert prices["BTC"].mark == Decimal(100000)


def test_account_reads_balance_and_counts(alice: Any) -> None:
    rest_bid(alice)
    account = alice.account()
    assert account.balance == Decimal(100000) and account.orders_count == 1
    assert account.available_to_spend < account.balance


def test_edit_replaces_the_order_at_the_new_price_under_a_new_id(alice: Any) -> None:
    ref = rest_bid(alice)
    new = alice.edit_order(symbol="BTC", price="98000", order_id=ref.order_id)
    assert new.order_id != ref.order_id
    [order] = alice.orders()
    assert (order.order_id, order.price, order.client_order_id) == (
        new.order_id,
        Decimal(98000),
        ref.client_order_id,
    )


def test_order_history_pages_newest_first_and_history_by_id_tells_the_lifecycle(
    alice: Any,
) -> None:
    first, second = rest_bid(alice), rest_bid(alice, "98000")
    alice.cancel_order(symbol="BTC", order_id=first.order_id)
    page = alice.order_history(limit=1)
    assert [o.order_id for o in page] == [second.order_id] and page.has_more
    older = alice.order_history(limit=1, cursor=page.next_cursor)
    assert [(o.order_id, o.order_status) for o in older] == [(first.order_id, "cancelled")]
    events = alice.order_history_by_id(first.order_id)
    assert [e.order_status for e in events] == ["cancelled", "open"]
    with pytest.raises(NotFound):
        alice.order_history_by_id(10**9)


def test_a_stop_order_rests_until_cancelled(alice: Any) -> None:
    ref = alice.create_stop_order(
        symbol="BTC", side="bid", stop_order=StopLeg(stop_price="110000", amount="0.01")
    )
    assert ref.client_order_id is not None
    [stop] = alice.orders()
    assert (stop.order_id, stop.stop_price, stop.order_type) == (
        ref.order_id,
        Decimal(110000),
        "stop_market",
    )
    alice.cancel_stop_order(symbol="BTC", order_id=ref.order_id)
    assert len(alice.orders()) == 0


def test_position_tpsl_needs_a_position_and_then_rests_its_legs(alice: Any, bob: Any) -> None:
    legs = {"take_profit": StopLeg(stop_price="120000"), "stop_loss": StopLeg(stop_price="90000")}
    with pytest.raises(PositionNotFound):
        alice.set_position_tpsl(symbol="BTC", side="ask", **legs)
    bob.create_order(symbol="BTC", price="100000", amount="0.01", side="ask")
    alice.create_market_order(symbol="BTC", amount="0.01", side="bid", slippage_percent="1")
    assert alice.set_position_tpsl(symbol="BTC", side="ask", **legs) is None
    assert sorted(o.stop_price for o in alice.orders()) == [Decimal(90000), Decimal(120000)]


def test_cancel_all_answers_how_many_it_cancelled(alice: Any) -> None:
    rest_bid(alice)
    alice.create_order(symbol="ETH", price="3000", amount="0.1", side="bid")
    assert alice.cancel_all_orders(symbol="ETH") == 1
    assert alice.cancel_all_orders() == 1
    assert alice.cancel_all_orders() == 0


def test_a_batch_runs_its_actions_in_order_with_a_result_each(alice: Any) -> None:
    resting = rest_bid(alice)
    results = alice.batch_orders(
        [
            actions.create_order(symbol="BTC", price="97000", amount="0.01", side="bid"),
            actions.cancel_order(symbol="BTC", order_id=resting.order_id),
            actions.cancel_order(symbol="BTC", order_id=resting.order_id),
        ]
    )
    assert [(r.success, r.error) for r in results] == [
        (True, None),
        (True, None),
        (False, "Order not found"),
    ]
    assert [o.order_id for o in alice.orders()] == [results[0].order_id]


def test_an_operation_without_a_batch_type_cannot_be_batched(alice: Any) -> None:
    stop = actions.create_stop_order(symbol="BTC", side="bid", stop_order=StopLeg(stop_price="1"))
    with pytest.raises(ValueError, match="create_stop_order cannot be part of a batch"):
        alice.batch_orders([stop])


def test_leverage_and_margin_mode_show_in_account_settings(alice: Any) -> None:
    alice.update_leverage(symbol="BTC", leverage=5)
    alice.update_margin_mode(symbol="BTC", is_isolated=True)
    [setting] = alice.account_settings()
    assert (setting.symbol, setting.leverage, setting.isolated) == ("BTC", 5, True)


def test_an_agent_wallet_trades_for_the_account_until_revoked(
    alice: Any, alice_key: Keypair, make_client: MakeClient
) -> None:
    agent_key = keypair(9)
    agent = make_client(agent_key=agent_key, account=str(alice_key.pubkey()))
    with pytest.raises(AgentNotAuthorized):
        rest_bid(agent)
    alice.bind_agent_wallet(agent_wallet=str(agent_key.pubkey()))
    assert alice.list_agent_wallets() == [str(agent_key.pubkey())]
    ref = rest_bid(agent)
    assert [o.order_id for o in alice.orders()] == [ref.order_id]
    alice.revoke_agent_wallet(agent_wallet=str(agent_key.pubkey()))
    with pytest.raises(AgentNotAuthorized):
        rest_bid(agent)
    alice.bind_agent_wallet(agent_wallet=str(agent_key.pubkey()))
    alice.revoke_all_agent_wallets()
    assert alice.list_agent_wallets() == []


def test_agent_management_needs_the_accounts_own_key(
    make_client: MakeClient, alice_key: Keypair
) -> None:
    agent = make_client(agent_key=keypair(9), account=str(alice_key.pubkey()))
    with pytest.raises(ValueError, match="bind_agent_wallet must be signed with the account's"):
        agent.bind_agent_wallet(agent_wallet=str(keypair(8).pubkey()))


def test_business_rejections_raise_their_own_error_with_the_wire_code(
    make_client: MakeClient, alice: Any
) -> None:
    broke = make_client(key=keypair(3))
    with pytest.raises(InsufficientBalance) as caught:
        rest_bid(broke)
    assert (caught.value.status, caught.value.code) == (422, 5)
    with pytest.raises(BookNotFound):
        alice.create_order(symbol="NOPE", price="1", amount="1", side="bid")
    ref = rest_bid(alice)
    with pytest.raises(DuplicateClientOrderId) as duplicate:
        rest_bid(alice, client_order_id=ref.client_order_id)
    assert duplicate.value.code == 36


def test_an_off_tick_price_is_an_invalid_request_naming_the_price(alice: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        rest_bid(alice, price="99000.5")
    assert caught.value.status == 400 and "price" in caught.value.message.lower()


def test_an_expired_signature_is_a_signature_error(
    make_client: MakeClient, alice_key: Keypair, hx: Harness
) -> None:
    late = make_client(key=alice_key, clock=lambda: hx.clock.now_ms() - 60_000)
    with pytest.raises(SignatureError, match="Invalid message"):
        rest_bid(late)


def test_floats_are_refused_before_anything_is_sent(alice: Any, hx: Harness) -> None:
    with pytest.raises(TypeError, match="price: pass a Decimal, str or int, not float"):
        alice.create_order(symbol="BTC", price=99000.0, amount="0.01", side="bid")
    assert hx.open_orders(keypair(1)) == []


def test_reads_of_another_account_take_its_address(alice: Any, bob: Any, bob_key: Keypair) -> None:
    ref = rest_bid(bob)
    assert [o.order_id for o in alice.orders(account=str(bob_key.pubkey()))] == [ref.order_id]
    assert len(alice.orders()) == 0
