"""A deterministic toy with the Engine API, so journal tests do not depend on matching rules.

State: balances per account, resting orders, a counter. `Faucet(account="boom")` mutates the
state and then raises, which is how tests simulate an engine bug half-way through a command.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from tidepool.engine.commands import CancelOrder, Command, CreateOrder, Faucet
from tidepool.engine.events import Outcome


class ToyConfig(msgspec.Struct, frozen=True):
    fee: int = 0


class _State(msgspec.Struct):
    symbols: list[str]
    fee: int
    last_order_id: int = 0
    applied: int = 0
    balances: dict[str, str] = msgspec.field(default_factory=dict)
    orders: dict[str, list[Any]] = msgspec.field(default_factory=dict)


DEFAULT = ToyConfig()


class ToyEngine:
    def __init__(self, markets: Sequence[Any] = (), config: ToyConfig = DEFAULT) -> None:
        symbols = [m if isinstance(m, str) else m.symbol for m in markets]
        self._s = _State(symbols=symbols, fee=config.fee)

    @property
    def last_order_id(self) -> int:
        return self._s.last_order_id

    def replay(self, cmd: Command) -> None:
        self.apply(cmd)

    def apply(self, cmd: Command) -> Outcome:
        s = self._s
        s.applied += 1
        if isinstance(cmd, Faucet):
            old = Decimal(s.balances.get(cmd.account, "0"))
            s.balances[cmd.account] = str(old + cmd.amount - s.fee)
            if cmd.account == "boom":
                raise RuntimeError("toy engine bug, half-way through a command")
            return Outcome(events=[])
        if isinstance(cmd, CreateOrder):
            s.last_order_id += 1
            s.orders[str(s.last_order_id)] = [cmd.account, cmd.price_ticks, cmd.size_lots, cmd.seq]
            return Outcome(events=[], order_id=s.last_order_id)
        if isinstance(cmd, CancelOrder) and cmd.order_id is not None:
            s.orders.pop(str(cmd.order_id), None)
            return Outcome(events=[], order_id=cmd.order_id)
        return Outcome(events=[])

    def take_replaced(self) -> None:
        """Nothing to free: the toy never replaces its state (sandbox reverts and resets)."""
        return None

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self._s, order="sorted")

    @classmethod
    def restore(cls, data: bytes) -> ToyEngine:
        engine = cls.__new__(cls)
        engine._s = msgspec.msgpack.decode(data, type=_State)
        return engine

    def state_hash(self) -> str:
        return hashlib.sha256(self.snapshot()).hexdigest()

    def check_invariants(self) -> None:
        assert all(o[2] > 0 for o in self._s.orders.values())


def toy_command(seq: int, ts_ms: int, i: int | None = None) -> Command:
    """A deterministic mix of faucets, creates and cancels keyed by `i` (default: seq)."""
    i = seq if i is None else i
    account = f"acct{i % 7}"
    if i % 5 == 0:
        return Faucet(seq=seq, ts_ms=ts_ms, account=account, amount=Decimal(i % 13 + 1))
    if i % 3 == 0:
        return CancelOrder(seq=seq, ts_ms=ts_ms, account=account, symbol="BTC", order_id=i // 2)
    return CreateOrder(
        seq=seq,
        ts_ms=ts_ms,
        account=account,
        symbol="BTC",
        side="bid" if i % 2 else "ask",
        price_ticks=100_000 + i % 17,
        size_lots=1 + i % 9,
        tif="GTC",
        reduce_only=False,
        client_order_id=f"c{i}",
    )
