"""Whole-state invariant checks (guide `testing.md` I1-I4, I9, I11 plus index consistency).

`check(state)` raises InvariantBroken naming the first broken invariant. It is O(state): for
tests, the kill-loop verifier and a paranoid runtime flag, never for the hot path.

I9 is checked in its exact, always-true form: sum of balances + fees collected + sum of
unrealised PnL at the current marks == faucet total. (Realised PnL alone sums to zero only once
every position is closed; realised + unrealised sums to zero at all times, exactly, because cost
bases are exact integers.) Invariants over time (filled never decreases, terminal is
absorbing, no fill after a cancel ack) need two states and are checked by the property tests.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from tidepool.engine.apikeys import API_KEY_LIMIT
from tidepool.engine.book import BookSide, OrderBook
from tidepool.engine.money import units_to_usd
from tidepool.engine.orders import Order
from tidepool.engine.state import EngineState


class InvariantBroken(AssertionError):
    """A broken engine invariant: a bug. The process must stop; recovery is replay."""


def _require(ok: bool, invariant: str, detail: str) -> None:
    if not ok:
        raise InvariantBroken(f"{invariant}: {detail}")


def check(state: EngineState) -> None:
    on_book: dict[int, Order] = {}
    for book in state.books.values():
        _check_book(book, on_book)
    _check_orders(state, on_book)
    _check_accounts(state, on_book)
    _check_pending(state)
    _check_positions(state)
    _check_fills(state)
    _check_collateral(state)
    _check_api_keys(state)


def _check_api_keys(state: EngineState) -> None:
    per_account = Counter(state.api_keys.values())
    for account, count in per_account.items():
        _require(count <= API_KEY_LIMIT, "API key limit", f"{account} holds {count} active keys")


def _check_book(book: OrderBook, on_book: dict[int, Order]) -> None:
    bid, ask = book.bids.best_price(), book.asks.best_price()
    _require(
        bid is None or ask is None or bid < ask,
        "I1 no crossed book",
        f"{book.symbol}: best bid {bid} >= best ask {ask}",
    )
    for side in (book.bids, book.asks):
        _check_side(book.symbol, side, on_book)


def _check_side(symbol: str, side: BookSide, on_book: dict[int, Order]) -> None:
    where = f"{symbol} {'bids' if side.is_bid else 'asks'}"
    keys = [p if side.is_bid else -p for p in side.levels]
    _require(sorted(keys) == side.keys, "I2 level consistency", f"{where}: price index drifted")
    for price, level in side.levels.items():
        _require(level.price_ticks == price, "I2 level consistency", f"{where} {price}: key")
        total, count, prev = 0, 0, None
        for order in level.orders():
            ok = (
                order.level is level
                and order.prev is prev
                and order.price_ticks == price
                and order.is_bid == side.is_bid
                and order.symbol == symbol
                and order.is_open
                and order.remaining_lots > 0
                and order.order_id not in on_book
            )
            _require(ok, "I2 level consistency", f"{where} {price}: order {order.order_id}")
            on_book[order.order_id] = order
            total += order.remaining_lots
            count += 1
            prev = order
        _require(
            count > 0 and level.tail is prev and level.count == count,
            "I2 level consistency",
            f"{where} {price}: empty level or bad count/tail",
        )
        _require(
            level.size_lots == total,
            "I2 level consistency",
            f"{where} {price}: level size {level.size_lots} != sum of orders {total}",
        )


def _check_orders(state: EngineState, on_book: dict[int, Order]) -> None:
    ids = list(state.orders)
    _require(
        ids == list(range(1, state.last_order_id + 1)),
        "order ids",
        f"ids are not 1..{state.last_order_id} without gaps",
    )
    history_ids: set[int] = set()
    cloids: set[tuple[str, str]] = set()
    for order in state.orders.values():
        _check_order(order)
        _require(
            order.on_book == (order.order_id in on_book),
            "I2 level consistency",
            f"order {order.order_id} ({order.status}) on book: {order.order_id in on_book}",
        )
        if order.client_order_id is not None:
            # An edit's new order takes over its client id: the map points at the newest.
            key = (order.account, order.client_order_id)
            cloids.add(key)
            mapped = state.orders.get(state.accounts[order.account].cloids.get(key[1], 0))
            _require(
                mapped is not None
                and mapped.order_id >= order.order_id
                and (mapped.account, mapped.client_order_id) == key,
                "I11 client order id",
                str(key),
            )
        entries = order.history
        hids = [h.history_id for h in entries]
        _require(
            bool(entries) and hids == sorted(set(hids)) and hids[-1] <= state.last_history_id,
            "history",
            f"order {order.order_id}: history ids {hids}",
        )
        history_ids.update(hids)
    _require(
        sum(len(account.cloids) for account in state.accounts.values()) == len(cloids),
        "I11 client order id",
        "client id map has entries of no order",
    )
    total = sum(len(order.history) for order in state.orders.values())
    _require(len(history_ids) == total, "history", "history id used twice")
    log_ids = [h.history_id for h in state.history_log]
    _require(
        log_ids == sorted(history_ids)
        and all(
            state.orders[h.order_id].history[-1].history_id >= h.history_id
            and h in state.orders[h.order_id].history
            for h in state.history_log
        ),
        "history",
        "history_log is not every history entry in history-id order",
    )


def _check_order(order: Order) -> None:
    name = f"order {order.order_id}"
    _require(
        min(order.filled_lots, order.cancelled_lots, order.remaining_lots) >= 0
        and order.filled_lots + order.cancelled_lots + order.remaining_lots == order.initial_lots,
        "I3 quantity conservation",
        f"{name}: {order.initial_lots} != {order.filled_lots} filled + {order.cancelled_lots}"
        f" cancelled + {order.remaining_lots} remaining",
    )
    if order.pending:  # not triggered yet: nothing filled or cancelled, size may be open (0)
        ok = order.status == "open" and order.filled_lots == order.cancelled_lots == 0
        _require(ok, "I3 quantity conservation", f"{name}: pending stop {order.status}")
        return
    expected = {
        "open": order.filled_lots == 0 and order.remaining_lots > 0,
        "partially_filled": order.filled_lots > 0 and order.remaining_lots > 0,
        "filled": order.remaining_lots == 0 and order.cancelled_lots == 0,
        "cancelled": order.remaining_lots == 0,
        "rejected": order.remaining_lots == 0,
    }[order.status]
    _require(expected, "I3 quantity conservation", f"{name}: status {order.status} inconsistent")


def _check_accounts(state: EngineState, on_book: dict[int, Order]) -> None:
    indexed: set[int] = set()
    for address, account in state.accounts.items():
        ids = sorted(account.open_ids)
        _require(
            list(account.open_ids) == ids,
            "account index",
            f"{address}: open-order index not in ascending id order",
        )
        units: dict[str, int] = {}
        for order_id in ids:
            order = on_book.get(order_id)
            _require(
                order is not None and order.account == address,
                "account index",
                f"{address}: indexed order {order_id} is not its resting order",
            )
            assert order is not None
            _require(
                account.open_ids[order_id] == order.symbol,
                "account index",
                f"{address}: order {order_id} indexed under another market",
            )
            if not order.reduce_only:
                units[order.symbol] = (
                    units.get(order.symbol, 0) + order.remaining_lots * order.price_ticks
                )
        indexed.update(ids)
        _require(units == account.order_units, "account index", f"{address}: order margin units")
    _require(indexed == set(on_book), "account index", "resting orders missing from indexes")


def _check_pending(state: EngineState) -> None:
    """Pending stops are indexed per account, and in a trigger index iff armed, else as a leg
    of their parent; nothing else is."""
    stop_ids: dict[str, list[int]] = {}
    armed: dict[tuple[str, str], list[int]] = {}
    legs: dict[int, list[int]] = {}
    for order in state.orders.values():
        if not order.pending:
            continue
        stop_ids.setdefault(order.account, []).append(order.order_id)
        if order.armed:
            armed.setdefault((order.symbol, order.trigger or ""), []).append(order.order_id)
        else:
            assert order.parent_id is not None
            legs.setdefault(order.parent_id, []).append(order.order_id)
    for address, account in state.accounts.items():
        got = list(account.stop_ids)
        _require(
            got == stop_ids.get(address, []),
            "stop index",
            f"{address}: stop ids {got}",
        )
    for key, index in state.triggers.items():
        _require(index.ids() == armed.get(key, []), "stop index", f"trigger index {key}")
        _require(
            index.rises == sorted(index.rises) and index.falls == sorted(index.falls),
            "stop index",
            f"trigger index {key} unsorted",
        )
    _require(
        {k: sorted(v) for k, v in state.legs.items()} == legs,
        "stop index",
        f"legs {state.legs} != {legs}",
    )


def _check_positions(state: EngineState) -> None:
    net = dict.fromkeys(state.markets, 0)
    longs = dict.fromkeys(state.markets, 0)
    for address, account in state.accounts.items():
        for symbol, p in account.positions.items():
            _require(
                p.size_lots != 0 and (p.cost_units > 0) == (p.size_lots > 0),
                "positions",
                f"{address} {symbol}: size {p.size_lots} cost {p.cost_units}",
            )
            net[symbol] += p.size_lots
            longs[symbol] += max(p.size_lots, 0)
    for symbol, lots in net.items():
        _require(lots == 0, "I4 positions net to zero", f"{symbol}: net {lots} lots")
    _require(longs == state.long_lots, "I4 positions net to zero", "open interest drifted")


def _check_fills(state: EngineState) -> None:
    """Every fill side is on record once, in history order; makers and takers trade equal
    amounts; an order's fills add up to its filled amount."""
    hids = [f.history_id for f in state.fills]
    _require(hids == sorted(set(hids)), "I4 fills", "fill records out of history order")
    by_order: dict[int, int] = {}
    net: dict[tuple[str, bool], int] = {}
    for f in state.fills:
        by_order[f.order_id] = by_order.get(f.order_id, 0) + f.size_lots
        net[(f.symbol, f.maker)] = net.get((f.symbol, f.maker), 0) + f.size_lots
    for symbol in state.markets:
        maker, taker = net.get((symbol, True), 0), net.get((symbol, False), 0)
        _require(maker == taker, "I4 fills", f"{symbol}: maker {maker} != taker {taker} lots")
    for order in state.orders.values():
        filled = by_order.get(order.order_id, 0)
        _require(
            filled == order.filled_lots,
            "I4 fills",
            f"order {order.order_id}: fills {filled} != filled {order.filled_lots}",
        )


def _check_collateral(state: EngineState) -> None:
    balances = sum((a.balance for a in state.accounts.values()), Decimal(0))
    unrealised = Decimal(0)
    for account in state.accounts.values():
        for symbol, p in account.positions.items():
            spec = state.markets[symbol]
            value = p.size_lots * spec.lot_size * state.marks[symbol]
            unrealised += value - units_to_usd(spec, p.cost_units)
    total = balances + state.fees_collected + unrealised
    _require(
        total == state.faucet_total,
        "I9 collateral conservation",
        f"balances {balances} + fees {state.fees_collected} + unrealised {unrealised} = {total}"
        f" != faucet total {state.faucet_total}",
    )
