"""The pipeline every front end hands plain commands to: REST routes, batch, WebSocket
operations, and the sandbox routes (later also the sandbox's market maker).

`Pipeline.submit(cmd)` is the one path of a state change in front of the engine:
1. the speedbump, decided from the command alone (speedbump.delayed): market orders and GTC/IOC
   creates, or a batch holding one, wait their random delay first;
2. the sequencer stamps seq and time, journals, applies and answers (runtime/sequencer.py);
3. a cancel_all without a bound is run in chunks of CANCEL_ALL_CHUNK orders, each its own
   journaled command, so a cancel_all of 100k orders never holds the event loop for long; the
   answer adds them up.

Authorization of an agent-signed command happens where its effect does, in the engine at apply
time (engine/admin.py `unauthorized`): a revocation processed while a create waits in the
speedbump refuses that create, in the live run and in every replay.
"""

from __future__ import annotations

import asyncio

from msgspec.structs import replace

from tidepool.engine.commands import CancelAllOrders, Command
from tidepool.engine.events import Outcome
from tidepool.runtime.sequencer import Sequencer
from tidepool.runtime.speedbump import OFF, Speedbump, delayed

# Orders one cancel_all command removes at most (~1 µs each in the engine): a cancel_all of 100k
# orders becomes 100 journaled chunks with other requests served in between, instead of one
# command that holds the event loop for ~100 ms (docs/wire-decisions.md).
CANCEL_ALL_CHUNK = 1000


class Pipeline:
    def __init__(self, sequencer: Sequencer, speedbump: Speedbump = OFF) -> None:
        self.sequencer = sequencer
        self.speedbump = speedbump
        # Commands submitted and not answered yet (the queue depth /metrics shows), and of
        # those the ones still waiting out the speedbump: plain ints, a few ns per command.
        self.in_flight = 0
        self.in_speedbump = 0

    async def submit(self, cmd: Command) -> Outcome:
        self.in_flight += 1
        try:
            if isinstance(cmd, CancelAllOrders) and cmd.limit is None:
                return await self._cancel_all(cmd)
            if delayed(cmd):
                self.in_speedbump += 1
                try:
                    await self.speedbump.wait()
                finally:
                    self.in_speedbump -= 1
            return await self.sequencer.submit(cmd)
        finally:  # answered, refused, or failed (SequencerStopped): out of the queue either way
            self.in_flight -= 1

    async def _cancel_all(self, cmd: CancelAllOrders) -> Outcome:
        # The scope is fixed when the request is taken: orders that arrive while the chunks run
        # (higher ids) are not cancelled, as if they had come after one atomic cancel_all.
        chunk = replace(
            cmd, up_to_order_id=self.sequencer.engine.last_order_id, limit=CANCEL_ALL_CHUNK
        )
        count = 0
        while True:
            outcome = await self.sequencer.submit(chunk)
            if outcome.reject is not None:
                return outcome
            count += outcome.cancelled_count or 0
            if not outcome.more:
                # Each chunk's events went out with it (the sequencer publishes per command).
                return Outcome(events=[], cancelled_count=count)
            await asyncio.sleep(0)  # let requests that arrived meanwhile in between two chunks
