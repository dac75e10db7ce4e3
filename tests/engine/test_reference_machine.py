"""Stateful property test: the engine against the naive reference exchange, step by step.

Two markets with small grids so orders cross often, three accounts with thin collateral so
margin rejections happen. After every step: engine.check_invariants() (I1-I4, I9, I11 and the
indexes), the temporal order invariants (filled never decreases, terminal is absorbing), and
the reference must agree on rejections, ids, fills, cancels, every order, the book, positions
and balances (exactly). Derandomized: the same examples run every time.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from enginekit import market
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from reference_model import Reference, Result

from tidepool.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    Command,
    CreateOrder,
    Faucet,
    SetMarkPrice,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.events import OrderCancelled, OrderFilled, Outcome

MARKETS = [
    market("X", max_order_size=Decimal(2_000)),  # tick 1, lot 1, 10x, prices 98..102
    market(
        "Y",
        tick_size=Decimal("0.5"),
        lot_size=Decimal("0.1"),
        max_leverage=5,
        initial_mark_price=Decimal(50),
    ),  # prices 49..51 as 98..102 ticks; 1 lot ~ $5, below the $10 minimum
]
CONFIG = EngineConfig(max_open_orders=6)
ACCOUNTS = ("a", "b", "c")
TERMINAL = {"filled", "cancelled", "rejected"}

accounts = st.sampled_from(ACCOUNTS)
symbols = st.sampled_from(("X", "Y"))
create_rule = rule(
    account=accounts,
    symbol=symbols,
    side=st.sampled_from(("bid", "ask")),
    price=st.integers(99, 101),
    size=st.integers(1, 30),
    tif=st.sampled_from(("GTC", "GTC", "IOC", "ALO", "TOB")),
    reduce_only=st.sampled_from((False, False, False, True)),
    cloid=st.sampled_from(("none", "none", "new", "new", "reuse")),
)


class EngineVersusReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(MARKETS, CONFIG)
        self.ref = Reference(
            MARKETS, Fraction(CONFIG.maker_fee), Fraction(CONFIG.taker_fee), CONFIG.max_open_orders
        )
        self.seq = 0
        self.seen: dict[int, tuple[int, str]] = {}
        self.cloids: list[str] = []

    def apply(self, cmd_type: type[Command], **fields: Any) -> Outcome:
        self.seq += 1
        cmd = cmd_type(seq=self.seq, ts_ms=10 * self.seq, **fields)
        return self.engine.apply(cmd)

    def compare(self, out: Outcome, expected: Result) -> None:
        assert (out.reject.code if out.reject else None) == expected.reject, (out, expected)
        if out.reject is not None:
            assert out.events == []
            return
        fills = [
            (e.maker_order_id, e.taker_order_id, e.size_lots, e.price_ticks)
            for e in out.events
            if isinstance(e, OrderFilled)
        ]
        cancels = [
            (e.order_id, e.reason, e.cancelled_lots)
            for e in out.events
            if isinstance(e, OrderCancelled)
        ]
        assert fills == expected.fills
        assert cancels == expected.cancels
        if expected.order_id is not None:
            assert out.order_id == expected.order_id
        if expected.count is not None:
            assert out.cancelled_count == expected.count

    @initialize(funds=st.lists(st.integers(2, 600), min_size=3, max_size=3))
    def fund_accounts(self, funds: list[int]) -> None:
        for account, amount in zip(ACCOUNTS, funds, strict=True):
            self.ref.credit(account, Fraction(amount))
            self.apply(Faucet, account=account, amount=Decimal(amount))

    @create_rule
    def create(
        self,
        account: str,
        symbol: str,
        side: str,
        price: int,
        size: int,
        tif: str,
        reduce_only: bool,
        cloid: str,
    ) -> None:
        client_order_id = None
        if cloid == "new" or (cloid == "reuse" and not self.cloids):
            client_order_id = f"k{self.seq}"
            self.cloids.append(client_order_id)
        elif cloid == "reuse":
            client_order_id = self.cloids[self.seq % len(self.cloids)]
        if symbol == "X":
            size = 1 + size // 8  # 1..4 lots of $98..102
        fields = dict(
            account=account,
            symbol=symbol,
            side=side,
            price_ticks=price,
            size_lots=size,
            tif=tif,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
        )
        expected = self.ref.create(CreateOrder(seq=0, ts_ms=0, **fields))  # type: ignore[arg-type]
        self.compare(self.apply(CreateOrder, **fields), expected)

    @create_rule
    def create_again(self, **kw: Any) -> None:
        """A second create rule: rules are drawn uniformly, creates should dominate."""
        self.create(**kw)

    @create_rule
    def create_once_more(self, **kw: Any) -> None:
        self.create(**kw)

    @rule(data=st.data())
    def cancel_live(self, data: st.DataObject) -> None:
        if not self.ref.book:
            return
        o = data.draw(st.sampled_from(sorted(self.ref.book, key=lambda o: o.order_id)))
        by_cloid = o.cloid is not None and data.draw(st.booleans())
        order_id, cloid = (None, o.cloid) if by_cloid else (o.order_id, None)
        expected = self.ref.cancel(o.account, o.symbol, order_id, cloid)
        out = self.apply(
            CancelOrder,
            account=o.account,
            symbol=o.symbol,
            order_id=order_id,
            client_order_id=cloid,
        )
        self.compare(out, expected)

    @rule(account=accounts, symbol=symbols, data=st.data())
    def cancel_any(self, account: str, symbol: str, data: st.DataObject) -> None:
        """Dead, unknown, other account's or other symbol's ids or client ids: mostly not found."""
        if data.draw(st.booleans()):
            cloid = data.draw(st.sampled_from(self.cloids)) if self.cloids else "never-used"
            self.cancel_by_cloid(account, symbol, cloid)
            return
        order_id = data.draw(st.integers(1, self.ref.last_id + 2))
        expected = self.ref.cancel(account, symbol, order_id, None)
        before = self.engine.state_hash() if expected.reject else None
        self.compare(
            self.apply(CancelOrder, account=account, symbol=symbol, order_id=order_id), expected
        )
        if before is not None:
            assert self.engine.state_hash() == before

    def cancel_by_cloid(self, account: str, symbol: str, cloid: str) -> None:
        expected = self.ref.cancel(account, symbol, None, cloid)
        out = self.apply(CancelOrder, account=account, symbol=symbol, client_order_id=cloid)
        self.compare(out, expected)

    @rule(account=accounts, symbol=st.none() | symbols, exclude=st.booleans())
    def cancel_all(self, account: str, symbol: str | None, exclude: bool) -> None:
        expected = self.ref.cancel_all(account, symbol, exclude)
        out = self.apply(
            CancelAllOrders, account=account, symbol=symbol, exclude_reduce_only=exclude
        )
        self.compare(out, expected)

    @rule(account=accounts, cents=st.integers(1, 50_000))
    def faucet(self, account: str, cents: int) -> None:
        amount = Decimal(cents) / 100
        self.ref.credit(account, Fraction(amount))
        assert self.apply(Faucet, account=account, amount=amount).reject is None

    @rule(symbol=symbols, tenths=st.integers(900, 1100))
    def move_mark(self, symbol: str, tenths: int) -> None:
        price = Decimal(tenths) / (10 if symbol == "X" else 20)
        self.ref.marks[symbol] = Fraction(price)
        assert self.apply(SetMarkPrice, symbol=symbol, price=price).reject is None

    @invariant()
    def engine_invariants_hold(self) -> None:
        self.engine.check_invariants()

    @invariant()
    def orders_only_move_forward(self) -> None:
        for order_id in range(1, self.engine.last_order_id + 1):
            record = self.engine.order(order_id)
            assert record is not None
            filled, status = self.seen.get(order_id, (0, "open"))
            assert record.filled_lots >= filled
            assert status not in TERMINAL or record.status == status
            self.seen[order_id] = (record.filled_lots, record.status)

    @invariant()
    def engine_agrees_with_reference(self) -> None:
        ref, engine = self.ref, self.engine
        assert engine.last_order_id == ref.last_id
        for order_id, o in ref.orders.items():
            rec = engine.order(order_id)
            assert rec is not None
            got = (rec.status, rec.reason, rec.filled_lots, rec.cancelled_lots, rec.price_ticks)
            assert got == (o.status, o.reason, o.filled, o.cancelled, o.price), order_id
        for account in ACCOUNTS:
            assert [(r.order_id, r.remaining_lots) for r in engine.open_orders(account)] == sorted(
                (o.order_id, o.remaining) for o in ref.book if o.account == account
            )
            assert Fraction(engine.balance(account)) == ref.balances.get(account, 0)
            positions = {p.symbol: p for p in engine.positions(account)}
            for symbol in ("X", "Y"):
                size, _ = ref.positions.get((account, symbol), [0, 0])
                p = positions.get(symbol)
                signed = 0 if p is None else (p.size_lots if p.side == "bid" else -p.size_lots)
                assert signed == size, (account, symbol)
        for symbol in ("X", "Y"):
            assert engine.depth(symbol, 100) == (ref.depth(symbol, "bid"), ref.depth(symbol, "ask"))

    @invariant()
    def collateral_is_conserved_in_the_reference_too(self) -> None:
        ref = self.ref
        unrealised = sum(
            size * Fraction(ref.markets[s].lot_size) * ref.marks[s] - cost * ref.unit(s)
            for (_, s), (size, cost) in ref.positions.items()
        )
        assert sum(ref.balances.values()) + ref.fees + unrealised == ref.faucet


EngineVersusReference.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=100,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineVersusReference = EngineVersusReference.TestCase
