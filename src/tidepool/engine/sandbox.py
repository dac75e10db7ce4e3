"""What the sandbox's cheats keep in the engine state: the clock mark and the snapshot store.

Both are bookkeeping of the cheats, not trading state, and two rules follow from that:
- They are not in the state hash (snapshot.canonical leaves them out): a client that hashes,
  takes a snapshot, trades and reverts must read the hash it read before, although the store
  now holds one snapshot less and the clock has moved on.
- A revert or a reset keeps them: time never goes backwards (the journal's stamps stay in
  order), and a snapshot taken before a reset stays revertable.
They are in the persisted snapshot (snapshot.encode), so a restart or a compaction that drops
the journal's older segments keeps the clock and the snapshots.

Invariants:
- `snapshots` maps ids to engine snapshot bytes (snapshot.encode without this store), in
  ascending id order; every id is <= `last_snapshot_id`, which never decreases, so an id is
  never handed out twice (a stale id cannot revert to some later, unrelated state).
- `clock` is the last SetClock (None: the server clock is the wall clock); its `now_ms` never
  decreases from one SetClock to the next.
"""

from __future__ import annotations

import msgspec

# The latest time the sandbox clock may be set to: 9999-12-31T23:59:59.999Z, the last instant
# datetime and ISO 8601 can spell, far inside every integer the journal and JSON carry exactly.
MAX_TIME_MS = 253_402_300_799_999


class ClockMark(msgspec.Struct, frozen=True, array_like=True):
    """The server clock read `now_ms` when the wall clock read `wall_ms`; `frozen`: it stays
    there, else it runs on with the wall clock from there."""

    now_ms: int
    wall_ms: int
    frozen: bool


class SandboxRecord(msgspec.Struct, frozen=True, array_like=True):
    """The store as snapshot.encode writes it (ids ascending)."""

    clock: ClockMark | None
    last_snapshot_id: int
    snapshots: list[tuple[int, bytes]]


class SandboxBook:
    __slots__ = ("clock", "last_snapshot_id", "snapshots")

    def __init__(self) -> None:
        self.clock: ClockMark | None = None
        self.last_snapshot_id = 0
        self.snapshots: dict[int, bytes] = {}

    @property
    def empty(self) -> bool:
        """Nothing was ever done with it: nothing to persist (existing snapshot bytes stay
        byte for byte what they were before the sandbox store existed)."""
        return self.clock is None and self.last_snapshot_id == 0

    def record(self) -> SandboxRecord:
        return SandboxRecord(self.clock, self.last_snapshot_id, list(self.snapshots.items()))

    @classmethod
    def from_record(cls, record: SandboxRecord) -> SandboxBook:
        book = cls()
        book.clock = record.clock
        book.last_snapshot_id = record.last_snapshot_id
        book.snapshots = dict(record.snapshots)
        return book
