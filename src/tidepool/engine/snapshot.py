"""Snapshot: the whole engine state as deterministic msgpack bytes, and back.

Invariants:
- Canonical: every collection is written in a defined order (accounts and agents sorted,
  orders and history by id, levels best first, each level's orders in FIFO order), so the bytes
  depend only on the state, never on dict insertion history; equal states give equal bytes.
- Complete: markets, config, id counters, marks, balances, positions (exact cost bases),
  margin settings, every order ever (open and terminal, stop orders included), every history
  entry, every fill, the books' FIFO order, fee and faucet totals. Derived indexes (client-id
  map, per-account order indexes, order margin units, open interest, trigger indexes, the
  per-account and per-market fill lists) are rebuilt on restore, so they cannot disagree
  with the data.
- `restore(snapshot(s))` behaves exactly like `s`, and `snapshot(restore(b)) == b`.

Versions:
- 2 (written now): history entries as arrays (a map per entry spelled out its 16 field names,
  ~45 % of a version-1 snapshot). Everything else is laid out as in version 1.
- Both versions may end with `api_keys` ([key, account] pairs in creation order); it is left
  out while no key is active, so a state without keys encodes (and hashes) exactly as before
  the field existed, and older snapshots restore with no keys.
- 1: history entries as maps. Still read (a version-1 snapshot restores to the same state).
- `canonical(state)` is the version-1 encoding, byte for byte: it is what `state_hash` digests,
  so hashes recorded in existing snapshots and state-dir manifests stay valid across the
  format change. Anything else is refused with an error naming the version.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import starmap
from typing import Generic, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from tidepool.domain.markets import MarketSpec
from tidepool.engine.accounts import Account, MarginSetting, Position
from tidepool.engine.book import BookSide
from tidepool.engine.commands import Side
from tidepool.engine.config import EngineConfig
from tidepool.engine.orders import TERMINAL, Order
from tidepool.engine.sandbox import SandboxBook, SandboxRecord
from tidepool.engine.state import EngineState
from tidepool.engine.triggers import index_pending
from tidepool.engine.views import FillRecord, HistoryEntry, OrderStatus

FORMAT_VERSION = 2  # what `encode` writes
CANONICAL_VERSION = 1  # the form `canonical` (the state hash's input) keeps
READABLE_VERSIONS = (1, 2)


class PositionState(msgspec.Struct, frozen=True, array_like=True):
    symbol: str
    size_lots: int
    cost_units: int
    realized_pnl: Decimal
    created_at: int
    updated_at: int


class SettingState(msgspec.Struct, frozen=True, array_like=True):
    symbol: str
    leverage: int
    isolated: bool
    created_at: int
    updated_at: int


class AccountState(msgspec.Struct, frozen=True, array_like=True):
    address: str
    balance: Decimal
    agents: list[str]
    positions: list[PositionState]
    settings: list[SettingState] = []


# gc=False: only scalars and strings, so no cycle can run through one, and 100,000 of them
# decode (a restore, a sandbox revert) without the collector tracking and scanning each.
class OrderState(msgspec.Struct, frozen=True, array_like=True, gc=False):
    order_id: int
    account: str
    symbol: str
    side: Side
    price_ticks: int
    initial_lots: int
    filled_lots: int
    filled_units: int
    cancelled_lots: int
    tif: str
    reduce_only: bool
    client_order_id: str | None
    status: OrderStatus
    reason: str | None
    created_at: int
    updated_at: int
    order_type: str = "limit"
    stop_ticks: int | None = None
    trigger: str | None = None
    rises: bool = False
    triggered: bool = False
    armed: bool = True
    parent_id: int | None = None
    tpsl: str | None = None


class BookState(msgspec.Struct, frozen=True, array_like=True):
    symbol: str
    mark: Decimal
    bids: list[list[int]]  # per level, best first: its order ids in FIFO order
    asks: list[list[int]]


# A history entry in version 2: HistoryEntry's fields, in its order, as an array.
HistoryRow = tuple[
    int,
    int,
    str | None,
    str,
    Side,
    int,
    int,
    int,
    int,
    str,
    str,
    OrderStatus,
    bool,
    int,
    int | None,
    int | None,
]

H = TypeVar("H", HistoryEntry, HistoryRow)


class Snapshot(msgspec.Struct, Generic[H], frozen=True, kw_only=True):
    """Version 1 holds history entries as maps (HistoryEntry), version 2 as arrays
    (HistoryRow); everything else is the same."""

    version: int
    markets: list[MarketSpec]
    config: EngineConfig
    last_order_id: int
    last_history_id: int
    fees_collected: Decimal
    faucet_total: Decimal
    books: list[BookState]
    accounts: list[AccountState]
    orders: list[OrderState]
    history: list[H]
    fills: list[FillRecord] = []
    api_keys: list[tuple[str, str]] | UnsetType = UNSET  # UNSET (no key): not encoded
    # UNSET (left out of the bytes) while the sandbox store is empty, and always in the
    # canonical form: snapshots and state hashes of states without it are unchanged.
    sandbox: SandboxRecord | UnsetType = UNSET


class _Version(msgspec.Struct):
    version: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Snapshot[HistoryEntry])
_decoder_v2 = msgspec.msgpack.Decoder(Snapshot[HistoryRow])
_version_decoder = msgspec.msgpack.Decoder(_Version)


def encode(state: EngineState, *, sandbox: bool = True) -> bytes:
    """The snapshot, version FORMAT_VERSION. sandbox False: without the sandbox store (what a
    sandbox snapshot keeps, engine/cheats.py: nesting the store would grow it quadratically)."""
    snap = _capture(state)
    rows: list[HistoryRow] = [msgspec.structs.astuple(h) for h in snap.history]
    store = UNSET if not sandbox or state.sandbox.empty else state.sandbox.record()
    return _encoder.encode(
        msgspec.structs.replace(snap, version=FORMAT_VERSION, history=rows, sandbox=store)
    )


def canonical(state: EngineState) -> bytes:
    """The version-1 encoding of the state: the state hash's input (see the module doc)."""
    return _encoder.encode(_capture(state))


