"""I12: the same command stream gives byte-identical events and state hash, also when the
engine is snapshotted and restored half-way."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import msgspec
import pytest
from enginekit import market

from tidepool.engine.commands import (
    Batch,
    BatchAction,
    BindAgent,
    CancelAllOrders,
    CancelOrder,
    CancelStopOrder,
    Command,
    CreateMarketOrder,
    CreateOrder,
    CreateStopOrder,
    EditOrder,
    Faucet,
    RevokeAgent,
    SetMarkPrice,
    SetPositionTpsl,
    StopLeg,
    UpdateLeverage,
    UpdateMarginMode,
)
from tidepool.engine.engine import Engine
from tidepool.engine.events import OrderAccepted, OrderCancelled, OrderFilled, Outcome

SEED = 20240611
COMMANDS = 5_000
# Y has 3x leverage: margin quotients round, which must not break determinism across restore.
MARKETS = (
    market("X"),
    market("Y", tick_size=Decimal("0.5"), lot_size=Decimal("0.1"), max_leverage=3),
)
ACCOUNTS = [f"acct{i}" for i in range(6)]


def record_stream(seed: int, n: int) -> tuple[list[Command], list[bytes], Engine]:
    """Generate `n` commands against a live engine (so cancels can target open orders) and
    return them with the encoded outcomes and the final engine: the reference run."""
    rng = random.Random(seed)
    engine = Engine(MARKETS)
    cmds: list[Command] = []
    encoded: list[bytes] = []
    for i in range(n):
        fields = {"seq": i + 1, "ts_ms": 1_700_000_000_000 + 7 * i}
        if i < len(ACCOUNTS):
            cmd: Command = Faucet(**fields, account=ACCOUNTS[i], amount=Decimal(5_000))
        else:
            cmd = _stamped(_random_command(rng, engine, i), **fields)
        cmds.append(cmd)
        encoded.append(msgspec.msgpack.encode(engine.apply(cmd)))
    return cmds, encoded, engine


def _random_command(rng: random.Random, engine: Engine, i: int) -> Command:
    acct = rng.choice(ACCOUNTS)
    symbol = rng.choice(("X", "Y"))
    roll = rng.random()
    if roll < 0.55:
        return _random_create(rng, acct, symbol, i)
    if roll < 0.575:
        return _random_stop(rng, engine, acct, symbol, i)
    if roll < 0.6:
        return CreateMarketOrder(
            seq=0,
            ts_ms=0,
            account=acct,
            symbol=symbol,
            side=rng.choice(("bid", "ask")),
            size_lots=rng.randint(1, 8) * (1 if symbol == "X" else 10),
            slippage_percent=Decimal(rng.randint(0, 40)) / 10,
            reduce_only=rng.random() < 0.1,
            client_order_id=f"c{rng.randint(0, i)}" if rng.random() < 0.3 else None,
        )
    if roll < 0.75:
        return _random_cancel(rng, engine, acct, symbol, i)
    if roll < 0.8:
        live = engine.open_orders(acct)
        target = rng.choice(live) if live else None
        return EditOrder(
            seq=0,
            ts_ms=0,
            account=acct,
            symbol=target.symbol if target else symbol,
            price_ticks=(target.price_ticks if target else 100) + rng.randint(-3, 3),
            size_lots=rng.choice((None, rng.randint(1, 8))),
            order_id=target.order_id if target else rng.randint(1, i),
        )
    if roll < 0.87:
        return CancelAllOrders(
            seq=0,
            ts_ms=0,
            account=acct,
            symbol=rng.choice((None, symbol)),
            exclude_reduce_only=rng.random() < 0.5,
        )
    if roll < 0.9:
        if rng.random() < 0.7:
            return UpdateLeverage(
                seq=0, ts_ms=0, account=acct, symbol=symbol, leverage=rng.randint(1, 11)
            )
        return UpdateMarginMode(
            seq=0, ts_ms=0, account=acct, symbol=symbol, is_isolated=rng.random() < 0.5
        )
    if roll < 0.92:
        return Faucet(seq=0, ts_ms=0, account=acct, amount=Decimal(rng.randint(1, 10_000)) / 100)
    if roll < 0.97:
        mark = Decimal(rng.randint(950, 1050)) / 10  # both markets trade around $100
        return SetMarkPrice(seq=0, ts_ms=0, symbol=symbol, price=mark)
    if roll < 0.985:
        return _random_batch(rng, engine, i)
    agent = f"agent{rng.randint(0, 3)}"
    if rng.random() < 0.5:
        return BindAgent(seq=0, ts_ms=0, account=acct, agent=agent)
    return RevokeAgent(seq=0, ts_ms=0, account=acct, agent=agent)


def _random_batch(rng: random.Random, engine: Engine, i: int) -> Batch:
    actions: list[BatchAction] = []
    for _ in range(rng.randint(1, 5)):
        cmd = _random_command(rng, engine, i)
        if isinstance(
            cmd,
            CreateOrder
            | CreateMarketOrder
            | CancelOrder
            | EditOrder
            | SetPositionTpsl
            | CancelStopOrder,
        ):
            actions.append(cmd)
    return Batch(seq=0, ts_ms=0, actions=actions)


def _random_leg(rng: random.Random, i: int) -> StopLeg | None:
    if rng.random() < 0.5:
        return None
    return StopLeg(
        stop_ticks=rng.randint(95, 105),
        limit_ticks=rng.choice((None, rng.randint(95, 105))),
        size_lots=rng.choice((None, rng.randint(1, 8))),
        client_order_id=f"c{rng.randint(0, i)}" if rng.random() < 0.2 else None,
        trigger=rng.choice(("mark_price", "last_trade_price")),
    )


def _random_stop(rng: random.Random, engine: Engine, acct: str, symbol: str, i: int) -> Command:
    roll = rng.random()
    side = rng.choice(("bid", "ask"))
    if roll < 0.4:
        stop = _random_leg(rng, i) or StopLeg(stop_ticks=rng.randint(95, 105))
        return CreateStopOrder(
            seq=0,
            ts_ms=0,
            account=acct,
            symbol=symbol,
            side=side,
            reduce_only=rng.random() < 0.5,
            stop=stop,
        )
    if roll < 0.7:
        return SetPositionTpsl(
            seq=0,
            ts_ms=0,
            account=acct,
            symbol=symbol,
            side=side,
            take_profit=_random_leg(rng, i),
            stop_loss=_random_leg(rng, i),
        )
    if roll < 0.85:
        create = _random_create(rng, acct, symbol, i)
        return msgspec.structs.replace(
            create, take_profit=_random_leg(rng, i), stop_loss=_random_leg(rng, i)
        )
    pending = [o for o in engine.open_orders(acct) if o.pending]
    target = rng.choice(pending) if pending else None
    return CancelStopOrder(
        seq=0,
        ts_ms=0,
        account=acct,
        symbol=target.symbol if target else symbol,
        order_id=target.order_id if target else rng.randint(1, i),
    )


def _random_create(rng: random.Random, acct: str, symbol: str, i: int) -> CreateOrder:
    price = rng.randint(95, 105) if symbol == "X" else rng.randint(190, 210)
    size = rng.randint(1, 8) * (1 if symbol == "X" else 10)
    size_roll = rng.random()
    if size_roll < 0.05:
        size = 1  # near or below the minimum notional
    elif size_roll < 0.1:
        size *= 60  # large: margin rejections once accounts are loaded
    return CreateOrder(
        seq=0,
        ts_ms=0,
        account=acct,
        symbol=symbol,
        side=rng.choice(("bid", "ask")),
        price_ticks=price,
        size_lots=size,
        tif=rng.choice(("GTC", "GTC", "IOC", "ALO", "TOB")),
        reduce_only=rng.random() < 0.1,
        client_order_id=f"c{rng.randint(0, i)}" if rng.random() < 0.3 else None,
    )


def _random_cancel(
    rng: random.Random, engine: Engine, acct: str, symbol: str, i: int
) -> CancelOrder:
    live = engine.open_orders(acct)
    roll = rng.random()
    if live and roll < 0.6:
        target = rng.choice(live)
        if target.client_order_id is not None and rng.random() < 0.5:
            return CancelOrder(
                seq=0,
                ts_ms=0,
                account=acct,
                symbol=target.symbol,
                client_order_id=target.client_order_id,
            )
        return CancelOrder(
            seq=0, ts_ms=0, account=acct, symbol=target.symbol, order_id=target.order_id
        )
    if roll < 0.8:  # dead, unknown or someone else's
        order_id = rng.randint(1, engine.last_order_id + 3)
        return CancelOrder(seq=0, ts_ms=0, account=acct, symbol=symbol, order_id=order_id)
    return CancelOrder(
        seq=0, ts_ms=0, account=acct, symbol=symbol, client_order_id=f"c{rng.randint(0, i)}"
    )


def _stamped(cmd: Command, seq: int, ts_ms: int) -> Command:
    """The command with its seq/ts (a batch's actions carry the batch's own)."""
    if isinstance(cmd, Batch):
        actions = [msgspec.structs.replace(a, seq=seq, ts_ms=ts_ms) for a in cmd.actions]
        return Batch(seq=seq, ts_ms=ts_ms, actions=actions)
    return msgspec.structs.replace(cmd, seq=seq, ts_ms=ts_ms)


def run(cmds: list[Command], restore_at: int | None = None) -> tuple[list[bytes], Engine]:
    engine = Engine(MARKETS)
    encoded = []
    for i, cmd in enumerate(cmds):
        if i == restore_at:
            data = engine.snapshot()
            engine = Engine.restore(data)
            assert engine.snapshot() == data
        encoded.append(msgspec.msgpack.encode(engine.apply(cmd)))
    return encoded, engine


@pytest.fixture(scope="module")
def recorded() -> tuple[list[Command], list[bytes], Engine]:
    print(f"determinism seed {SEED}")
    return record_stream(SEED, COMMANDS)


@pytest.fixture(scope="module")
def stream(recorded: tuple[list[Command], list[bytes], Engine]) -> list[Command]:
    return recorded[0]


@pytest.fixture(scope="module")
def reference(recorded: tuple[list[Command], list[bytes], Engine]) -> tuple[list[bytes], Engine]:
    return recorded[1], recorded[2]


def test_the_stream_exercises_the_engine(reference: tuple[list[bytes], Engine]) -> None:
    events, engine = reference
    engine.check_invariants()
    outcomes = [msgspec.msgpack.decode(e, type=Outcome) for e in events]
    codes = Counter(o.reject.code for o in outcomes if o.reject is not None)
    kinds = Counter(type(e).__name__ for o in outcomes for e in o.events)
    cancelled = Counter(
        e.reason for o in outcomes for e in o.events if isinstance(e, OrderCancelled)
    )
    assert engine.last_order_id > 1_000 and kinds["OrderFilled"] > 500
    assert cancelled["cancel"] > 300 and codes[400] > 100
    for reason in ("edit", "ioc_remainder", "post_only_rejected", "self_trade_prevented"):
        assert cancelled[reason] > 0, cancelled
    assert kinds["OrderAccepted"] > 1_000
    assert sum(len(o.results or ()) for o in outcomes) > 100
    events = [e for o in outcomes for e in o.events]
    market = {
        e.order_id for e in events if isinstance(e, OrderAccepted) and e.order_type == "market"
    }
    assert sum(isinstance(e, OrderFilled) and e.taker_order_id in market for e in events) > 50
    assert kinds["MarginSettingChanged"] > 10
    assert kinds["StopTriggered"] > 30
    for reason in ("position_closed", "parent_cancelled", "no_position"):
        assert cancelled[reason] > 0, cancelled
    for code in (5, 6, 7, 11, 12, 17, 21, 22, 25, 36):
        assert codes[code] > 0, codes


def test_same_stream_twice_gives_identical_bytes_and_hash(
    stream: list[Command], reference: tuple[list[bytes], Engine]
) -> None:
    events, engine = run(stream)
    assert events == reference[0]
    assert engine.state_hash() == reference[1].state_hash()
    assert engine.snapshot() == reference[1].snapshot()


@pytest.mark.parametrize("restore_at", [COMMANDS // 2, COMMANDS // 3 + 1])
def test_snapshot_and_restore_midway_changes_nothing(
    stream: list[Command], reference: tuple[list[bytes], Engine], restore_at: int
) -> None:
    events, engine = run(stream, restore_at)
    assert events == reference[0]
    assert engine.state_hash() == reference[1].state_hash()
    engine.check_invariants()


def test_restored_engine_answers_reads_like_the_original(
    reference: tuple[list[bytes], Engine],
) -> None:
    original = reference[1]
    restored = Engine.restore(original.snapshot())
    for acct in ACCOUNTS:
        assert restored.open_orders(acct) == original.open_orders(acct)
        assert restored.positions(acct) == original.positions(acct)
        assert restored.account_summary(acct) == original.account_summary(acct)
        assert restored.agents(acct) == original.agents(acct)
    for symbol in ("X", "Y"):
        assert restored.depth(symbol, 1000) == original.depth(symbol, 1000)
        assert restored.mark_price(symbol) == original.mark_price(symbol)
    for order_id in range(1, original.last_order_id + 1, 37):
        assert restored.order(order_id) == original.order(order_id)
        assert restored.order_history(order_id) == original.order_history(order_id)
    assert restored.last_order_id == original.last_order_id


def test_every_order_change_comes_with_an_event_naming_its_account(
    stream: list[Command],
) -> None:
    """What the bus relies on to skip a command nobody follows (runtime/bus.py `follows`):
    each order a command changes (a history entry: made, filled, cancelled, triggered, a
    TP/SL leg armed or created) belongs to an account one of the command's events names."""
    engine = Engine(MARKETS)
    changed = 0
    for cmd in stream:
        before = engine.last_history_id
        outcome = engine.apply(cmd)
        named = {
            getattr(event, field)
            for event in outcome.events
            for field in ("account", "maker_account", "taker_account")
            if hasattr(event, field)
        }
        accounts = {account for account, _ in engine.order_updates_since(before)}
        assert accounts <= named, (cmd, outcome.events)
        changed += bool(accounts)
    assert changed > len(stream) // 2
