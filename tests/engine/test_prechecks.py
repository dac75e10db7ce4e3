"""prechecks.passes (the integer pre-check of a create) against the Decimal checks it skips.

Its contract is one-sided: True must mean `risk.check_band` and `risk.check_order` accept the
order; False only sends the order to them. Hypothesis draws markets on odd grids (ticks of 0.3
or 25, lots of 7 or 0.00001), leverages giving non-terminating quotients, price bands, marks,
orders held in several markets, and balances within a few quanta (10**-18 USD) to a few dollars
of exactly what the order needs, on both sides.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

from enginekit import market
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tidepool.engine.accounts import MarginSetting
from tidepool.engine.engine import Engine, EngineConfig
from tidepool.engine.money import DECIMAL_CONTEXT, QUANTA_PER_USD
from tidepool.engine.prechecks import passes
from tidepool.engine.risk import OrderCheck, check_band, check_order
from tidepool.engine.state import EngineState

TICKS = ("1", "0.5", "0.3", "25", "0.01", "0.00001")
LOTS = ("1", "0.1", "7", "0.001", "0.00001")
LEVERAGES = (1, 3, 7, 50)


def _state(draw: st.DrawFn) -> EngineState:
    specs = [
        market(
            symbol,
            tick_size=Decimal(draw(st.sampled_from(TICKS))),
            lot_size=Decimal(draw(st.sampled_from(LOTS))),
            min_order_size=Decimal(draw(st.sampled_from(("0", "10", "10.5")))),
            max_order_size=Decimal(draw(st.sampled_from(("1000", "5000000", "1E+12")))),
            max_leverage=draw(st.sampled_from(LEVERAGES)),
        )
        for symbol in ("X", "Y")
    ]
    band = draw(st.sampled_from((None, Decimal("0.5"), Decimal("0.1"), Decimal("0.3333333"))))
    state = Engine(specs, EngineConfig(price_band=band, max_open_orders=5))._state
    for spec in specs:
        mark = draw(st.decimals(Decimal("0"), Decimal("1000"), places=draw(st.integers(0, 7))))
        state.marks[spec.symbol] = mark
    return state


@st.composite
def case(draw: st.DrawFn) -> tuple[EngineState, str, int, int, bool]:
    """A state with one account "a", and an order of it: symbol, price ticks, lots, and
    whether its price is the re-priced one (as after TOB; else plan == price)."""
    state = _state(draw)
    account = state.account("a")
    for symbol in draw(st.lists(st.sampled_from(("X", "Y")), unique=True)):
        account.order_units[symbol] = draw(st.integers(1, 10**9))
        account.open_ids[len(account.open_ids) + 1] = None
    for symbol in draw(st.lists(st.sampled_from(("X", "Y")), unique=True)):
        account.settings[symbol] = MarginSetting(draw(st.sampled_from(LEVERAGES)), False, 0, 0)
    symbol = draw(st.sampled_from(("X", "Y")))
    spec = state.markets[symbol]
    mark_ticks = int(Fraction(state.marks[symbol]) / Fraction(spec.tick_size))
    price = max(1, mark_ticks + draw(st.integers(-mark_ticks - 5, mark_ticks + 5)))
    size = draw(st.integers(1, 10**7))
    # The balance: exactly what the order and the orders held need, moved by an offset from a
    # few quanta to a few dollars, either way (0 included).
    need = Fraction(0)
    for s, held in [*account.order_units.items(), (symbol, price * size)]:
        m = state.markets[s]
        setting = account.settings.get(s)
        lev = m.max_leverage if setting is None else setting.leverage
        need += held * Fraction(m.tick_size) * Fraction(m.lot_size) / lev
    offset = draw(st.integers(-1000, 1000)) * draw(st.sampled_from((1, 10**6, 10**18)))
    quanta = need * QUANTA_PER_USD
    balance = Fraction(quanta.numerator // quanta.denominator + offset, QUANTA_PER_USD)
    account.balance = Decimal(balance.numerator) / Decimal(balance.denominator)
    if draw(st.booleans()):
        account.open_ids[len(account.open_ids) + 1] = None  # maybe at the open-order limit
    return state, symbol, price, size, draw(st.booleans())


def _decimal_verdict(state: EngineState, symbol: str, price: int, plan: int, size: int) -> bool:
    spec = state.markets[symbol]
    notional = spec.notional(plan, size)
    check = OrderCheck("a", symbol, "bid", size, False, notional, notional)
    return (check_band(state, spec, price) or check_order(state, check)) is None


@settings(
    max_examples=3000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case())
def test_passes_only_orders_the_decimal_checks_accept(
    drawn: tuple[EngineState, str, int, int, bool],
) -> None:
    state, symbol, price, size, repriced = drawn
    plan = max(1, price - 1) if repriced else price
    with localcontext(DECIMAL_CONTEXT):
        fast = passes(state, state.accounts["a"], False, symbol, price, plan, size)
        accepted = _decimal_verdict(state, symbol, price, plan, size)
    event(f"fast={fast} decimal={accepted}")
    assert accepted or not fast


def test_passes_decides_ordinary_orders_and_leaves_the_exact_limit_to_decimal() -> None:
    state = Engine([market("X")], EngineConfig(price_band=Decimal("0.5")))._state
    account = state.account("a")
    with localcontext(DECIMAL_CONTEXT):
        account.balance = Decimal(1000)
        assert passes(state, account, False, "X", 100, 100, 5)  # needs 50 of 1000
        account.balance = Decimal(50)  # exactly enough: accepted, but not provable here
        assert not passes(state, account, False, "X", 100, 100, 5)
        assert _decimal_verdict(state, "X", 100, 100, 5)
        account.balance = Decimal(1000)
        assert not passes(state, account, False, "X", 151, 151, 5)  # outside the band
        assert not passes(state, account, False, "X", 100, 100, 10**6)  # above the max size
