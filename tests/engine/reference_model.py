"""A deliberately naive reference exchange for the property test.

Plain lists and full scans: the book is one list of resting orders, pending stop orders
another, the best price is found with min() over the book, due stops by scanning, margin is
recomputed from scratch, amounts are exact Fractions. It shares no code with the engine; it
restates the same rules (the docstrings of tidepool.engine's matching, execution, edits, stops
and cancels modules) in the simplest way, so any disagreement is a bug in one of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from tidepool.domain.markets import MarketSpec

Leg = tuple[int, int | None, int | None, str | None, str]  # stop, limit, size, cloid, trigger


@dataclass
class ROrder:
    order_id: int
    account: str
    symbol: str
    side: str
    price: int
    size: int
    reduce_only: bool
    cloid: str | None
    tif: str = "GTC"
    order_type: str = "limit"
    stop: int | None = None
    trigger: str = "mark_price"
    rises: bool = False
    armed: bool = True
    parent: int | None = None
    tpsl: str | None = None
    filled: int = 0
    cancelled: int = 0
    status: str = "open"
    reason: str | None = None

    @property
    def remaining(self) -> int:
        return self.size - self.filled - self.cancelled


@dataclass
class Result:
    reject: int | None = None
    order_id: int | None = None
    fills: list[tuple[int, int, int, int]] = field(default_factory=list)  # maker, taker, lots, px
    cancels: list[tuple[int, str, int]] = field(default_factory=list)
    triggered: list[int] = field(default_factory=list)
    count: int | None = None
    more: bool = False


class Reference:
    def __init__(
        self,
        markets: list[MarketSpec],
        maker_fee: Fraction,
        taker_fee: Fraction,
        max_open: int,
        band: Fraction | None = None,
        stop_slippage: Fraction = Fraction(10),
    ) -> None:
        self.markets = {m.symbol: m for m in markets}
        self.maker_fee, self.taker_fee, self.max_open = maker_fee, taker_fee, max_open
        self.band, self.stop_slippage = band, stop_slippage
        self.marks = {m.symbol: Fraction(m.initial_mark_price) for m in markets}
        self.last: dict[str, int] = {}
        self.orders: dict[int, ROrder] = {}
        self.book: list[ROrder] = []
        self.stops: list[ROrder] = []  # pending stop orders, creation order
        self.positions: dict[tuple[str, str], list[int]] = {}  # [size, cost units]
        self.balances: dict[str, Fraction] = {}
        self.leverage: dict[tuple[str, str], int] = {}
        self.cloids: dict[tuple[str, str], int] = {}  # -> the newest order using it
        self.last_id = 0
        self.fees = Fraction(0)
        self.faucet = Fraction(0)

    # ---- helpers -----------------------------------------------------------------------------
    def unit(self, symbol: str) -> Fraction:
        m = self.markets[symbol]
        return Fraction(m.tick_size) * Fraction(m.lot_size)

    def lev(self, account: str, symbol: str) -> int:
        return self.leverage.get((account, symbol), self.markets[symbol].max_leverage)

    def position(self, account: str, symbol: str) -> int:
        return self.positions.get((account, symbol), [0, 0])[0]

    def reducible(self, account: str, symbol: str, side: str) -> int:
        size = self.position(account, symbol)
        return max(-size, 0) if side == "bid" else max(size, 0)

    def free(self, account: str) -> Fraction:
        total = self.balances.get(account, Fraction(0))
        for (acct, symbol), (size, cost) in self.positions.items():
            if acct != account or size == 0:
                continue
            m = self.markets[symbol]
            value = size * Fraction(m.lot_size) * self.marks[symbol]
            total += value - cost * self.unit(symbol)
            total -= abs(value) / self.lev(account, symbol)
        for o in self.book:
            if o.account == account and not o.reduce_only:
                total -= o.remaining * o.price * self.unit(o.symbol) / self.lev(account, o.symbol)
        return total

    def open_count(self, account: str) -> int:
        return sum(o.account == account for o in self.book + self.stops)

    def best(self, symbol: str, side: str) -> ROrder | None:
        """Best resting order on `side` (price, then arrival)."""
        mine = [o for o in self.book if o.symbol == symbol and o.side == side]
        if not mine:
            return None
        return min(mine, key=lambda o: (-o.price if side == "bid" else o.price, o.order_id))

    def crosses(self, symbol: str, side: str, price: int) -> ROrder | None:
        opposite = self.best(symbol, "ask" if side == "bid" else "bid")
        if opposite is None:
            return None
        ok = price >= opposite.price if side == "bid" else price <= opposite.price
        return opposite if ok else None

    def slipped(self, symbol: str, reference: Fraction, side: str, pct: Fraction) -> int:
        tick = Fraction(self.markets[symbol].tick_size)
        if side == "bid":
            return max(math.floor(reference * (1 + pct / 100) / tick), 1)
        return max(math.ceil(reference * (1 - pct / 100) / tick), 1)

    def accept(self, **fields: object) -> ROrder:
        self.last_id += 1
        o = ROrder(self.last_id, **fields)  # type: ignore[arg-type]
        self.orders[o.order_id] = o
        self.balances.setdefault(o.account, Fraction(0))
        if o.cloid is not None:
            self.cloids[(o.account, o.cloid)] = o.order_id
        return o

    # ---- checks ------------------------------------------------------------------------------
    def check_order(
        self,
        account: str,
        symbol: str,
        side: str,
        size: int,
        reduce_only: bool,
        size_notional: Fraction,
        margin_notional: Fraction,
        replacing: ROrder | None = None,
    ) -> int | None:
        m = self.markets[symbol]
        if size_notional < Fraction(m.min_order_size):
            return 7
        if size_notional > Fraction(m.max_order_size):
            return 8
        if self.open_count(account) - (replacing is not None) >= self.max_open:
            return 10
        if reduce_only:
            position = self.position(account, symbol)
            if position == 0:
                return 23
            if (position > 0) == (side == "bid"):
                return 21
            if size > abs(position):
                return 22
            return None
        free = self.free(account)
        if replacing is not None and not replacing.reduce_only:
            units = replacing.remaining * replacing.price
            free += units * self.unit(symbol) / self.lev(account, symbol)
        if margin_notional / self.lev(account, symbol) > free:
            return 5
        return None

    def out_of_band(self, symbol: str, price: int) -> bool:
        mark = self.marks[symbol]
        if self.band is None or mark <= 0:
            return False
        return abs(price * Fraction(self.markets[symbol].tick_size) - mark) > mark * self.band

    def check_legs(self, account: str, legs: list[Leg | None], cloid: str | None) -> int | None:
        seen = {cloid} if cloid is not None else set()
        for leg in legs:
            if leg is None:
                continue
            stop, limit, size, leg_cloid, _ = leg
            if stop <= 0 or (limit is not None and limit <= 0) or (size is not None and size <= 0):
                return 400
            if leg_cloid is not None:
                if (account, leg_cloid) in self.cloids or leg_cloid in seen:
                    return 36
                seen.add(leg_cloid)
        return None

    # ---- orders ------------------------------------------------------------------------------
    def create(
        self,
        account: str,
        symbol: str,
        side: str,
        price: int,
        size: int,
        tif: str,
        reduce_only: bool,
        cloid: str | None,
        tp: Leg | None = None,
        sl: Leg | None = None,
    ) -> Result:
        m = self.markets.get(symbol)
        if m is None:
            return Result(reject=3)
        if cloid is not None and (account, cloid) in self.cloids:
            return Result(reject=36)
        opposite = self.crosses(symbol, side, price)
        effective, post_only_reject = price, False
        if opposite is not None and tif == "ALO":
            post_only_reject = True
        elif opposite is not None and tif == "TOB":
            effective = opposite.price - 1 if side == "bid" else opposite.price + 1
            if effective < 1:
                effective, post_only_reject = price, True
        notional = effective * size * self.unit(symbol)
        reject = 30 if self.out_of_band(symbol, price) else None
        if reject is None:
            reject = self.check_order(account, symbol, side, size, reduce_only, notional, notional)
        if reject is None:
            reject = self.check_legs(account, [tp, sl], cloid)
        if reject is not None:
            return Result(reject=reject)
        t = self.accept(
            account=account, symbol=symbol, side=side, price=effective, size=size,
            reduce_only=reduce_only, cloid=cloid, tif=tif,
        )  # fmt: skip
        r = Result(order_id=t.order_id)
        self.add_legs(t, tp, sl)
        if post_only_reject:
            self.finish(t, "rejected", "post_only_rejected", r)
        else:
            self.execute(t, r)
        self.run_triggers(symbol, r)
        return r

    def market(
        self,
        account: str,
        symbol: str,
        side: str,
        size: int,
        slippage: Fraction,
        reduce_only: bool,
        cloid: str | None,
        tp: Leg | None = None,
        sl: Leg | None = None,
    ) -> Result:
        if symbol not in self.markets:
            return Result(reject=3)
        if cloid is not None and (account, cloid) in self.cloids:
            return Result(reject=36)
        mark = self.marks[symbol]
        if mark <= 0:
            return Result(reject=25)
        limit = self.slipped(symbol, mark, side, slippage)
        at_mark = size * Fraction(self.markets[symbol].lot_size) * mark
        at_limit = limit * size * self.unit(symbol)
        reject = self.check_order(account, symbol, side, size, reduce_only, at_mark, at_limit)
        if reject is None and self.crosses(symbol, side, limit) is None:
            reject = 25
        if reject is None:
            reject = self.check_legs(account, [tp, sl], cloid)
        if reject is not None:
            return Result(reject=reject)
        t = self.accept(
            account=account, symbol=symbol, side=side, price=limit, size=size,
            reduce_only=reduce_only, cloid=cloid, tif="IOC", order_type="market",
        )  # fmt: skip
        r = Result(order_id=t.order_id)
        self.add_legs(t, tp, sl)
        self.execute(t, r)
        self.run_triggers(symbol, r)
        return r

    def execute(self, t: ROrder, r: Result) -> None:
        self.match(t, r)
        if t.remaining and t.tif == "IOC":
            self.finish(t, "cancelled", "ioc_remainder", r)
        elif t.remaining:
            self.book.append(t)

    def match(self, t: ROrder, r: Result) -> None:
        opposite_side = "ask" if t.side == "bid" else "bid"
        while t.remaining:
            m = self.best(t.symbol, opposite_side)
            if m is None or (m.price > t.price if t.side == "bid" else m.price < t.price):
                return
            if m.account == t.account:
                self.book.remove(m)
                self.finish(m, "rejected", "self_trade_prevented", r)
                continue
            lots = min(t.remaining, m.remaining)
            if m.reduce_only:
                cap = self.reducible(m.account, m.symbol, m.side)
                if cap < m.remaining:
                    if min(lots, cap):
                        self.fill(m, t, min(lots, cap), r)
                    if m.remaining:
                        self.book.remove(m)
                        self.finish(m, "cancelled", "reduce_only", r)
                    continue
            self.fill(m, t, lots, r)

    def fill(self, m: ROrder, t: ROrder, lots: int, r: Result) -> None:
        notional = m.price * lots * self.unit(m.symbol)
        for o in (m, t):
            o.filled += lots
            o.status = "filled" if o.remaining == 0 else "partially_filled"
        if m.remaining == 0:
            self.book.remove(m)
        r.fills.append((m.order_id, t.order_id, lots, m.price))
        self.last[m.symbol] = m.price
        for o, rate in ((m, self.maker_fee), (t, self.taker_fee)):
            fee = rate * notional
            self.fees += fee
            old = self.position(o.account, o.symbol)
            realised = self.trade(o.account, o.symbol, lots if o.side == "bid" else -lots, m.price)
            self.balances[o.account] += realised * self.unit(o.symbol) - fee
            new = self.position(o.account, o.symbol)
            if new == 0 or (old != 0 and (old > 0) != (new > 0)):
                for leg in sorted(self.stops, key=lambda s: s.order_id):
                    if (
                        (leg.account, leg.symbol) == (o.account, o.symbol)
                        and leg.tpsl
                        and leg.armed
                    ):
                        self.cancel_pending(leg, "position_closed", r)
        for o in (m, t):
            for leg in self.stops:
                if leg.parent == o.order_id:
                    leg.armed = True

    def trade(self, account: str, symbol: str, signed: int, price: int) -> int:
        size, cost = self.positions.get((account, symbol), [0, 0])
        realised = 0
        if size and (size > 0) != (signed > 0):
            close = min(abs(signed), abs(size))
            removed = cost if close == abs(size) else round(Fraction(cost * close, abs(size)))
            step = close if signed > 0 else -close
            realised = -step * price - removed
            size, cost, signed = size + step, cost - removed, signed - step
        size, cost = size + signed, cost + signed * price
        self.positions[(account, symbol)] = [size, cost]
        return realised

    def finish(self, o: ROrder, status: str, reason: str, r: Result) -> None:
        if o.filled == 0:
            for leg in sorted(self.stops, key=lambda s: s.order_id):
                if leg.parent == o.order_id and not leg.armed:
                    self.cancel_pending(leg, "parent_cancelled", r)
        r.cancels.append((o.order_id, reason, o.remaining))
        o.cancelled += o.remaining
        o.status, o.reason = status, reason

    def find(self, pool: list[ROrder], account: str, symbol: str, order_id: int | None,
             cloid: str | None) -> ROrder | None:  # fmt: skip
        if cloid is not None:
            order_id = self.cloids.get((account, cloid))
        for o in pool:
            if o.order_id == order_id and o.account == account and o.symbol == symbol:
                return o
        return None

    def cancel(self, account: str, symbol: str, order_id: int | None, cloid: str | None) -> Result:
        o = self.find(self.book, account, symbol, order_id, cloid)
        if o is None:
            return Result(reject=400)
        self.book.remove(o)
        r = Result(order_id=o.order_id)
        self.finish(o, "cancelled", "cancel", r)
        return r

    def edit(
        self,
        account: str,
        symbol: str,
        price: int,
        size: int | None,
        order_id: int | None,
        cloid: str | None,
    ) -> Result:
        old = self.find(self.book, account, symbol, order_id, cloid)
        if old is None:
            return Result(reject=6)
        size = old.remaining if size is None else size
        if price <= 0 or size <= 0:
            return Result(reject=400)
        if self.out_of_band(symbol, price):
            return Result(reject=30)
        notional = price * size * self.unit(symbol)
        reject = self.check_order(
            account, symbol, old.side, size, old.reduce_only, notional, notional, old
        )
        if reject is not None:
            return Result(reject=reject)
        post_only_reject = self.crosses(symbol, old.side, price) is not None
        r = Result()
        for leg in self.stops:
            if leg.parent == old.order_id and not leg.armed:
                leg.parent = self.last_id + 1  # the replacement takes the waiting legs
        self.book.remove(old)
        self.finish(old, "cancelled", "edit", r)
        new = self.accept(
            account=account, symbol=symbol, side=old.side, price=price, size=size,
            reduce_only=old.reduce_only, cloid=old.cloid, tif="ALO",
        )  # fmt: skip
        r.order_id = new.order_id
        if post_only_reject:
            self.finish(new, "rejected", "post_only_rejected", r)
        else:
            self.book.append(new)
        return r

    def cancel_all(
        self,
        account: str,
        symbol: str | None,
        exclude_reduce_only: bool,
        up_to: int | None = None,
        limit: int | None = None,
    ) -> Result:
        """Resting orders in scope, then pending ones, lowest id first; with a `limit`, no
        further order is taken once `limit` orders (legs included) are gone."""
        if limit is not None and limit < 1:
            return Result(reject=400)
        r = Result()

        def in_scope(o: ROrder) -> bool:
            return (
                o.account == account
                and (symbol is None or o.symbol == symbol)
                and not (exclude_reduce_only and o.reduce_only)
                and (up_to is None or o.order_id <= up_to)
            )

        resting = [o for o in sorted(self.book, key=lambda o: o.order_id) if in_scope(o)]
        pending = [o for o in sorted(self.stops, key=lambda o: o.order_id) if in_scope(o)]
        for o in resting + pending:
            if o not in self.book and o not in self.stops:
                continue  # a leg that went with its parent
            if limit is not None and len(r.cancels) >= limit:
                r.more = True
                break
            if o in self.book:
                self.book.remove(o)
                self.finish(o, "cancelled", "cancel", r)
            else:
                self.cancel_pending(o, "cancel", r)
        r.count = len(r.cancels)
        return r

    # ---- stops -------------------------------------------------------------------------------
    def new_stop(self, account: str, symbol: str, side: str, reduce_only: bool, leg: Leg,
                 tpsl: str | None = None, parent: ROrder | None = None) -> ROrder:  # fmt: skip
        stop, limit, size, cloid, trigger = leg
        rises = side == "ask" if tpsl == "take_profit" else side == "bid"
        o = self.accept(
            account=account, symbol=symbol, side=side, price=limit or 0, size=size or 0,
            reduce_only=reduce_only, cloid=cloid, tif="IOC" if limit is None else "GTC",
            order_type=f"{tpsl or 'stop'}_{'market' if limit is None else 'limit'}",
            stop=stop, trigger=trigger, rises=rises, armed=parent is None,
            parent=None if parent is None else parent.order_id, tpsl=tpsl,
        )  # fmt: skip
        self.stops.append(o)
        return o

    def add_legs(self, parent: ROrder, tp: Leg | None, sl: Leg | None) -> None:
        side = "ask" if parent.side == "bid" else "bid"
        for kind, leg in (("take_profit", tp), ("stop_loss", sl)):
            if leg is not None:
                self.new_stop(parent.account, parent.symbol, side, True, leg, kind, parent)

    def create_stop(
        self, account: str, symbol: str, side: str, reduce_only: bool, leg: Leg
    ) -> Result:
        if symbol not in self.markets:
            return Result(reject=3)
        reject = self.check_legs(account, [leg], None)
        if reject is None and self.open_count(account) >= self.max_open:
            reject = 10
        if reject is not None:
            return Result(reject=reject)
        o = self.new_stop(account, symbol, side, reduce_only, leg)
        r = Result(order_id=o.order_id)
        self.run_triggers(symbol, r)
        return r

    def set_tpsl(
        self, account: str, symbol: str, side: str, tp: Leg | None, sl: Leg | None
    ) -> Result:
        if symbol not in self.markets:
            return Result(reject=3)
        if tp is None and sl is None:
            return Result(reject=400)
        size = self.position(account, symbol)
        if size == 0:
            return Result(reject=13)
        if (size > 0) == (side == "bid"):
            return Result(reject=17)
        reject = self.check_legs(account, [tp, sl], None)
        if reject is None and self.open_count(account) >= self.max_open:
            reject = 10
        if reject is not None:
            return Result(reject=reject)
        r = Result()
        kinds = {k for k, leg in (("take_profit", tp), ("stop_loss", sl)) if leg is not None}
        for old in sorted(self.stops, key=lambda s: s.order_id):
            mine = (old.account, old.symbol) == (account, symbol)
            if mine and old.parent is None and old.tpsl in kinds:
                self.cancel_pending(old, "replaced", r)
        for kind, leg in (("take_profit", tp), ("stop_loss", sl)):
            if leg is not None:
                self.new_stop(account, symbol, side, True, leg, kind)
        self.run_triggers(symbol, r)
        return r

    def cancel_stop(
        self, account: str, symbol: str, order_id: int | None, cloid: str | None
    ) -> Result:
        o = self.find(self.stops, account, symbol, order_id, cloid)
        if o is None:
            return Result(reject=400)
        r = Result(order_id=o.order_id)
        self.cancel_pending(o, "cancel", r)
        return r

    def cancel_pending(self, o: ROrder, reason: str, r: Result) -> None:
        self.stops.remove(o)
        self.finish(o, "cancelled", reason, r)

    def reference_price(self, o: ROrder) -> Fraction | None:
        if o.trigger == "mark_price":
            mark = self.marks[o.symbol]
            return mark if mark > 0 else None
        last = self.last.get(o.symbol)
        return None if last is None else last * Fraction(self.markets[o.symbol].tick_size)

    def is_due(self, o: ROrder) -> bool:
        price = self.reference_price(o)
        if price is None or not o.armed:
            return False
        assert o.stop is not None
        stop = o.stop * Fraction(self.markets[o.symbol].tick_size)
        return price >= stop if o.rises else price <= stop

    def run_triggers(self, symbol: str, r: Result) -> None:
        while True:
            due = [o for o in self.stops if o.symbol == symbol and self.is_due(o)]
            if not due:
                return
            self.trigger(min(due, key=lambda o: o.order_id), r)

    def trigger(self, o: ROrder, r: Result) -> None:
        reference = self.reference_price(o)
        assert reference is not None
        self.stops.remove(o)
        r.triggered.append(o.order_id)
        reducible = self.reducible(o.account, o.symbol, o.side)
        size = o.size or reducible
        if o.reduce_only:
            size = min(size, reducible)
        o.size = size
        if o.tif == "IOC":
            o.price = self.slipped(o.symbol, reference, o.side, self.stop_slippage)
        if size == 0:
            self.finish(o, "cancelled", "no_position", r)
            return
        if not o.reduce_only:
            at_limit = o.price * size * self.unit(o.symbol)
            at_reference = size * Fraction(self.markets[o.symbol].lot_size) * reference
            sized = at_limit if o.tif == "GTC" else at_reference
            if self.check_order(o.account, o.symbol, o.side, size, False, sized, at_limit):
                self.finish(o, "rejected", "trigger_rejected", r)
                return
        self.execute(o, r)

    # ---- money and marks ---------------------------------------------------------------------
    def credit(self, account: str, amount: Fraction) -> None:
        self.balances[account] = self.balances.get(account, Fraction(0)) + amount
        self.faucet += amount

    def set_mark(self, symbol: str, price: Fraction) -> Result:
        self.marks[symbol] = price
        r = Result()
        self.run_triggers(symbol, r)
        return r

    def set_leverage(self, account: str, symbol: str, leverage: int) -> Result:
        if not 1 <= leverage <= self.markets[symbol].max_leverage:
            return Result(reject=11)
        if leverage < self.lev(account, symbol) and self.position(account, symbol):
            return Result(reject=11)
        self.leverage[(account, symbol)] = leverage
        self.balances.setdefault(account, Fraction(0))
        return Result()

    def depth(self, symbol: str, side: str) -> list[tuple[int, int, int]]:
        levels: dict[int, list[int]] = {}
        for o in self.book:
            if o.symbol == symbol and o.side == side:
                level = levels.setdefault(o.price, [0, 0])
                level[0] += o.remaining
                level[1] += 1
        prices = sorted(levels, reverse=side == "bid")
        return [(p, levels[p][0], levels[p][1]) for p in prices]
