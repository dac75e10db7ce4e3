"""Freeing a state that a sandbox revert or reset replaced, a piece at a time.

Why in pieces. A state of 100,000 resting orders is about a million objects; freeing them
took 60 ms at once (bench/sandbox_bench.py), more than a reset's whole budget, and the event loop
would serve nobody meanwhile. So the engine does not free the state it replaces while it
applies the command: `cheats._adopt` parks it (`EngineState.replaced`), the runtime takes it
(`Engine.take_replaced`) and runs `pieces` between other commands (runtime/reclaim.py). Freeing
memory is not state: nothing the engine reads or hashes depends on when it happens.

Why it is taken apart rather than just dropped: a resting order's book links (`prev`, `next`,
`level`) are reference cycles, and the server's GC policy (runtime/gcpolicy.py) freezes old
objects and never collects them, so only reference counting frees them, once those links are
cleared.

Invariants:
- One piece frees at most `chunk` entries (orders, history entries, fills, index entries,
  levels), plus what only they held (an order's history tuple, say). Pieces free about 0.3
  to 1 ms of work each at 100,000 resting orders.
- Once `pieces` is exhausted, every order is unlinked and every large container of the state
  is empty: the shell and what is left of it are freed by reference counting alone.
- It only empties containers the replaced state owns. The live state shares nothing mutable
  with it: the sandbox store, markets and config it shares are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tidepool.engine.orders import Order
from tidepool.engine.state import EngineState

# Entries one piece frees at most: up to ~0.6 ms of work (an order costs 0.25 to 0.6 µs to
# unlink and free), about what one chunk of a cancel_all holds the event loop for
# (runtime/pipeline.py).
CHUNK = 1000

# Any: the containers hold entries of many types, and this only drops them.
Container = dict[Any, Any] | list[Any]


def pieces(state: EngineState, chunk: int = CHUNK) -> Iterator[None]:
    """Free `state`'s contents, yielding after each piece of at most `chunk` entries."""
    budget = chunk
    orders = state.orders
    for container in _containers(state):
        while container:
            if container is orders:
                budget -= _unlink_some(orders, budget)
            else:
                budget -= _drop_some(container, budget)
            if budget <= 0:
                yield
                budget = chunk


def free(state: EngineState) -> None:
    """All of `pieces` at once (a replaced state nobody took: engine/cheats.py)."""
    for _ in pieces(state):
        pass


def _unlink_some(orders: dict[int, Order], most: int) -> int:
    """Drop up to `most` orders, clearing the book links of those on a book (the state's only
    cycles; an order off the books has none). An order still named by its predecessor's `next`
    goes when that one is dropped."""
    count = min(most, len(orders))
    popitem = orders.popitem
    for _ in range(count):
        order = popitem()[1]
        level = order.level
        if level is not None:
            level.head = level.tail = None
            order.level = order.prev = order.next = None
    return count


def _drop_some(container: Container, most: int) -> int:
    count = min(most, len(container))
    if count == len(container):
        container.clear()  # in C, several times faster than popping entries one by one
    elif isinstance(container, list):
        del container[len(container) - count :]
    else:
        popitem = container.popitem
        for _ in range(count):
            popitem()
    return count


def _containers(state: EngineState) -> Iterator[Container]:
    """Every container of the state that grows with its orders or fills, in the order they are
    emptied. The accounts' indexes go first: what they hold (order ids, client order ids) the
    orders hold too, and then dies with its order. Orders go newest first, history entries
    too: objects then die about in reverse order of allocation, so the allocator hands its
    memory back to the system a little at every piece. (Emptied last, the open-order index
    held the last order ids of nearly every memory arena of a restored state: its last piece
    took 4 to 12 ms, returning them all.)"""
    for account in state.accounts.values():
        yield account.cloids
        yield account.order_ids
        yield account.open_ids
        yield account.stop_ids
    yield state.orders
    yield state.history_log
    yield state.fills
    yield from state.fills_by_account.values()
    yield from state.trades.values()
    yield state.accounts
    for book in state.books.values():
        for side in (book.bids, book.asks):
            yield side.levels
            yield side.keys
    for index in state.triggers.values():
        yield index.rises
        yield index.falls
    yield state.legs
