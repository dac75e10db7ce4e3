"""The engine: a pure, deterministic state machine over Commands.

`Engine.apply(command) -> Outcome` is the ONLY mutating entry point; journal recovery's
`Engine.replay(command) -> None` is `apply` on a quiet Step (lifecycle.Step: the same path,
building neither events nor the Outcome). Every other public method
is a read that never mutates (unknown accounts read as empty). What `apply` returns:

| command          | success                                     | rejections (state unchanged)   |
|------------------|---------------------------------------------|--------------------------------|
| CreateOrder      | order_id; OrderAccepted (+ TP/SL legs),     | 3,400,36,30,7,8,10,23,21,22,5; |
|                  | fills, cancels, triggered stops' events     | legs 400,36                    |
| CreateMarketOrder| order_id; as CreateOrder, IOC remainder     | 3,400,36,25,7,8,10,23,21,22,5, |
|                  | cancelled                                   | 25 (nothing in reach); legs    |
| CancelOrder      | order_id; OrderCancelled(reason="cancel")   | ORDER_NOT_FOUND_ON_CANCEL      |
| EditOrder        | new order_id; OrderCancelled(reason="edit"),| ORDER_NOT_FOUND_ON_EDIT (6),   |
|                  | OrderAccepted (ALO, back of its level)      | 400,30,7,8,10,23,21,22,5       |
| CancelAllOrders  | cancelled_count (0 is a success); resting   | 3 unknown symbol               |
|                  | orders, then pending stop / TP / SL orders  |                                |
| CreateStopOrder  | order_id; OrderAccepted (pending, off book) | 3, 400, 36, 10                 |
| SetPositionTpsl  | OrderAccepted per leg (replacing old legs)  | 3, 400, 13, 17, 36, 10         |
| CancelStopOrder  | order_id; OrderCancelled(reason="cancel")   | ORDER_NOT_FOUND_ON_CANCEL      |
| UpdateLeverage   | MarginSettingChanged                        | 3, 11 out of range / decrease  |
|                  |                                             | with an open position          |
| UpdateMarginMode | MarginSettingChanged                        | 3, 12 with an open position    |
| Faucet           | BalanceChanged(reason="faucet")             | 400 non-positive amount        |
| SetMarkPrice     | MarkPriceSet, then triggered stops' events  | 3, 400 non-positive price      |
| BindAgent        | AgentBound                                  | -                              |
| RevokeAgent      | AgentRevoked                                | 400 agent not bound            |
| RevokeAllAgents  | one AgentRevoked per agent                  | -                              |
| CreateApiKey     | ApiKeyCreated                               | 422 limit of 5; 400 duplicate  |
| RevokeApiKey     | ApiKeyRevoked                               | 400 not an active key of it    |
| Batch            | results: one ActionResult per action, in    | never as a whole; each action  |
|                  | order, events concatenated                  | as on its own                  |
| SetBalance       | BalanceChanged(reason="set_balance")        | 400 negative balance           |
| SetMarkPrices    | as SetMarkPrice for each, in order          | 3, 400 (all or nothing)        |
| SetClock         | the clock mark moves (no event)             | 400 earlier than its own ts_ms |
| TakeSnapshot     | snapshot_id                                 | -                              |
| RevertSnapshot   | the state of that snapshot; StateReplaced   | 404 unknown snapshot id        |
| ResetState       | a new state; StateReplaced, then            | 400 non-positive credit        |
|                  | BalanceChanged per credit                   |                                |

Invariants:
- Purity: no clock, randomness, I/O or logging (a test scans this package's imports); time and
  sequence come from the command's `ts_ms`/`seq`, which every event carries.
- Determinism (I12): the same command stream gives byte-identical encoded events and the same
  `state_hash`, also across `snapshot()`/`restore()` at any point.
- A rejected command changes nothing (checks run before any mutation).
- Decimal arithmetic runs in `money.DECIMAL_CONTEXT`, whatever the caller's context is.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from msgspec import UNSET

from tidepool.domain.markets import MarketSpec
from tidepool.engine import (
    admin,
    apikeys,
    cheats,
    invariants,
    risk,
    settings,
    snapshot,
    stops,
    teardown,
)
from tidepool.engine.cancels import cancel_all_orders, cancel_order
from tidepool.engine.commands import (
    Batch,
    BindAgent,
    CancelAllOrders,
    CancelOrder,
    CancelStopOrder,
    Command,
    CreateApiKey,
    CreateMarketOrder,
    CreateOrder,
    CreateStopOrder,
    EditOrder,
    Faucet,
    ResetState,
    RevertSnapshot,
    RevokeAgent,
    RevokeAllAgents,
    RevokeApiKey,
    SetBalance,
    SetClock,
    SetMarkPrice,
    SetMarkPrices,
    SetPositionTpsl,
    TakeSnapshot,
    UpdateLeverage,
    UpdateMarginMode,
)
from tidepool.engine.config import EngineConfig
from tidepool.engine.edits import edit_order
from tidepool.engine.events import ActionResult, Event, Outcome
from tidepool.engine.invariants import InvariantBroken
from tidepool.engine.lifecycle import Step
from tidepool.engine.matching import create_market_order, create_order
from tidepool.engine.money import average_price, in_decimal_context, margin
from tidepool.engine.sandbox import ClockMark
from tidepool.engine.state import EngineState
from tidepool.engine.views import (
    AccountSummary,
    FillRecord,
    HistoryEntry,
    MarginSettingRecord,
    OrderRecord,
    PositionRecord,
)

__all__ = ["Engine", "EngineConfig", "InvariantBroken"]


DEFAULT_CONFIG = EngineConfig()


def _batch(state: EngineState, step: Step, batch: Batch) -> Outcome:
    """Each action as on its own (its own Step), in order; their events concatenated."""
    events: list[Event] = []
    results: list[ActionResult] = []
    for action in batch.actions:
        outcome = _apply(state, action, step.quiet)
        events += outcome.events
        results.append(ActionResult(reject=outcome.reject, order_id=outcome.order_id))
    return Outcome(events=events, results=results)


# The one dispatch table: one handler per command type. Handlers that compute with Decimal
# money run in the engine's decimal context (`in_decimal_context`, nested calls included).
# Cancels and agent commands touch only ints and strings, and a limit create's checks are
# integers (fixedpoint.py): they skip the switch (~0.3 µs, near a tenth of a create or a
# cancel); what a create computes in Decimal (fills, triggered stops, reject messages) enters
# the context where it does. test_admin_and_reads.py runs every kind under a caller context
# that traps any rounding made outside the engine's.
_HANDLERS: dict[type[Any], Callable[[EngineState, Step, Any], Outcome]] = {
    CreateOrder: create_order,
    CreateMarketOrder: in_decimal_context(create_market_order),
    CancelOrder: cancel_order,
    EditOrder: in_decimal_context(edit_order),
    CancelAllOrders: cancel_all_orders,
    CreateStopOrder: in_decimal_context(stops.create_stop_order),
    SetPositionTpsl: in_decimal_context(stops.set_position_tpsl),
    CancelStopOrder: stops.cancel_stop_order,
    UpdateLeverage: in_decimal_context(settings.update_leverage),
    UpdateMarginMode: in_decimal_context(settings.update_margin_mode),
    Faucet: in_decimal_context(admin.faucet),
    SetMarkPrice: in_decimal_context(admin.set_mark_price),
    BindAgent: admin.bind_agent,
    RevokeAgent: admin.revoke_agent,
    RevokeAllAgents: admin.revoke_all_agents,
    CreateApiKey: apikeys.create_api_key,
    RevokeApiKey: apikeys.revoke_api_key,
    Batch: in_decimal_context(_batch),
    # the sandbox's cheats (engine/cheats.py)
    SetBalance: in_decimal_context(cheats.set_balance),
    SetMarkPrices: in_decimal_context(cheats.set_mark_prices),
    SetClock: cheats.set_clock,
    TakeSnapshot: cheats.take_snapshot,
    RevertSnapshot: cheats.revert_snapshot,
    ResetState: in_decimal_context(cheats.reset_state),
}


def _apply(state: EngineState, cmd: Command, quiet: bool) -> Outcome:
    """The one way in for every command, a batch's actions included: a command signed by an
    agent is authorized first (admin.unauthorized), then its handler runs on the command's
    Step. `quiet` (replay): the Step skips events and the Outcome (lifecycle.Step)."""
    if cmd.agent_wallet is not UNSET and (refused := admin.unauthorized(state, cmd)):
        return refused
    handler = _HANDLERS.get(type(cmd))
    if handler is None:
        raise TypeError(f"not a command: {cmd!r}")
    return handler(state, Step(cmd.seq, cmd.ts_ms, quiet), cmd)


class Engine:
    def __init__(
        self, markets: Sequence[MarketSpec], config: EngineConfig = DEFAULT_CONFIG
    ) -> None:
        self._state = EngineState(markets, config)

    @classmethod
    def _from_state(cls, state: EngineState) -> Engine:
        engine = cls.__new__(cls)
        engine._state = state
        return engine

    @property
    def markets(self) -> dict[str, MarketSpec]:
        return self._state.markets

    @property
    def config(self) -> EngineConfig:
        return self._state.config

    @property
    def last_order_id(self) -> int:
        return self._state.last_order_id

    def apply(self, cmd: Command) -> Outcome:
        return _apply(self._state, cmd, False)

    def replay(self, cmd: Command) -> None:
        """Re-apply a journaled command (recovery): `apply` on a quiet Step, which builds no
        events and no Outcome (nobody reads them); the state changes exactly as `apply`'s."""
        _apply(self._state, cmd, True)

    # ---- reads -------------------------------------------------------------------------------

    @in_decimal_context
    def open_orders(self, account: str) -> list[OrderRecord]:
        """The account's resting orders and pending stop orders, ascending order id."""
        state = self._state
        acc = state.accounts.get(account)
        if acc is None:
            return []
        orders = (state.orders[i] for i in sorted((*acc.open_ids, *acc.stop_ids)))
        return [o.record(state.markets[o.symbol]) for o in orders]

    def open_order_count(self, account: str) -> int:
        """len(open_orders(account)), without building the records."""
        acc = self._state.accounts.get(account)
        return 0 if acc is None else len(acc.open_ids) + len(acc.stop_ids)

    @property
    def open_order_total(self) -> int:
        """Resting and pending stop orders of every account (/metrics reads it per scrape)."""
        return sum(len(a.open_ids) + len(a.stop_ids) for a in self._state.accounts.values())

    def account_addresses(self, limit: int) -> list[str]:
        """Up to `limit` addresses of accounts the state holds (--explain-auth tries them)."""
        return [address for address, _ in zip(self._state.accounts, range(limit), strict=False)]

    @property
    def order_count(self) -> int:
        """Orders ever accepted, open and terminal: the bulk of the state's size."""
        return len(self._state.orders)

    @in_decimal_context
    def order(self, order_id: int) -> OrderRecord | None:
        """Any order ever accepted, open or terminal."""
        order = self._state.orders.get(order_id)
        return None if order is None else order.record(self._state.markets[order.symbol])

    @in_decimal_context
    def orders_page(
        self, account: str, limit: int, before_order_id: int | None = None
    ) -> tuple[list[OrderRecord], bool]:
        """The account's orders (any state), newest first, below `before_order_id`; and
        whether older ones remain."""
        state = self._state
        acc = state.accounts.get(account)
        ids = [] if acc is None else acc.order_ids
        end = len(ids) if before_order_id is None else bisect_left(ids, before_order_id)
        start = max(0, end - max(limit, 0))
        page = [state.orders[i] for i in reversed(ids[start:end])]
        return [o.record(state.markets[o.symbol]) for o in page], start > 0

    def fills_page(
        self,
        account: str,
        limit: int,
        *,
        symbol: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        before_history_id: int | None = None,
    ) -> tuple[list[FillRecord], bool]:
        """The account's fills, newest first, filtered (times inclusive), below
        `before_history_id`; and whether more matching ones remain."""
        fills = self._state.fills_by_account.get(account, [])
        end = len(fills)
        if before_history_id is not None:
            end = bisect_left(fills, before_history_id, key=lambda f: f.history_id)
        out: list[FillRecord] = []
        for i in range(end - 1, -1, -1):
            f = fills[i]
            if start_ms is not None and f.created_at < start_ms:
                break
            if (symbol is not None and f.symbol != symbol) or (
                end_ms is not None and f.created_at > end_ms
            ):
                continue
            if len(out) == limit:
                return out, True
            out.append(f)
        return out, False

    def recent_trades(self, symbol: str, limit: int) -> list[FillRecord]:
        """The market's latest public trades (taker sides), newest first."""
        trades = self._state.trades.get(symbol, [])
        return trades[: -limit - 1 : -1] if limit > 0 else []

    def trades_between(self, symbol: str, start_ms: int, end_ms: int) -> list[FillRecord]:
        """Public trades with start_ms <= created_at < end_ms, oldest first."""
        trades = self._state.trades.get(symbol, [])
        lo = bisect_left(trades, start_ms, key=lambda f: f.created_at)
        hi = bisect_left(trades, end_ms, lo, key=lambda f: f.created_at)
        return trades[lo:hi]

    def public_trade_of(self, symbol: str, maker_history_id: int) -> FillRecord | None:
        """The public trade (taker side) of the fill whose maker side is `maker_history_id`
        (OrderFilled.history_id): the taker's entry is logged right after the maker's, so it is
        the market's first public trade with a higher history id."""
        trades = self._state.trades.get(symbol, [])
        i = bisect_right(trades, maker_history_id, key=lambda f: f.history_id)
        return trades[i] if i < len(trades) else None

    def trade_before(self, symbol: str, ts_ms: int) -> FillRecord | None:
        """The market's last public trade with created_at < ts_ms (where a candle starts)."""
        trades = self._state.trades.get(symbol, [])
        i = bisect_left(trades, ts_ms, key=lambda f: f.created_at)
        return trades[i - 1] if i else None

    def margin_settings(self, account: str) -> list[MarginSettingRecord]:
        """Markets where the account left the default (cross, max leverage), by symbol."""
        acc = self._state.accounts.get(account)
        if acc is None:
            return []
        return [
            MarginSettingRecord(
                symbol=symbol,
                isolated=m.isolated,
                leverage=m.leverage,
                created_at=m.created_at,
                updated_at=m.updated_at,
            )
            for symbol, m in sorted(acc.settings.items())
        ]

    @property
    def last_history_id(self) -> int:
        return self._state.last_history_id

    def order_updates_since(self, history_id: int) -> list[tuple[str, HistoryEntry]]:
        """Every order change after `history_id`, oldest first, with the account it belongs
        to: what one command did to each order it touched (one entry per change, immutable;
        history ids are contiguous from 1, so this is a slice of the log)."""
        state = self._state
        return [(state.orders[h.order_id].account, h) for h in state.history_log[history_id:]]

    def order_history(self, order_id: int) -> list[HistoryEntry]:
        """Every lifecycle event of the order, newest first; [] if unknown."""
        order = self._state.orders.get(order_id)
        return [] if order is None else list(order.history[::-1])

    def depth(
        self, symbol: str, levels: int = 10
    ) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """(price_ticks, size_lots, order_count) per level: bids descending, asks ascending."""
        book = self._state.books.get(symbol)
        if book is None:
            return [], []
        return book.depth(True, levels), book.depth(False, levels)

    def mark_price(self, symbol: str) -> Decimal:
        return self._state.marks[symbol]

    @in_decimal_context
    def open_interest(self, symbol: str) -> Decimal:
        """Sum of long position sizes (== sum of short ones) in the market's base asset."""
        return self._state.long_lots[symbol] * self._state.markets[symbol].lot_size

    def balance(self, account: str) -> Decimal:
        acc = self._state.accounts.get(account)
        return Decimal(0) if acc is None else acc.balance

    @in_decimal_context
    def positions(self, account: str) -> list[PositionRecord]:
        """Open positions, sorted by symbol."""
        state = self._state
        acc = state.accounts.get(account)
        if acc is None:
            return []
        out: list[PositionRecord] = []
        for symbol, p in sorted(acc.positions.items()):
            spec = state.markets[symbol]
            size = abs(p.size_lots)
            notional = size * spec.lot_size * state.marks[symbol]
            out.append(
                PositionRecord(
                    symbol=symbol,
                    side="bid" if p.size_lots > 0 else "ask",
                    size_lots=size,
                    entry_price=average_price(spec, abs(p.cost_units), size),
                    realized_pnl=p.realized_pnl,
                    margin=margin(notional, risk.leverage(state, acc, symbol)),
                    isolated=symbol in acc.settings and acc.settings[symbol].isolated,
                    created_at=p.created_at,
                    updated_at=p.updated_at,
                )
            )
        return out

    @in_decimal_context
    def account_summary(self, account: str) -> AccountSummary:
        return risk.summary(self._state, account)

    def clock_mark(self) -> ClockMark | None:
        """The last SetClock (None: never set): where the server clock stands."""
        return self._state.sandbox.clock

    def take_replaced(self) -> Iterator[None] | None:
        """The freeing, in pieces (engine/teardown.py), of the state the last revert or reset
        replaced, if nobody took it yet. Run it between other work: each piece is short. Left
        alone, that state is freed at once by the next revert or reset."""
        state = self._state
        replaced = state.replaced
        if replaced is None:
            return None
        state.replaced = None
        return teardown.pieces(replaced)

    def snapshot_ids(self) -> list[int]:
        """The sandbox snapshots a revert can go back to, ascending."""
        return list(self._state.sandbox.snapshots)

    def agents(self, account: str) -> list[str]:
        acc = self._state.accounts.get(account)
        return [] if acc is None else sorted(acc.agents)

    def is_agent(self, account: str, agent: str) -> bool:
        acc = self._state.accounts.get(account)
        return acc is not None and agent in acc.agents

    def api_keys(self, account: str) -> list[str]:
        """The account's active API config keys, oldest first."""
        return apikeys.keys_of(self._state, account)

    def api_key_owner(self, api_key: str) -> str | None:
        """The account an active API config key belongs to; None if unknown or revoked."""
        return self._state.api_keys.get(api_key)

    # ---- persistence and checks --------------------------------------------------------------

    def snapshot(self) -> bytes:
        """Deterministic msgpack bytes of the whole state: same state, same bytes."""
        return snapshot.encode(self._state)

    @classmethod
    def restore(cls, data: bytes) -> Engine:
        """An engine that behaves exactly like the one `data` was taken from."""
        return cls._from_state(snapshot.decode(data))

    def state_hash(self) -> str:
        """Hex blake2b (64-byte digest) of the state's canonical encoding: the version-1
        snapshot bytes (snapshot.canonical), whatever version `snapshot()` writes, so a hash
        means the same state before and after a snapshot format change."""
        return hashlib.blake2b(snapshot.canonical(self._state)).hexdigest()

    @in_decimal_context
    def check_invariants(self) -> None:
        """Raise InvariantBroken naming the first broken invariant."""
        invariants.check(self._state)