def _fifo(side: BookSide) -> list[list[int]]:
    return [[o.order_id for o in level.orders()] for level in side.levels_best_first()]


def _capture(state: EngineState) -> Snapshot[HistoryEntry]:
    # Orders are in id order already (inserted as accepted, restored by id), so the sort is
    # one linear pass; history_log is already in history-id order. The state hash runs this
    # twice at every start-up.
    all_orders = state.orders
    orders = list(map(all_orders.__getitem__, sorted(all_orders)))
    history = state.history_log
    return Snapshot(
        version=CANONICAL_VERSION,
        markets=list(state.markets.values()),
        config=state.config,
        last_order_id=state.last_order_id,
        last_history_id=state.last_history_id,
        fees_collected=state.fees_collected,
        faucet_total=state.faucet_total,
        books=[
            BookState(symbol, state.marks[symbol], _fifo(book.bids), _fifo(book.asks))
            for symbol, book in state.books.items()
        ],
        accounts=[_capture_account(state.accounts[a]) for a in sorted(state.accounts)],
        orders=[_capture_order(o) for o in orders],
        history=history,
        fills=state.fills,
        api_keys=list(state.api_keys.items()) or UNSET,
    )


def _capture_account(account: Account) -> AccountState:
    return AccountState(
        account.address,
        account.balance,
        sorted(account.agents),
        [
            PositionState(s, p.size_lots, p.cost_units, p.realized_pnl, p.created_at, p.updated_at)
            for s, p in sorted(account.positions.items())
        ],
        [
            SettingState(s, m.leverage, m.isolated, m.created_at, m.updated_at)
            for s, m in sorted(account.settings.items())
        ],
    )


def _capture_order(o: Order) -> OrderState:
    return OrderState(
        o.order_id,
        o.account,
        o.symbol,
        o.side,
        o.price_ticks,
        o.initial_lots,
        o.filled_lots,
        o.filled_units,
        o.cancelled_lots,
        o.tif,
        o.reduce_only,
        o.client_order_id,
        o.status,
        o.reason,
        o.created_at,
        o.updated_at,
        o.order_type,
        o.stop_ticks,
        o.trigger,
        o.rises,
        o.triggered,
        o.armed,
        o.parent_id,
        o.tpsl,
    )


# What every snapshot this module writes starts with: a map of at most 15 entries (a fixmap,
# one byte 0x8N; 12 without the fields that are left out while unset: api_keys, sandbox) whose
# first key is "version" (Snapshot's first field); the next byte is the version as a positive
# fixint.
_VERSION_KEY = b"\xa7version"


