"""The market maker's quotes for one market, and the commands that turn what rests into them.

Pure functions of (market, mark, the maker's position, its resting orders, the settings): the
same inputs give the same commands, which is what makes `--market-maker` deterministic.

The ladder: `levels` quotes a side; level i (from 1) sits i x `spread_bps` from the mark, bids
rounded down and asks up to the tick, each level at least one tick beyond the one inside it and
every bid below / every ask above the mark; a side stops early where its prices would leave the
range a price can have. Each quote is worth about `notional` USDC, clamped
to the market's order-size limits.

Margin: on the side that reduces the maker's position, the inner quotes whose cumulative size
fits in the position are reduce-only. They fill like any quote (a sweep through them never
exceeds the position), but hold no margin, so a maker whose margin is used up by its inventory
still quotes the side that unwinds it; the side that would grow it is refused by the engine
(error 5) until fills or a faucet free margin.

The plan: quotes are paired with resting orders of the same side, inner first. A pair that
already matches stays (nothing is sent when nothing changed); one that differs is edited (a new
price or size: Pacifica's cancel-and-replace), or cancelled and created again when its
reduce-only flag must change; unpaired orders are cancelled, unpaired quotes created post-only
(ALO: the maker never takes, and ALO creates skip the speedbump). Cancels go first; when the
mark rose far enough that a new bid would meet a resting ask, the asks move first (and the bids
first otherwise), so the maker's own moves never cross each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext
from itertools import zip_longest
from typing import NamedTuple

from tidepool.domain.markets import MAX_STEPS, MarketSpec
from tidepool.engine.commands import (
    MAX_BATCH_ACTIONS,
    BatchAction,
    CancelOrder,
    CreateOrder,
    EditOrder,
    Side,
)
from tidepool.engine.views import OrderRecord

_BPS = Decimal(10_000)


class Quote(NamedTuple):
    side: Side
    price_ticks: int
    size_lots: int
    reduce_only: bool


def ladder(
    spec: MarketSpec,
    mark: Decimal,
    position_lots: int,
    levels: int,
    spread_bps: Decimal,
    notional: Decimal,
) -> list[Quote]:
    """The quotes: bids inner first, then asks inner first. `position_lots` is signed (> 0
    long)."""
    with localcontext() as ctx:
        ctx.prec = 40
        mark_ticks = mark / spec.tick_size
        step = mark_ticks * spread_bps / _BPS
        bids: list[int] = []
        inner = _to_int(mark_ticks, ROUND_CEILING)  # every bid strictly below the mark
        for i in range(1, levels + 1):
            price = min(_to_int(mark_ticks - i * step, ROUND_FLOOR), inner - 1)
            if price < 1:
                break
            bids.append(price)
            inner = price
        asks: list[int] = []
        inner = _to_int(mark_ticks, ROUND_FLOOR)  # every ask strictly above the mark
        for i in range(1, levels + 1):
            inner = max(_to_int(mark_ticks + i * step, ROUND_CEILING), inner + 1)
            if inner > MAX_STEPS:  # a price the journal cannot hold (an absurd spread)
                break
            asks.append(inner)
        return [
            *_side(spec, "bid", bids, notional, max(-position_lots, 0)),
            *_side(spec, "ask", asks, notional, max(position_lots, 0)),
        ]


def _side(
    spec: MarketSpec, side: Side, prices: list[int], notional: Decimal, reducible: int
) -> Iterator[Quote]:
    """Quotes at `prices` (inner first); those whose cumulative size fits in `reducible` (the
    position this side closes) are reduce-only."""
    covered = 0
    for price in prices:
        lots = _lots(spec, price, notional)
        covered += lots
        yield Quote(side, price, lots, covered <= reducible)


def _lots(spec: MarketSpec, price_ticks: int, notional: Decimal) -> int:
    """About `notional` USDC at this price, within the market's order-size limits."""
    per_lot = price_ticks * spec.tick_size * spec.lot_size
    low = _to_int(spec.min_order_size / per_lot, ROUND_CEILING)
    high = _to_int(spec.max_order_size / per_lot, ROUND_FLOOR)
    return max(1, low, min(_to_int(notional / per_lot, ROUND_FLOOR), high))


def _to_int(value: Decimal, rounding: str) -> int:
    return int(value.to_integral_value(rounding=rounding))


def plan(
    account: str, symbol: str, quotes: Sequence[Quote], resting: Sequence[OrderRecord]
) -> list[BatchAction]:
    """The actions that make `account`'s resting orders in `symbol` the `quotes`; [] when
    they already are."""
    cancels: list[BatchAction] = []
    moves: dict[Side, list[BatchAction]] = {"bid": [], "ask": []}
    for side in ("bid", "ask"):
        wanted = [q for q in quotes if q.side == side]
        have = sorted(
            (o for o in resting if o.side == side and not o.pending),
            key=lambda o: (-o.price_ticks if side == "bid" else o.price_ticks, o.order_id),
        )
        for quote, order in zip_longest(wanted, have):
            if order is None:
                moves[side].append(_create(account, symbol, quote))
            elif quote is None:
                cancels.append(_cancel(account, symbol, order))
            elif (order.price_ticks, order.remaining_lots, order.reduce_only) == quote[1:]:
                continue
            elif order.reduce_only == quote.reduce_only:
                moves[side].append(
                    EditOrder(
                        account=account,
                        symbol=symbol,
                        order_id=order.order_id,
                        price_ticks=quote.price_ticks,
                        size_lots=quote.size_lots,
                    )
                )
            else:
                cancels.append(_cancel(account, symbol, order))
                moves[side].append(_create(account, symbol, quote))
    new_bids = [q.price_ticks for q in quotes if q.side == "bid"]
    old_asks = [o.price_ticks for o in resting if o.side == "ask" and not o.pending]
    asks_first = bool(new_bids and old_asks) and max(new_bids) >= min(old_asks)
    sides: tuple[Side, Side] = ("ask", "bid") if asks_first else ("bid", "ask")
    return [*cancels, *moves[sides[0]], *moves[sides[1]]]


def batches(actions: Sequence[BatchAction]) -> list[list[BatchAction]]:
    """`actions` in order, cut into batches as a client may send them."""
    size = MAX_BATCH_ACTIONS
    return [list(actions[i : i + size]) for i in range(0, len(actions), size)]


def _create(account: str, symbol: str, quote: Quote) -> CreateOrder:
    return CreateOrder(
        account=account,
        symbol=symbol,
        side=quote.side,
        price_ticks=quote.price_ticks,
        size_lots=quote.size_lots,
        tif="ALO",
        reduce_only=quote.reduce_only,
    )


def _cancel(account: str, symbol: str, order: OrderRecord) -> CancelOrder:
    return CancelOrder(account=account, symbol=symbol, order_id=order.order_id)
