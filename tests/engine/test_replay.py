"""Journal recovery's sequence, snapshot restore then `Engine.replay` of the tail, against
`Engine.apply` of the whole stream (the determinism test's commands: every command type,
batches, legs, chunked cancel_all, fills): every read, the snapshot bytes, the state hash and
the invariants are the same.
"""

from __future__ import annotations

from test_determinism import ACCOUNTS, MARKETS, record_stream

from tidepool.engine import snapshot
from tidepool.engine.engine import Engine


def _same_reads(replayed: Engine, applied: Engine, accounts: tuple[str, ...] | list[str]) -> None:
    assert replayed.last_order_id == applied.last_order_id
    for acct in accounts:
        assert replayed.open_orders(acct) == applied.open_orders(acct)
        assert replayed.orders_page(acct, 10_000) == applied.orders_page(acct, 10_000)
        assert replayed.fills_page(acct, 10_000) == applied.fills_page(acct, 10_000)
        assert replayed.positions(acct) == applied.positions(acct)
        assert replayed.balance(acct) == applied.balance(acct)
        assert replayed.account_summary(acct) == applied.account_summary(acct)
        assert replayed.margin_settings(acct) == applied.margin_settings(acct)
        assert replayed.agents(acct) == applied.agents(acct)
    for symbol in applied.markets:
        assert replayed.depth(symbol, 10_000) == applied.depth(symbol, 10_000)
        assert replayed.mark_price(symbol) == applied.mark_price(symbol)
        assert replayed.open_interest(symbol) == applied.open_interest(symbol)
        assert replayed.recent_trades(symbol, 10_000) == applied.recent_trades(symbol, 10_000)
    for order_id in range(1, applied.last_order_id + 1):
        assert replayed.order(order_id) == applied.order(order_id)
        assert replayed.order_history(order_id) == applied.order_history(order_id)
    assert replayed.snapshot() == applied.snapshot()
    assert replayed.state_hash() == applied.state_hash()
    replayed.check_invariants()


def test_replay_then_restore_then_replay() -> None:
    """Recovery's real sequence: restore a snapshot, replay the tail on top."""
    cmds, _, reference = record_stream(20240611, 3_000)
    first = Engine(MARKETS)
    for cmd in cmds[:1_500]:
        first.replay(cmd)
    restored = Engine.restore(first.snapshot())
    for cmd in cmds[1_500:]:
        restored.replay(cmd)
    _same_reads(restored, reference, ACCOUNTS)


def test_history_log_survives_every_snapshot_version() -> None:
    """history_log (what the state hash reads) is rebuilt in history-id order from v1 and v2
    snapshots alike, and restoring either gives the same hash and the same log."""
    _, _, engine = record_stream(7, 1_500)
    state = engine._state
    assert [h.history_id for h in state.history_log] == sorted(
        h.history_id for order in state.orders.values() for h in order.history
    )
    v2 = engine.snapshot()
    v1 = snapshot.canonical(state)
    for data in (v1, v2):
        restored = Engine.restore(data)
        assert restored._state.history_log == state.history_log
        assert restored.state_hash() == engine.state_hash()
        restored.check_invariants()
