"""Garbage-collector policy for the server process: no pause that scans the engine state.

Why. The engine keeps every order, history list and fill for the life of the process: with 1M
resting orders that is ~2M GC-tracked objects that never die. CPython 3.11 still scans all of
them in every full (gen-2) collection, which it starts on its own whenever the old generation
has grown by 25 %: 1.2 s pauses while the book grows, 1.5 s for an explicit `gc.collect()`
(bench/memory_bench.py). Plain `gc.freeze()` once is not enough either:

- everything created after the freeze ages into gen 2 again, so the next full collection scans
  all orders created since (211 ms after 100k more commands);
- a full collection also *untracks* dicts whose keys and values are all untracked (e.g. the
  engine's client-id map: tuples of two str). The next insert of a fresh tuple key re-tracks
  such a dict into generation 0, and the next young collections then traverse all of its
  entries: that was the 66 ms "young" pause at 1M orders, and it recurs after every full
  collection.

The policy (`install`):

1. Automatic full collections are switched off (gen-2 threshold at its maximum). Young
   collections (gen 0 every 700 net allocations, gen 1 every 10 of those) keep running: they
   reclaim the short-lived cycles of request handling (asyncio futures, exceptions and their
   tracebacks) and cost ~0.03 ms / ~1 ms, because they only traverse young objects.
2. Right after every gen-1 collection, whatever survived it (it was just moved to gen 2) is
   frozen: `gc.freeze()` moves the gen lists into the permanent generation, an O(1) list splice.
   So gen 2 stays empty, and even an explicit `gc.collect()` by some library only scans what is
   young, never the engine state.
3. `freeze_now()` after recovery freezes the recovered state at once. It deliberately does not
   run a full collection first: that would untrack the large dicts as described above.

Installed before recovery, the policy also keeps full collections out of the replay of the
journal, where they used to cost a second or more each on a large state.

What it costs. Cyclic garbage is reclaimed only if it dies within two young collections of
being made; a cycle that outlives a gen-1 collection and dies later stays in memory (frozen)
until the process exits. Reference counting still frees every acyclic object whenever it dies,
frozen or not. The engine state is acyclic once an order leaves the book (the book's intrusive
list links are cleared on unlink) and is never freed anyway (a state that a sandbox revert or
reset replaces has those links cleared as it is freed: engine/teardown.py), so the exposure is
the runtime's long-lived cycles, e.g. the objects of a keep-alive connection when it closes. A long
create/cancel workload shows no growth beyond the orders themselves (bench/memory_bench.py);
`uninstall()` restores CPython's defaults (tests, embedding).
"""

from __future__ import annotations

import gc
import logging
from typing import Final

log = logging.getLogger("tidepool.gc")

# CPython stores the thresholds as C ints; the largest one means "never" for gen 2.
_NEVER: Final = 2**31 - 1
YOUNG_THRESHOLDS: Final = (700, 10)

_state: dict[str, tuple[int, int, int]] = {}


def _after_collection(phase: str, info: dict[str, int]) -> None:
    # Only gen-1 collections promote into gen 2; freezing right after one leaves gens 0..2 empty
    # (the young gens were just emptied into gen 2), so nothing young is frozen prematurely.
    if phase == "stop" and info["generation"] >= 1:
        gc.freeze()


def install() -> None:
    """Switch this process to the policy above. Idempotent."""
    if "previous" in _state:
        return
    _state["previous"] = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLDS[0], YOUNG_THRESHOLDS[1], _NEVER)
    gc.callbacks.append(_after_collection)
    gc.enable()


def installed() -> bool:
    return "previous" in _state


def freeze_now() -> None:
    """Freeze everything alive now (after recovery): reclaim young cycles first, cheaply."""
    gc.collect(1)
    gc.freeze()


def uninstall() -> None:
    """Back to CPython's defaults; frozen objects become collectable again. Idempotent."""
    previous = _state.pop("previous", None)
    if previous is None:
        return
    if _after_collection in gc.callbacks:
        gc.callbacks.remove(_after_collection)
    gc.set_threshold(*previous)
    gc.unfreeze()
