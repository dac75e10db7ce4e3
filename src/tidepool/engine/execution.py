"""Execution: an accepted order against the opposite side of its book.

Semantics (Pacifica's, spec §3.2-3.3):
- The incoming (taker) order matches resting orders at the RESTING price while it crosses,
  best price first, FIFO within a level (price-time priority, I5); it never fills beyond its
  limit (I6).
- Self-trade prevention: a resting order of the taker's own account met while matching is
  cancelled (status `rejected`, reason/event `self_trade_prevented`) and matching continues.
- A resting reduce-only order that can no longer trade its whole remainder without increasing
  its owner's |position| (the position shrank since it was placed) fills what it still can
  and has the rest cancelled (status `cancelled`, reason `reduce_only`), so reduce-only never
  increases a position. An incoming reduce-only order is sized against the position when
  validated and only its own fills change that position while it matches.
- GTC and TOB rest their remainder (event `make`); IOC cancels it (reason `ioc_remainder`,
  event `cancel`); ALO that would take is accepted, then rejected (`post_only_rejected`);
  TOB that would take is re-priced one tick inside the best opposite price, then rests.
- Market orders (spec §2.2) are IOC limit orders whose limit is the mark moved against the
  taker by `slippage_percent` (bids round down, asks up, to the tick; never below one tick);
  order type `market`. Nothing on the opposite side within that limit: error 25, no order.
- Outcome: `order_id` of the accepted order; events in order: OrderAccepted, then per maker
  either OrderCancelled (STP) or OrderFilled + PositionChanged/BalanceChanged (maker, taker),
  then the taker's OrderCancelled if it did not rest.
"""

from __future__ import annotations

from tidepool.engine.lifecycle import Step, cancel_resting, close_incoming, fill, rest
from tidepool.engine.orders import Order
from tidepool.engine.state import EngineState


def execute(state: EngineState, step: Step, taker: Order) -> None:
    """Match an accepted order against the opposite side while it crosses and has lots left,
    then rest its remainder (GTC, TOB, ALO) or cancel it (IOC). One function: it runs for
    every create."""
    opposite = state.books[taker.symbol].opposite(taker.side == "bid")
    limit = taker.price_ticks
    while taker.remaining_lots > 0:
        level = opposite.best_within(limit)
        if level is None:
            break
        maker = level.head
        assert maker is not None, "empty price level on the book"
        if maker.account == taker.account:
            cancel_resting(
                state, step, maker, "rejected", "self_trade_prevented", "self_trade_prevented"
            )
            continue
        lots = min(taker.remaining_lots, maker.remaining_lots)
        if maker.reduce_only:
            owner = state.accounts[maker.account]
            cap = owner.reducible_lots(maker.symbol, maker.is_bid)
            if cap < maker.remaining_lots:
                lots = min(lots, cap)
                if lots > 0:
                    fill(state, step, maker, taker, lots)
                if maker.is_open:
                    cancel_resting(state, step, maker, "cancelled", "reduce_only", "cancel")
                continue
        fill(state, step, maker, taker, lots)
    if taker.remaining_lots > 0:
        if taker.tif == "IOC":
            close_incoming(state, step, taker, "cancelled", "ioc_remainder", "cancel")
        else:
            rest(state, step, taker)
