"""A deliberately naive reference exchange for the property test.

Plain lists and full scans: the book is one list of resting orders, the best price is found
with min() over it, margin is recomputed from scratch, amounts are exact Fractions. It shares
no code with the engine; it restates the same rules (tidepool.engine.matching's docstring) in
the simplest way, so any disagreement is a bug in one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from tidepool.domain.markets import MarketSpec
from tidepool.engine.commands import CreateOrder


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
    count: int | None = None


class Reference:
    def __init__(
        self, markets: list[MarketSpec], maker_fee: Fraction, taker_fee: Fraction, max_open: int
    ) -> None:
        self.markets = {m.symbol: m for m in markets}
        self.maker_fee, self.taker_fee, self.max_open = maker_fee, taker_fee, max_open
        self.marks = {m.symbol: Fraction(m.initial_mark_price) for m in markets}
        self.orders: dict[int, ROrder] = {}
        self.book: list[ROrder] = []
        self.positions: dict[tuple[str, str], list[int]] = {}  # [size, cost units]
        self.balances: dict[str, Fraction] = {}
        self.cloids: set[tuple[str, str]] = set()
        self.last_id = 0
        self.fees = Fraction(0)
        self.faucet = Fraction(0)

    # ---- helpers -----------------------------------------------------------------------------
    def unit(self, symbol: str) -> Fraction:
        m = self.markets[symbol]
        return Fraction(m.tick_size) * Fraction(m.lot_size)

    def position(self, account: str, symbol: str) -> int:
        return self.positions.get((account, symbol), [0, 0])[0]

    def free(self, account: str) -> Fraction:
        total = self.balances.get(account, Fraction(0))
        for (acct, symbol), (size, cost) in self.positions.items():
            if acct != account or size == 0:
                continue
            m = self.markets[symbol]
            value = size * Fraction(m.lot_size) * self.marks[symbol]
            total += value - cost * self.unit(symbol)
            total -= abs(value) / m.max_leverage
        for o in self.book:
            if o.account == account and not o.reduce_only:
                lev = self.markets[o.symbol].max_leverage
                total -= o.remaining * o.price * self.unit(o.symbol) / lev
        return total

    def best(self, symbol: str, side: str) -> ROrder | None:
        """Best resting order on `side` (price, then arrival)."""
        mine = [o for o in self.book if o.symbol == symbol and o.side == side]
        if not mine:
            return None
        return min(mine, key=lambda o: (-o.price if side == "bid" else o.price, o.order_id))

    # ---- commands ----------------------------------------------------------------------------
    def create(self, c: CreateOrder) -> Result:
        reject, price, post_only_reject = self.validate(c)
        if reject is not None:
            return Result(reject=reject)
        self.last_id += 1
        t = ROrder(
            self.last_id, c.account, c.symbol, c.side, price, c.size_lots, c.reduce_only,
            c.client_order_id,
        )  # fmt: skip
        self.orders[t.order_id] = t
        self.balances.setdefault(c.account, Fraction(0))
        if c.client_order_id is not None:
            self.cloids.add((c.account, c.client_order_id))
        r = Result(order_id=t.order_id)
        if post_only_reject:
            self.finish(t, "rejected", "post_only_rejected", r)
            return r
        self.match(t, r)
        if t.remaining and c.tif == "IOC":
            self.finish(t, "cancelled", "ioc_remainder", r)
        elif t.remaining:
            self.book.append(t)
        return r

    def validate(self, c: CreateOrder) -> tuple[int | None, int, bool]:
        m = self.markets.get(c.symbol)
        if m is None:
            return 3, 0, False
        if c.client_order_id is not None and (c.account, c.client_order_id) in self.cloids:
            return 36, 0, False
        opposite = self.best(c.symbol, "ask" if c.side == "bid" else "bid")
        crosses = opposite is not None and (
            c.price_ticks >= opposite.price if c.side == "bid" else c.price_ticks <= opposite.price
        )
        price, post_only_reject = c.price_ticks, False
        if crosses and c.tif == "ALO":
            post_only_reject = True
        elif crosses and c.tif == "TOB":
            assert opposite is not None
            price = opposite.price - 1 if c.side == "bid" else opposite.price + 1
            if price < 1:
                price, post_only_reject = c.price_ticks, True
        notional = price * c.size_lots * self.unit(c.symbol)
        if notional < Fraction(m.min_order_size):
            return 7, 0, False
        if notional > Fraction(m.max_order_size):
            return 8, 0, False
        if sum(o.account == c.account for o in self.book) >= self.max_open:
            return 10, 0, False
        if c.reduce_only:
            size = self.position(c.account, c.symbol)
            if size == 0:
                return 23, 0, False
            if (size > 0) == (c.side == "bid"):
                return 21, 0, False
            if c.size_lots > abs(size):
                return 22, 0, False
        elif notional / m.max_leverage > self.free(c.account):
            return 5, 0, False
        return None, price, post_only_reject

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
                size = self.position(m.account, m.symbol)
                cap = max(-size, 0) if m.side == "bid" else max(size, 0)
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
        for o, rate in ((m, self.maker_fee), (t, self.taker_fee)):
            o.filled += lots
            o.status = "filled" if o.remaining == 0 else "partially_filled"
            fee = rate * notional
            self.fees += fee
            realised = self.trade(o.account, o.symbol, lots if o.side == "bid" else -lots, m.price)
            self.balances[o.account] += realised * self.unit(o.symbol) - fee
        if m.remaining == 0:
            self.book.remove(m)
        r.fills.append((m.order_id, t.order_id, lots, m.price))

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
        r.cancels.append((o.order_id, reason, o.remaining))
        o.cancelled += o.remaining
        o.status, o.reason = status, reason

    def cancel(self, account: str, symbol: str, order_id: int | None, cloid: str | None) -> Result:
        for o in self.book:
            same = o.order_id == order_id if cloid is None else o.cloid == cloid
            if same and o.account == account and o.symbol == symbol:
                self.book.remove(o)
                r = Result(order_id=o.order_id)
                self.finish(o, "cancelled", "cancel", r)
                return r
        return Result(reject=400)

    def cancel_all(self, account: str, symbol: str | None, exclude_reduce_only: bool) -> Result:
        r = Result()
        targets = [
            o
            for o in sorted(self.book, key=lambda o: o.order_id)
            if o.account == account
            and (symbol is None or o.symbol == symbol)
            and not (exclude_reduce_only and o.reduce_only)
        ]
        for o in targets:
            self.book.remove(o)
            self.finish(o, "cancelled", "cancel", r)
        r.count = len(targets)
        return r

    def credit(self, account: str, amount: Fraction) -> None:
        self.balances[account] = self.balances.get(account, Fraction(0)) + amount
        self.faucet += amount

    def depth(self, symbol: str, side: str) -> list[tuple[int, int, int]]:
        levels: dict[int, list[int]] = {}
        for o in self.book:
            if o.symbol == symbol and o.side == side:
                level = levels.setdefault(o.price, [0, 0])
                level[0] += o.remaining
                level[1] += 1
        prices = sorted(levels, reverse=side == "bid")
        return [(p, levels[p][0], levels[p][1]) for p in prices]
