"""Batch: actions applied in order as one command; a failing action changes nothing and the
others still apply."""

from __future__ import annotations

from enginekit import Driver, cancels, fills

from tidepool.domain.errors import Code
from tidepool.engine.commands import Batch, CancelOrder, CreateOrder, EditOrder


def test_batch_applies_in_order_and_a_failing_action_is_its_own_result() -> None:
    d = Driver()
    d.fund("a")
    d.fund("b", 1)
    seq = d.seq + 1
    stamp = {"seq": seq, "ts_ms": 1_000 * seq}
    actions = [
        CreateOrder(**stamp, account="a", symbol="X", side="ask", price_ticks=101,
                    size_lots=3, tif="GTC", reduce_only=False),
        CreateOrder(**stamp, account="b", symbol="X", side="bid", price_ticks=101,
                    size_lots=3, tif="GTC", reduce_only=False),  # 1 USDC: 5
        CancelOrder(**stamp, account="a", symbol="X", order_id=99),  # not found
        EditOrder(**stamp, account="a", symbol="X", price_ticks=102, order_id=1),
        CreateOrder(**stamp, account="a", symbol="X", side="bid", price_ticks=100,
                    size_lots=1, tif="GTC", reduce_only=False),
    ]  # fmt: skip
    out = d.apply(Batch, actions=actions)
    assert out.reject is None and out.results is not None
    assert [(r.reject.code if r.reject else None, r.order_id) for r in out.results] == [
        (None, 1),
        (Code.INSUFFICIENT_BALANCE, None),
        (400, None),
        (None, 2),
        (None, 3),
    ]
    assert cancels(out) == ["#1 edit 3"] and fills(out) == []
    assert d.ladder() == ["ask 102 x 3 (1)", "---", "bid 100 x 1 (1)"]
    assert {e.seq for e in out.events} == {seq}
