"""Retries after a lost answer never make a second order (fault injection: the answer is dropped
after the server made the order)."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

import pytest
from clientkit import URL, DropAnswers, MakeClient, Unreachable
from solders.keypair import Keypair

from harness import Harness
from tidepool.client import OrderNotFound, StopLeg, TransportError, actions


def dropping(path: str, drops: int = 1) -> tuple[list[DropAnswers], Any]:
    made: list[DropAnswers] = []

    def wrap(inner: Any) -> DropAnswers:
        made.append(DropAnswers(inner, path, drops))
        return made[0]

    return made, wrap


def ticking(hx: Harness) -> Any:
    """A client clock that moves one ms per signature, so each attempt's timestamp differs."""
    return itertools.count(hx.clock.now_ms()).__next__


def test_a_create_whose_answer_was_lost_is_made_once_and_its_id_returned(
    make_client: MakeClient, alice_key: Keypair, hx: Harness
) -> None:
    drops, wrap = dropping("/orders/create")
    client = make_client(key=alice_key, wrap=wrap, clock=ticking(hx))
    ref = client.create_order(symbol="BTC", price="99000", amount="0.01", side="bid")
    open_orders = hx.open_orders(alice_key)
    assert [(o["order_id"], o["client_order_id"]) for o in open_orders] == [
        (ref.order_id, ref.client_order_id)
    ]
    first, second = drops[0].sent
    assert first["client_order_id"] == second["client_order_id"] == ref.client_order_id
    assert second["timestamp"] > first["timestamp"]
    assert second["signature"] != first["signature"]


def test_a_market_order_whose_answer_was_lost_fills_once(
    make_client: MakeClient, alice_key: Keypair, bob: Any, hx: Harness
) -> None:
    bob.create_order(symbol="BTC", price="100000", amount="0.05", side="ask")
    drops, wrap = dropping("/orders/create_market", drops=2)
    client = make_client(key=alice_key, wrap=wrap)
    ref = client.create_market_order(symbol="BTC", amount="0.01", side="bid", slippage_percent="1")
    assert len(drops[0].sent) == 3
    [position] = client.positions()
    assert position.amount == Decimal("0.01")
    # Filled at once, so not open: the id was found in the order history.
    assert [f.order_id for f in client.trade_history()] == [ref.order_id]


def test_a_stop_order_whose_answer_was_lost_rests_once(
    make_client: MakeClient, alice_key: Keypair
) -> None:
    _, wrap = dropping("/orders/stop/create")
    client = make_client(key=alice_key, wrap=wrap)
    ref = client.create_stop_order(
        symbol="BTC", side="bid", stop_order=StopLeg(stop_price="110000", amount="0.01")
    )
    assert [o.order_id for o in client.orders()] == [ref.order_id]


def test_a_batch_whose_answer_was_lost_reports_its_create_as_made_once(
    make_client: MakeClient, alice_key: Keypair
) -> None:
    _, wrap = dropping("/orders/batch")
    client = make_client(key=alice_key, wrap=wrap)
    [result] = client.batch_orders(
        [actions.create_order(symbol="BTC", price="99000", amount="0.01", side="bid")]
    )
    assert result.success and result.error is None
    assert [o.order_id for o in client.orders()] == [result.order_id]


def test_a_cancel_whose_answer_was_lost_is_retried_and_reports_the_order_gone(
    make_client: MakeClient, alice_key: Keypair, alice: Any
) -> None:
    ref = alice.create_order(symbol="BTC", price="99000", amount="0.01", side="bid")
    _, wrap = dropping("/orders/cancel")
    client = make_client(key=alice_key, wrap=wrap)
    with pytest.raises(OrderNotFound):
        client.cancel_order(symbol="BTC", order_id=ref.order_id)
    assert len(client.orders()) == 0


def test_without_retries_a_lost_answer_is_a_transport_error(
    make_client: MakeClient, alice_key: Keypair
) -> None:
    drops, wrap = dropping("/orders/create")
    client = make_client(key=alice_key, wrap=wrap, retries=0)
    with pytest.raises(TransportError, match="connection reset"):
        client.create_order(symbol="BTC", price="99000", amount="0.01", side="bid")
    assert len(drops[0].sent) == 1


def test_an_unreachable_server_is_tried_retries_plus_one_times_then_a_transport_error(
    make_client: MakeClient, alice_key: Keypair
) -> None:
    unreachable = Unreachable()
    client = make_client(key=alice_key, wrap=lambda _: unreachable, retries=2)
    with pytest.raises(TransportError, match=re.escape(f"POST {URL}/orders/create")):
        client.create_order(symbol="BTC", price="99000", amount="0.01", side="bid")
    assert unreachable.attempts == 3