def _version(data: bytes) -> int:
    """The snapshot's version, read from its first bytes when it has the layout `encode`
    writes (decoding just the version otherwise walks the whole snapshot); any other layout
    goes through the decoder."""
    if len(data) > 9 and data[0] >> 4 == 0x8 and data[1:9] == _VERSION_KEY and data[9] < 0x80:
        return data[9]
    return _version_decoder.decode(data).version


def decode(data: bytes) -> EngineState:
    """The state of a snapshot of any version in READABLE_VERSIONS."""
    version = _version(data)
    if version == FORMAT_VERSION:
        snap = _decoder_v2.decode(data)
        log = list(starmap(HistoryEntry, snap.history))
        return _restore(snap, log)
    if version == CANONICAL_VERSION:
        old = _decoder.decode(data)
        return _restore(old, old.history)
    raise ValueError(
        f"unsupported engine snapshot version {version} "
        f"(this engine reads versions {', '.join(map(str, READABLE_VERSIONS))})"
    )


def _restore(
    snap: Snapshot[HistoryEntry] | Snapshot[HistoryRow], log: list[HistoryEntry]
) -> EngineState:
    """`log`: the snapshot's history entries, in its (history-id) order."""
    state = EngineState(snap.markets, snap.config)
    state.last_order_id = snap.last_order_id
    state.last_history_id = snap.last_history_id
    state.fees_collected = snap.fees_collected
    state.faucet_total = snap.faucet_total
    for a in snap.accounts:
        _restore_account(state, a)
    orders = state.orders
    accounts = state.accounts
    new_order = Order.__new__
    astuple = msgspec.structs.astuple
    # One pass in id order builds each order and every index of it but the books: resting
    # orders come to each account's open-order index in ascending id order, as they arrived.
    for o in snap.orders:
        # Built from the struct's fields in one tuple unpack, bypassing Order.__init__ (half
        # the cost per order; a snapshot holds every order ever placed). The targets are
        # OrderState's fields in its order; test_snapshot_versions checks every slot.
        order = new_order(Order)
        (
            order.order_id,
            order.account,
            order.symbol,
            order.side,
            order.price_ticks,
            order.initial_lots,
            order.filled_lots,
            order.filled_units,
            order.cancelled_lots,
            order.tif,
            order.reduce_only,
            order.client_order_id,
            order.status,
            order.reason,
            order.created_at,
            order.updated_at,
            order.order_type,
            order.stop_ticks,
            order.trigger,
            order.rises,
            order.triggered,
            order.armed,
            order.parent_id,
            order.tpsl,
        ) = astuple(o)
        order.remaining_lots = order.initial_lots - order.filled_lots - order.cancelled_lots
        order.level = order.prev = order.next = None
        order.history = ()
        order_id = order.order_id
        orders[order_id] = order
        owner = accounts[order.account]
        owner.order_ids.append(order_id)
        cloid = order.client_order_id
        if cloid is not None:
            owner.cloids[cloid] = order_id
        if order.status not in TERMINAL:
            # open: on a book, or a pending stop (orders.py's invariants)
            if order.stop_ticks is None or order.triggered:
                owner.index_open(order)
            else:
                index_pending(state, order)
    _attach_history(orders, log)
    state.history_log = log
    if snap.api_keys is not UNSET:
        state.api_keys = dict(snap.api_keys)
    for fill in snap.fills:
        state.record_fill(fill)
    if snap.sandbox is not UNSET:
        state.sandbox = SandboxBook.from_record(snap.sandbox)
    for b in snap.books:
        state.set_mark(b.symbol, b.mark)
        book = state.books[b.symbol]
        for levels in (b.bids, b.asks):
            for level_ids in levels:
                for order_id in level_ids:
                    book.add(orders[order_id])
    return state


def _attach_history(orders: dict[int, Order], log: list[HistoryEntry]) -> None:
    """Give each order its entries of the history-id-ordered log, oldest first."""
    for entry in log:
        order = orders[entry.order_id]
        order.history += (entry,)


def _restore_account(state: EngineState, a: AccountState) -> None:
    account = state.account(a.address)
    account.balance = a.balance
    account.agents = set(a.agents)
    for p in a.positions:
        account.positions[p.symbol] = Position(
            p.size_lots, p.cost_units, p.realized_pnl, p.created_at, p.updated_at
        )
        if p.size_lots > 0:
            state.long_lots[p.symbol] += p.size_lots
    for m in a.settings:
        account.settings[m.symbol] = MarginSetting(
            m.leverage, m.isolated, m.created_at, m.updated_at
        )
