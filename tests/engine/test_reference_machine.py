"""Stateful property test: the engine against the naive reference exchange, step by step.

Two markets with small grids so orders cross often, three accounts with thin collateral so
margin rejections happen. Rules cover limit orders (every tif, reduce-only, client ids, attached
TP/SL), market orders, edits, stop orders, position TP/SL, cancels of every kind, cancel all,
leverage, mark moves and the faucet. After every step: engine.check_invariants() (I1-I4, I9,
I11 and the indexes), the temporal order invariants (filled never decreases, terminal is
absorbing), and the reference must agree on rejections, ids, fills, cancels, triggers, every
order, the book, positions and balances (exactly). Derandomized: the same examples every run.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from enginekit import market
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from reference_model import Leg, Reference, Result

from tidepool.engine.commands import (
    CancelAllOrders,
    CancelOrder,
    CancelStopOrder,
    Command,
    CreateMarketOrder,
    CreateOrder,
    CreateStopOrder,
    EditOrder,
    Faucet,
    SetMarkPrice,
    SetPositionTpsl,
    StopLeg,
    UpdateLeverage,
)
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.events import OrderCancelled, OrderFilled, Outcome, StopTriggered

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
CONFIG = EngineConfig(max_open_orders=10)
ACCOUNTS = ("a", "b", "c")
TERMINAL = {"filled", "cancelled", "rejected"}

accounts = st.sampled_from(ACCOUNTS)
symbols = st.sampled_from(("X", "Y"))
sides = st.sampled_from(("bid", "ask"))
legs = st.none() | st.tuples(
    st.integers(96, 104),  # stop
    st.none() | st.integers(96, 104),  # limit
    st.none() | st.integers(1, 4),  # size
    st.just(None),
    st.sampled_from(("mark_price", "mark_price", "last_trade_price")),
)
create_rule = rule(
    account=accounts,
    symbol=symbols,
    side=sides,
    price=st.integers(99, 101),
    size=st.integers(1, 30),
    tif=st.sampled_from(("GTC", "GTC", "IOC", "ALO", "TOB")),
    reduce_only=st.sampled_from((False, False, False, True)),
    cloid=st.sampled_from(("none", "none", "new", "new", "reuse")),
    tp=st.sampled_from((None, None, None, "leg")).flatmap(lambda k: legs if k else st.none()),
    sl=st.sampled_from((None, None, None, "leg")).flatmap(lambda k: legs if k else st.none()),
)


def stop_leg(leg: Leg | None) -> StopLeg | None:
    if leg is None:
        return None
    stop, limit, size, cloid, trigger = leg
    return StopLeg(
        stop_ticks=stop,
        limit_ticks=limit,
        size_lots=size,
        client_order_id=cloid,
        trigger=trigger,  # type: ignore[arg-type]
    )


def x_size(symbol: str, size: int) -> int:
    return 1 + size // 8 if symbol == "X" else size  # X: 1..4 lots of $98..102


class EngineVersusReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = Engine(MARKETS, CONFIG)
        self.ref = Reference(
            MARKETS,
            Fraction(CONFIG.maker_fee),
            Fraction(CONFIG.taker_fee),
            CONFIG.max_open_orders,
            None if CONFIG.price_band is None else Fraction(CONFIG.price_band),
            Fraction(CONFIG.stop_market_slippage_percent),
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
        triggered = [e.order_id for e in out.events if isinstance(e, StopTriggered)]
        assert fills == expected.fills
        assert cancels == expected.cancels
        assert triggered == expected.triggered
        if expected.order_id is not None:
            assert out.order_id == expected.order_id
        if expected.count is not None:
            assert out.cancelled_count == expected.count

    def client_id(self, choice: str) -> str | None:
        if choice == "new" or (choice == "reuse" and not self.cloids):
            self.cloids.append(f"k{self.seq}")
            return self.cloids[-1]
        if choice == "reuse":
            return self.cloids[self.seq % len(self.cloids)]
        return None

    @initialize(funds=st.lists(st.integers(2, 1_000), min_size=3, max_size=3))
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
        tp: Leg | None,
        sl: Leg | None,
    ) -> None:
        client_order_id = self.client_id(cloid)
        size = x_size(symbol, size)
        expected = self.ref.create(
            account, symbol, side, price, size, tif, reduce_only, client_order_id, tp, sl
        )
        out = self.apply(
            CreateOrder,
            account=account,
            symbol=symbol,
            side=side,
            price_ticks=price,
            size_lots=size,
            tif=tif,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
            take_profit=stop_leg(tp),
            stop_loss=stop_leg(sl),
        )
        self.compare(out, expected)

    @create_rule
    def create_again(self, **kw: Any) -> None:
        """More create rules: rules are drawn uniformly, creates should dominate."""
        self.create(**kw)

    @create_rule
    def create_once_more(self, **kw: Any) -> None:
        self.create(**kw)

    @rule(
        account=accounts,
        symbol=symbols,
        side=sides,
        size=st.integers(1, 30),
        tenths=st.integers(0, 30),
        reduce_only=st.sampled_from((False, False, True)),
        tp=st.none() | legs,
        sl=st.none() | legs,
    )
    def market_order(
        self,
        account: str,
        symbol: str,
        side: str,
        size: int,
        tenths: int,
        reduce_only: bool,
        tp: Leg | None,
        sl: Leg | None,
    ) -> None:
        size = x_size(symbol, size)
        slippage = Decimal(tenths) / 10
        expected = self.ref.market(
            account, symbol, side, size, Fraction(slippage), reduce_only, None, tp, sl
        )
        out = self.apply(
            CreateMarketOrder,
            account=account,
            symbol=symbol,
            side=side,
            size_lots=size,
            slippage_percent=slippage,
            reduce_only=reduce_only,
            take_profit=stop_leg(tp),
            stop_loss=stop_leg(sl),
        )
        self.compare(out, expected)

    @rule(data=st.data(), price=st.integers(98, 102), size=st.none() | st.integers(1, 30))
    def edit(self, data: st.DataObject, price: int, size: int | None) -> None:
        if data.draw(st.integers(0, 9)) == 0:
            account, symbol = data.draw(accounts), data.draw(symbols)
            order_id, cloid = data.draw(st.integers(1, self.ref.last_id + 2)), None
        else:
            if not self.ref.book:
                return
            o = data.draw(st.sampled_from(sorted(self.ref.book, key=lambda o: o.order_id)))
            account, symbol = o.account, o.symbol
            by_cloid = o.cloid is not None and data.draw(st.booleans())
            order_id, cloid = (None, o.cloid) if by_cloid else (o.order_id, None)
        if size is not None:
            size = x_size(symbol, size)
        expected = self.ref.edit(account, symbol, price, size, order_id, cloid)
        out = self.apply(
            EditOrder,
            account=account,
            symbol=symbol,
            price_ticks=price,
            size_lots=size,
            order_id=order_id,
            client_order_id=cloid,
        )
        self.compare(out, expected)

    @rule(
        account=accounts,
        symbol=symbols,
        side=sides,
        reduce_only=st.booleans(),
        leg=legs.filter(lambda leg: leg is not None),
    )
    def stop_order(self, account: str, symbol: str, side: str, reduce_only: bool, leg: Leg) -> None:
        expected = self.ref.create_stop(account, symbol, side, reduce_only, leg)
        out = self.apply(
            CreateStopOrder,
            account=account,
            symbol=symbol,
            side=side,
            reduce_only=reduce_only,
            stop=stop_leg(leg),
        )
        self.compare(out, expected)

    @rule(account=accounts, symbol=symbols, side=sides, tp=legs, sl=legs)
    def position_tpsl(
        self, account: str, symbol: str, side: str, tp: Leg | None, sl: Leg | None
    ) -> None:
        expected = self.ref.set_tpsl(account, symbol, side, tp, sl)
        out = self.apply(
            SetPositionTpsl,
            account=account,
            symbol=symbol,
            side=side,
            take_profit=stop_leg(tp),
            stop_loss=stop_leg(sl),
        )
        self.compare(out, expected)

    @rule(data=st.data())
    def cancel_stop(self, data: st.DataObject) -> None:
        if self.ref.stops and data.draw(st.booleans()):
            o = data.draw(st.sampled_from(self.ref.stops))
            account, symbol, order_id = o.account, o.symbol, o.order_id
        else:
            account, symbol = data.draw(accounts), data.draw(symbols)
            order_id = data.draw(st.integers(1, self.ref.last_id + 2))
        expected = self.ref.cancel_stop(account, symbol, order_id, None)
        out = self.apply(CancelStopOrder, account=account, symbol=symbol, order_id=order_id)
        self.compare(out, expected)

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
            expected = self.ref.cancel(account, symbol, None, cloid)
            out = self.apply(CancelOrder, account=account, symbol=symbol, client_order_id=cloid)
            self.compare(out, expected)
            return
        order_id = data.draw(st.integers(1, self.ref.last_id + 2))
        expected = self.ref.cancel(account, symbol, order_id, None)
        before = self.engine.state_hash() if expected.reject else None
        self.compare(
            self.apply(CancelOrder, account=account, symbol=symbol, order_id=order_id), expected
        )
        if before is not None:
            assert self.engine.state_hash() == before

    @rule(account=accounts, symbol=st.none() | symbols, exclude=st.booleans(), data=st.data())
    def cancel_all(
        self, account: str, symbol: str | None, exclude: bool, data: st.DataObject
    ) -> None:
        # chunked forms too: a cut-off id and / or a limit (0 is rejected)
        up_to = data.draw(st.none() | st.integers(1, self.ref.last_id + 1), "up_to")
        limit = data.draw(st.none() | st.integers(0, 4), "limit")
        expected = self.ref.cancel_all(account, symbol, exclude, up_to, limit)
        out = self.apply(
            CancelAllOrders,
            account=account,
            symbol=symbol,
            exclude_reduce_only=exclude,
            up_to_order_id=up_to,
            limit=limit,
        )
        self.compare(out, expected)
        assert out.more == expected.more

    @rule(account=accounts, symbol=symbols, leverage=st.integers(0, 11))
    def leverage(self, account: str, symbol: str, leverage: int) -> None:
        expected = self.ref.set_leverage(account, symbol, leverage)
        out = self.apply(UpdateLeverage, account=account, symbol=symbol, leverage=leverage)
        self.compare(out, expected)

    @rule(account=accounts, cents=st.integers(1, 50_000))
    def faucet(self, account: str, cents: int) -> None:
        amount = Decimal(cents) / 100
        self.ref.credit(account, Fraction(amount))
        assert self.apply(Faucet, account=account, amount=amount).reject is None

    @rule(symbol=symbols, tenths=st.integers(900, 1100))
    def move_mark(self, symbol: str, tenths: int) -> None:
        price = Decimal(tenths) / (10 if symbol == "X" else 20)
        expected = self.ref.set_mark(symbol, Fraction(price))
        self.compare(self.apply(SetMarkPrice, symbol=symbol, price=price), expected)

    @rule(symbol=symbols, tenths=st.integers(900, 1100))
    def move_mark_again(self, symbol: str, tenths: int) -> None:
        self.move_mark(symbol, tenths)

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
            got = (
                rec.status,
                rec.reason,
                rec.initial_lots,
                rec.filled_lots,
                rec.cancelled_lots,
                rec.price_ticks,
                rec.order_type,
                rec.parent_id,
            )
            want = (
                o.status,
                o.reason,
                o.size,
                o.filled,
                o.cancelled,
                o.price,
                o.order_type,
                o.parent,
            )
            assert got == want, order_id
        for account in ACCOUNTS:
            assert [(r.order_id, r.remaining_lots) for r in engine.open_orders(account)] == sorted(
                (o.order_id, o.remaining) for o in ref.book + ref.stops if o.account == account
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
