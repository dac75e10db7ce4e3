"""Cancel and cancel-all scenarios: what leaves the book, and what is "Order not found"."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from enginekit import Driver, cancels, leg

from tidepool.domain.errors import ORDER_NOT_FOUND_ON_CANCEL
from tidepool.engine.commands import CancelAllOrders, Command
from tidepool.engine.engine import Engine
from tidepool.engine.events import Event, Outcome

CLOID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"


@pytest.fixture
def d() -> Driver:
    d = Driver()
    for account in ("a", "b"):
        d.fund(account)
    return d


def assert_not_found(d: Driver, **kw: Any) -> None:
    before = d.engine.state_hash()
    out = d.cancel(**kw)
    assert out.reject == ORDER_NOT_FOUND_ON_CANCEL and out.events == []
    assert d.engine.state_hash() == before


def test_cancel_by_order_id(d: Driver) -> None:
    d.limit("a", "bid", 100, 3)
    d.limit("a", "bid", 99, 1)
    out = d.cancel("a", order_id=1)
    assert out.reject is None and out.order_id == 1
    assert cancels(out) == ["#1 cancel 3"]
    assert d.ladder() == ["---", "bid 99 x 1 (1)"]
    assert d.status(1) == ("cancelled", "cancel", 0, 3, 0)
    assert [h.event_type for h in d.engine.order_history(1)] == ["cancel", "make"]
    assert [o.order_id for o in d.engine.open_orders("a")] == [2]


def test_cancel_by_client_order_id(d: Driver) -> None:
    d.limit("a", "bid", 100, 3, cloid=CLOID)
    out = d.cancel("a", cloid=CLOID)
    assert out.order_id == 1 and cancels(out) == ["#1 cancel 3"]
    assert d.ladder() == ["---"]


def test_cancel_of_someone_elses_order_is_not_found(d: Driver) -> None:
    d.limit("a", "bid", 100, 3, cloid=CLOID)
    assert_not_found(d, account="b", order_id=1)
    assert_not_found(d, account="b", cloid=CLOID)
    assert d.ladder() == ["---", "bid 100 x 3 (1)"]


def test_cancel_with_the_wrong_symbol_or_unknown_ids_is_not_found(d: Driver) -> None:
    d.limit("a", "bid", 100, 3)
    assert_not_found(d, account="a", order_id=1, symbol="Y")
    assert_not_found(d, account="a", order_id=999)
    assert_not_found(d, account="a", cloid=CLOID)


def test_cancel_of_a_filled_order_is_not_found(d: Driver) -> None:
    d.limit("a", "ask", 101, 2)
    d.limit("b", "bid", 101, 2)
    assert_not_found(d, account="a", order_id=1)
    assert_not_found(d, account="b", order_id=2)


def test_cancel_twice_second_is_not_found_and_changes_nothing(d: Driver) -> None:
    d.limit("a", "bid", 100, 3)
    assert d.cancel("a", order_id=1).reject is None
    assert_not_found(d, account="a", order_id=1)
    assert d.status(1) == ("cancelled", "cancel", 0, 3, 0)


def test_cancel_keeps_fifo_of_the_rest_of_the_level(d: Driver) -> None:
    d.limit("a", "ask", 101, 1)
    d.limit("a", "ask", 101, 1)
    d.limit("a", "ask", 101, 1)
    d.cancel("a", order_id=2)
    out = d.limit("b", "bid", 101, 2)
    assert [e.maker_order_id for e in out.events if hasattr(e, "maker_order_id")] == [1, 3]


def seed_orders(d: Driver) -> None:
    d.limit("a", "bid", 90, 1)  # 1 X
    d.limit("a", "bid", 91, 1, symbol="Y")  # 2 Y
    d.limit("b", "bid", 92, 1)  # 3 X, other account
    d.limit("a", "ask", 120, 1)  # 4 X


def test_cancel_all_one_symbol(d: Driver) -> None:
    seed_orders(d)
    out = d.cancel_all("a", "X")
    assert out.reject is None and out.cancelled_count == 2
    assert cancels(out) == ["#1 cancel 1", "#4 cancel 1"]
    assert [o.order_id for o in d.engine.open_orders("a")] == [2]
    assert [o.order_id for o in d.engine.open_orders("b")] == [3]


def test_cancel_all_symbols_then_again_returns_zero(d: Driver) -> None:
    seed_orders(d)
    assert d.cancel_all("a").cancelled_count == 3
    assert d.engine.open_orders("a") == []
    before = d.engine.state_hash()
    again = d.cancel_all("a")
    assert again.reject is None and again.cancelled_count == 0 and again.events == []
    assert d.engine.state_hash() == before
    assert d.cancel_all("nobody").cancelled_count == 0


def test_cancel_all_exclude_reduce_only_keeps_reduce_only_orders(d: Driver) -> None:
    d.limit("b", "ask", 100, 5)
    d.limit("a", "bid", 100, 5)  # a is long 5
    d.limit("a", "ask", 130, 2, reduce_only=True)  # 3
    d.limit("a", "bid", 80, 1)  # 4
    out = d.cancel_all("a", None, exclude_reduce_only=True)
    assert out.cancelled_count == 1 and cancels(out) == ["#4 cancel 1"]
    assert [o.order_id for o in d.engine.open_orders("a")] == [3]
    assert d.cancel_all("a", None).cancelled_count == 1


def test_cancel_all_unknown_symbol_is_book_not_found(d: Driver) -> None:
    out = d.cancel_all("a", "NOPE")
    assert out.reject is not None and out.reject.code == 3


# ---- chunked cancel_all (up_to_order_id / limit) ----------------------------------------------


def chunk_scene() -> tuple[Driver, int]:
    """Account a with everything cancel_all meets: resting orders in two markets, a reduce-only
    order, a parent with unfilled TP/SL legs, plain and position stops, a triggered stop that
    rested after younger orders, and orders younger than the returned cut-off id."""
    d = Driver()
    for account in ("a", "b"):
        d.fund(account)
    d.limit("b", "ask", 100, 5)
    d.limit("a", "bid", 100, 5)  # a is long 5
    d.stop("a", "ask", 97, limit=105, size=1)  # triggers below, rests after younger orders
    d.limit("a", "bid", 90, 1)
    d.limit("a", "ask", 120, 1, reduce_only=True)
    d.limit("a", "bid", 91, 2, tp=leg(110), sl=leg(85))  # parent + 2 legs waiting for a fill
    d.limit("a", "bid", 60, 1, symbol="Y")
    d.stop("a", "bid", 150, size=1)
    d.tpsl("a", "ask", tp=leg(130), sl=leg(80))
    d.limit("a", "bid", 92, 1)
    d.mark("X", 97)  # the first stop triggers and rests now
    d.limit("b", "bid", 50, 1)  # another account's order: never touched
    cut = d.engine.last_order_id
    d.limit("a", "bid", 93, 1)  # younger than the cut-off
    d.stop("a", "bid", 160, size=1)
    return d, cut


def _cancel_all(engine: Engine, seq: int, **kw: Any) -> Outcome:
    fields: dict[str, Any] = {"account": "a", "symbol": None, "exclude_reduce_only": False}
    fields.update(kw)
    # one ts for every chunk: the state then depends only on what was cancelled, in what order
    return engine.apply(CancelAllOrders(seq=seq, ts_ms=99_000, **fields))


@pytest.mark.parametrize("symbol", [None, "X"])
@pytest.mark.parametrize("exclude", [False, True])
@pytest.mark.parametrize("cut_off", [False, True])
@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_chunked_cancel_all_ends_where_one_cancel_all_ends(
    symbol: str | None, exclude: bool, cut_off: bool, limit: int
) -> None:
    d, cut = chunk_scene()
    up_to = cut if cut_off else None
    kw = {"symbol": symbol, "exclude_reduce_only": exclude, "up_to_order_id": up_to}
    whole = Engine.restore(d.engine.snapshot())
    one = _cancel_all(whole, 1000, **kw)
    assert one.reject is None and one.more is False
    chunked = Engine.restore(d.engine.snapshot())
    events: list[Event] = []
    total = chunks = 0
    while chunks < 100:
        chunks += 1
        out = _cancel_all(chunked, 1000, limit=limit, **kw)
        chunked.check_invariants()
        assert out.reject is None and out.cancelled_count is not None
        assert out.cancelled_count <= limit + 2  # a parent takes its unfilled legs along
        events += out.events
        total += out.cancelled_count
        if not out.more:
            break
        assert out.cancelled_count >= limit
    assert chunks > 1 or one.cancelled_count <= limit
    assert one.cancelled_count is not None and one.cancelled_count >= 6
    assert total == one.cancelled_count and events == one.events
    assert chunked.snapshot() == whole.snapshot()
    again = _cancel_all(chunked, 1001, limit=limit, **kw)
    assert again.cancelled_count == 0 and again.more is False
    left = {o.order_id for o in whole.open_orders("a")}
    if up_to is not None:
        assert {i for i in left if i > up_to} == {cut + 1, cut + 2}
    assert whole.open_orders("b") == d.engine.open_orders("b")


def test_cancel_all_up_to_an_id_and_with_a_limit() -> None:
    d, cut = chunk_scene()
    ids = [o.order_id for o in d.engine.open_orders("a")]
    resting = [o.order_id for o in d.engine.open_orders("a") if not o.pending]
    out = d.apply(CancelAllOrders, account="a", symbol=None, exclude_reduce_only=False, limit=2)
    assert out.more is True and [c.split()[0] for c in cancels(out)] == [
        f"#{i}" for i in resting[:2]
    ]
    out = d.apply(
        CancelAllOrders, account="a", symbol=None, exclude_reduce_only=False, up_to_order_id=cut
    )
    assert out.more is False
    assert [o.order_id for o in d.engine.open_orders("a")] == [i for i in ids if i > cut]


def test_cancel_all_limit_below_one_is_invalid(d: Driver) -> None:
    d.limit("a", "bid", 100, 3)
    before = d.engine.state_hash()
    out = d.apply(CancelAllOrders, account="a", symbol=None, exclude_reduce_only=False, limit=0)
    assert out.reject is not None and out.reject.http_status == 400
    assert d.engine.state_hash() == before


def test_cancel_all_without_chunk_fields_encodes_as_before_they_existed() -> None:
    """Journals written before the fields existed decode, and a command that does not use
    them encodes byte for byte as it did then."""
    # encode_record's payload for this command, as the code before the fields wrote it
    old = (
        b"\x86\xa4type\xaacancel_all\xa7account\xa1a\xa6symbol\xc0"
        b"\xb3exclude_reduce_only\xc3\xa3seq\x07\xa5ts_ms\x08"
    )
    cmd = msgspec.msgpack.decode(old, type=Command)
    assert cmd == CancelAllOrders(
        seq=7, ts_ms=8, account="a", symbol=None, exclude_reduce_only=True
    )
    assert isinstance(cmd, CancelAllOrders) and cmd.up_to_order_id is None and cmd.limit is None
    assert msgspec.msgpack.encode(cmd) == old
    chunk = msgspec.structs.replace(cmd, up_to_order_id=5, limit=100)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(chunk), type=Command) == chunk
