"""The engine's flattened hot paths against the general code they short-cut.

`matching._create_plain` (a limit order without TP/SL legs) repeats `risk.check_create`,
`lifecycle.accept`, `execution.execute` and `stops.run_triggers` in one frame, with the same
Decimal operations in the same order. Here the same command streams run through an engine
that uses it and one forced onto the general path (`_create_with_legs`, which also handles
orders without legs); every outcome (encoded bytes: events, rejections and their messages)
and the final state hash must be identical. Streams: the determinism test's 5,000 random
commands, and hypothesis-drawn streams with thin collateral, 3x leverage (rounded margin
quotients), positions, mark moves, reduce-only orders and every tif.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import msgspec
from enginekit import market
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_determinism import MARKETS, record_stream

from tidepool.engine import engine as engine_module
from tidepool.engine import matching
from tidepool.engine.commands import (
    CancelOrder,
    Command,
    CreateOrder,
    Faucet,
    SetMarkPrice,
    UpdateLeverage,
)
from tidepool.engine.engine import Engine, EngineConfig


@contextmanager
def general_paths() -> Iterator[None]:
    """Route CreateOrder through the general path while the block runs."""
    handlers = engine_module._HANDLERS
    saved = handlers[CreateOrder]
    handlers[CreateOrder] = matching._create_with_legs
    try:
        yield
    finally:
        handlers[CreateOrder] = saved


def _run(engine: Engine, cmds: list[Command]) -> tuple[list[bytes], str]:
    out = [msgspec.msgpack.encode(engine.apply(c)) for c in cmds]
    return out, engine.state_hash()


def _both(make: object, cmds: list[Command]) -> None:
    assert callable(make)
    fast = _run(make(), cmds)
    with general_paths():
        general = _run(make(), cmds)
    for i, (a, b) in enumerate(zip(fast[0], general[0], strict=True)):
        assert a == b, f"command {i} {cmds[i]!r}: outcomes differ"
    assert fast[1] == general[1]


def test_determinism_stream_same_on_both_paths() -> None:
    cmds, _, _ = record_stream(20240611, 5_000)
    _both(lambda: Engine(MARKETS), cmds)


# Thin collateral, leverage 3 and 7 (non-terminating quotients), small grids so orders cross.
FAST_MARKETS = (
    market("X", max_order_size=Decimal(3_000)),
    market("Y", tick_size=Decimal("0.5"), lot_size=Decimal("0.1"), max_leverage=3),
)
ACCOUNTS = ("a", "b", "c")


@st.composite
def command(draw: st.DrawFn) -> Command:
    kind = draw(st.integers(0, 9))
    acct = draw(st.sampled_from(ACCOUNTS))
    symbol = draw(st.sampled_from(("X", "Y", "Z")) if kind == 0 else st.sampled_from(("X", "Y")))
    if kind == 1:
        amount = draw(st.decimals(Decimal("0.001"), Decimal(500), places=3))
        return Faucet(seq=0, ts_ms=0, account=acct, amount=amount)
    if kind == 2:
        return UpdateLeverage(
            seq=0, ts_ms=0, account=acct, symbol=symbol, leverage=draw(st.sampled_from((1, 3, 7)))
        )
    if kind == 3:
        mark = draw(st.decimals(Decimal(90), Decimal(110), places=1))
        return SetMarkPrice(seq=0, ts_ms=0, symbol=symbol, price=mark)
    if kind == 4:
        return CancelOrder(
            seq=0, ts_ms=0, account=acct, symbol=symbol, order_id=draw(st.integers(1, 40))
        )
    return CreateOrder(
        seq=0,
        ts_ms=0,
        account=acct,
        symbol=symbol,
        side=draw(st.sampled_from(("bid", "ask"))),
        price_ticks=draw(st.integers(-1, 6)) + (97 if symbol != "Y" else 197),
        size_lots=draw(st.integers(0, 30)) * (1 if symbol != "Y" else 10),
        tif=draw(st.sampled_from(("GTC", "IOC", "ALO", "TOB"))),
        reduce_only=draw(st.booleans()),
        client_order_id=draw(st.none() | st.sampled_from(("c1", "c2", "c3"))),
    )


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(command(), min_size=1, max_size=60))
def test_random_streams_same_on_both_paths(cmds: list[Command]) -> None:
    stamped: list[Command] = [
        msgspec.structs.replace(c, seq=i + 1, ts_ms=1000 + i) for i, c in enumerate(cmds)
    ]
    _both(lambda: Engine(FAST_MARKETS, EngineConfig(max_open_orders=6)), stamped)
