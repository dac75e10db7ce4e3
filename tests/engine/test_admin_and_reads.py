"""Faucet, mark, agents and the read API (reads never mutate; unknown reads are empty)."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, Inexact, Rounded, localcontext

import msgspec
from enginekit import Driver, kinds
from test_determinism import MARKETS, record_stream

from tidepool.engine.engine import Engine
from tidepool.engine.events import AgentRevoked


def test_faucet_credits_and_rejects_non_positive_amounts() -> None:
    d = Driver()
    out = d.fund("a", "12.5")
    assert kinds(out.events) == ["BalanceChanged"] and d.engine.balance("a") == Decimal("12.5")
    d.fund("a", "0.5")
    assert d.engine.balance("a") == Decimal(13)
    before = d.engine.state_hash()
    bad = d.fund("a", 0)
    assert bad.reject is not None and bad.reject.http_status == 400
    assert d.engine.state_hash() == before


def test_set_mark_price() -> None:
    d = Driver()
    assert d.engine.mark_price("X") == Decimal(100)
    assert d.mark("X", "101.5").reject is None
    assert d.engine.mark_price("X") == Decimal("101.5")
    out = d.mark("NOPE", 1)
    assert out.reject is not None and out.reject.code == 3
    assert d.mark("X", 0).reject is not None


def test_agents_bind_revoke_and_revoke_all() -> None:
    d = Driver()
    d.bind("a", "k2")
    d.bind("a", "k1")
    d.bind("a", "k1")
    assert d.engine.agents("a") == ["k1", "k2"]
    assert d.engine.is_agent("a", "k1") and not d.engine.is_agent("b", "k1")
    assert d.revoke("a", "k1").reject is None
    before = d.engine.state_hash()
    out = d.revoke("a", "k1")
    assert out.reject is not None and out.reject.code == 400 and out.reject.http_status == 400
    assert "not bound" in out.reject.message and d.engine.state_hash() == before
    d.bind("a", "k3")
    out = d.revoke_all("a")
    assert [e.agent for e in out.events if isinstance(e, AgentRevoked)] == ["k2", "k3"]
    assert d.engine.agents("a") == [] and d.revoke_all("zzz").reject is None


def test_reads_of_unknown_things_are_empty_and_do_not_mutate() -> None:
    d = Driver()
    before = d.engine.state_hash()
    assert d.engine.open_orders("nobody") == []
    assert d.engine.order(42) is None
    assert d.engine.order_history(42) == []
    assert d.engine.positions("nobody") == []
    assert d.engine.balance("nobody") == 0
    summary = d.engine.account_summary("nobody")
    assert summary.equity == 0 and summary.orders_count == 0
    assert d.engine.depth("NOPE") == ([], [])
    assert d.engine.agents("nobody") == []
    assert d.engine.state_hash() == before


def test_depth_levels_and_order_counts() -> None:
    d = Driver()
    d.fund("a")
    for price in (95, 96, 97, 97):
        d.limit("a", "bid", price, 1)
    for price in (101, 102, 102):
        d.limit("a", "ask", price, 2)
    bids, asks = d.engine.depth("X", 2)
    assert bids == [(97, 2, 2), (96, 1, 1)]
    assert asks == [(101, 2, 1), (102, 4, 2)]


def test_order_history_is_newest_first_with_increasing_history_ids() -> None:
    d = Driver()
    d.fund("a")
    d.fund("b")
    d.limit("a", "ask", 101, 3)
    d.limit("b", "bid", 101, 1)
    d.cancel("a", order_id=1)
    history = d.engine.order_history(1)
    assert [h.event_type for h in history] == ["cancel", "fulfill_limit", "make"]
    assert [h.history_id for h in history] == sorted((h.history_id for h in history), reverse=True)
    assert [(h.filled_lots, h.cancelled_lots) for h in history] == [(1, 2), (1, 0), (0, 0)]


def test_results_do_not_depend_on_the_callers_decimal_context() -> None:
    def run() -> bytes:
        d = Driver()
        d.fund("a", "1000.123456789")
        d.fund("b", "1000")
        d.limit("b", "ask", 103, 7)
        d.limit("a", "bid", 103, 3)
        d.limit("a", "ask", 104, 1)
        d.limit("b", "bid", 104, 1)
        return d.engine.snapshot()

    reference = run()
    with localcontext() as ctx:
        ctx.prec = 3
        assert run() == reference


def test_a_mixed_stream_replays_identically_under_a_hostile_decimal_context() -> None:
    """Every command kind (cancels and agent commands skip the context switch: they must do
    no Decimal arithmetic) gives the same outcomes and state under a caller context that would round
    or trap any computation made outside the engine's own context."""
    cmds, encoded, engine = record_stream(7, 1500)
    replay = Engine(MARKETS)
    with localcontext() as ctx:
        ctx.prec = 2
        ctx.rounding = ROUND_DOWN
        ctx.traps[Inexact] = True
        ctx.traps[Rounded] = True
        got = [msgspec.msgpack.encode(replay.apply(cmd)) for cmd in cmds]
        assert ctx.prec == 2 and ctx.rounding == ROUND_DOWN  # the caller's context is back
    assert got == encoded
    assert replay.state_hash() == engine.state_hash()
