"""`serve --market-maker`: a client of the exchange that keeps a ladder of quotes around each mark.

It is a bus subscriber (runtime/bus.py) that submits plain commands through the pipeline like
any client: its orders, fills, positions and balance are real and journaled, and a replay
rebuilds them without it. It reads the engine's views as the gateway does, never its state.

When it acts:
- at start: every market is quoted (a market without a mark is skipped); before quoting, its
  account is funded if new (no balance, no orders, no positions: a state dir where it never
  ran, or one reset since);
- on a delivery of someone else's command that concerns it: a mark that moved (`prices`), a
  change to its orders (a fill, a cancel by another cause) or its account (a fill's position,
  a faucet). Each such market is re-quoted: the ladder for the mark and position now, against
  what rests now (quotes.plan); nothing is sent when nothing differs.

What keeps it from spamming or looping: deliveries of its own commands are skipped (a quote
refused post-only would otherwise be re-sent forever), so a refused quote is tried again only
at the next outside change; a run of queued deliveries costs one command per market that
changed, since each re-quote reads the state at that moment. Its state is a few seqs and the
complaints it last logged.

What goes wrong stays inside it: a rejection (its margin used up, error 5; the price band; an
order limit) is logged once per market until it changes, and a failing submit (the sequencer
stopped) is logged; it never raises into the sequencer, and a fresh subscription replaces one
the bus dropped.

Determinism: its commands are a function of the state it reads. With `--durability process`
or `none` a command's delivery reaches it before the server reads a request that arrives after
the answer (the sequencer publishes synchronously, the maker's wake-up is queued before the
answer is sent, and its quotes skip the speedbump), so a client that waits for each answer
gets the same quotes for the same commands, in both process layouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence

from tidepool.config import LiquidityConfig
from tidepool.domain.errors import Reject
from tidepool.domain.markets import MarketSpec
from tidepool.engine.commands import Batch, Faucet
from tidepool.engine.engine import Engine
from tidepool.engine.events import (
    AgentBound,
    AgentRevoked,
    ApiKeyCreated,
    ApiKeyRevoked,
    BalanceChanged,
    Outcome,
    StateReplaced,
)
from tidepool.liquidity.quotes import batches, ladder, plan
from tidepool.runtime.bus import Delivery, Subscription
from tidepool.runtime.pipeline import Pipeline

log = logging.getLogger("tidepool.market_maker")


class MarketMaker:
    def __init__(
        self,
        pipeline: Pipeline,
        account: str,
        markets: Sequence[MarketSpec],
        cfg: LiquidityConfig,
    ) -> None:
        self._pipeline = pipeline
        self.account = account
        self._markets = {m.symbol: m for m in markets}
        self._cfg = cfg
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._own: set[int] = set()  # seqs of its commands whose deliveries are still to come
        self._complaints: dict[str, frozenset[str]] = {}  # what it last logged, per market
        self._working = False

    @property
    def _engine(self) -> Engine:
        # Read at each use: the sequencer may replace its engine (a rebuild after a failure).
        return self._pipeline.sequencer.engine

    @property
    def idle(self) -> bool:
        """Nothing queued for it and nothing in progress (tests wait for this)."""
        return not self._working and (self._sub is None or self._sub.pending == 0)

    async def start(self) -> None:
        """Fund (if new) and quote every market; then follow the bus. Returns once the first
        quotes rest, so the server announces itself with liquidity on its books."""
        self._subscribe()
        await self.requote(self._markets)
        self._task = asyncio.ensure_future(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sub is not None:
            self._sub.close()
            self._sub = None

    def _subscribe(self) -> None:
        topics = [("prices", "")]
        topics += [(name, self.account) for name in ("account_orders", "account_info")]
        self._sub = self._pipeline.sequencer.bus.subscribe(topics)

    async def _fund(self) -> None:
        """Fund the account if it is new: where the maker never ran, or after a reset took
        its history away (a maker that lost its balance trading is not refunded)."""
        engine = self._engine
        new = (
            engine.balance(self.account) == 0
            and not engine.positions(self.account)
            and not engine.orders_page(self.account, 1)[0]
        )
        if new:
            await self._submit(Faucet(account=self.account, amount=self._cfg.mm_balance))

    async def _follow(self) -> None:
        while True:
            sub = self._sub
            assert sub is not None
            delivery = await sub.get()
            if delivery is None:  # the bus dropped it (it fell far behind): start over
                log.warning("market maker: resubscribing after %s", sub.closed)
                self._subscribe()
                symbols: Iterable[str] = self._markets
            else:
                # One command's deliveries (one per topic) share its seq, and come in seq order.
                self._own = {seq for seq in self._own if seq >= delivery.seq}
                if delivery.seq in self._own:
                    continue
                symbols = self._concerned(delivery)
            self._working = True
            try:
                await self.requote(symbols)
            finally:
                self._working = False

    def _concerned(self, delivery: Delivery) -> list[str]:
        """The markets a delivery may have changed for the maker (all of them when its
        balance changed, since margin is cross, and after a sandbox revert or reset, which
        replaced every order and mark)."""
        symbols = {entry.symbol for entry in delivery.updates}
        for event in delivery.events:
            if isinstance(event, BalanceChanged | StateReplaced):
                return list(self._markets)
            if not isinstance(event, AgentBound | AgentRevoked | ApiKeyCreated | ApiKeyRevoked):
                symbols.add(event.symbol)  # the others are of one market
        return [s for s in self._markets if s in symbols]

    async def requote(self, symbols: Iterable[str]) -> None:
        """Bring each market's quotes to the ladder for its mark and the maker's position."""
        await self._fund()
        for symbol in symbols:
            try:
                if not await self._requote(symbol):
                    return
            except Exception:  # a bug of its own: logged, and the server goes on without it
                log.exception("market maker: re-quoting %s failed", symbol)

    async def _requote(self, symbol: str) -> bool:
        """False when the pipeline took no command (the sequencer stopped)."""
        engine = self._engine
        mark = engine.mark_price(symbol)
        if mark <= 0:  # a market without a mark yet: nothing to quote around
            return True
        position = next((p for p in engine.positions(self.account) if p.symbol == symbol), None)
        signed = 0 if position is None else position.size_lots
        if position is not None and position.side == "ask":
            signed = -signed
        cfg = self._cfg
        spec = self._markets[symbol]
        quotes = ladder(spec, mark, signed, cfg.mm_levels, cfg.mm_spread_bps, cfg.mm_notional)
        resting = [o for o in engine.open_orders(self.account) if o.symbol == symbol]
        complaints: set[str] = set()
        for actions in batches(plan(self.account, symbol, quotes, resting)):
            outcome = await self._submit(Batch(actions=actions))
            if outcome is None:
                return False
            complaints.update(
                _complaint(r.reject) for r in outcome.results or () if r.reject is not None
            )
        self._complain(symbol, frozenset(complaints))
        return True

    async def _submit(self, cmd: Batch | Faucet) -> Outcome | None:
        """Through the pipeline like any client's command; None if it could not be run."""
        try:
            outcome = await self._pipeline.submit(cmd)
        except Exception as exc:  # the sequencer stopped, or the command failed: never raise
            log.error("market maker: %s not submitted: %s", type(cmd).__name__, exc)
            return None
        if outcome.events:
            self._own.add(outcome.events[0].seq)
        return outcome

    def _complain(self, symbol: str, complaints: frozenset[str]) -> None:
        """Log what the engine refused, once per market until that changes."""
        if complaints == self._complaints.get(symbol, frozenset()):
            return
        self._complaints[symbol] = complaints
        if complaints:
            log.warning(
                "market maker %s: some %s quotes refused (%s); it quotes what it can and tries "
                "again when the mark, its orders or its account change",
                self.account,
                symbol,
                "; ".join(sorted(complaints)),
            )
        else:
            log.info("market maker %s: quoting %s in full again", self.account, symbol)


def _complaint(reject: Reject) -> str:
    """A rejection without its amounts and address ("error 5 Insufficient balance"), so
    the same refusal logs once however the numbers move."""
    return f"error {reject.code} {reject.message.split(':')[0].split(' for ')[0]}"
