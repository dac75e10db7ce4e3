"""Child process for the crash-point tests: submit a seeded real-engine stream through a
Sequencer on a state dir, printing each acknowledged seq, until TIDEPOOL_CRASH_AT kills it.

usage: python crash_child.py STATE_DIR N SEED DURABILITY SNAPSHOT_EVERY [PACE_S]

PACE_S (default 0) sleeps between commands, so that a background snapshot child has time to
reach its crash point while the server is still submitting.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from real_stream import TS, real_stream

from tidepool.domain.markets import DEFAULT_MARKETS
from tidepool.engine.engine import EngineConfig
from tidepool.runtime.clock import ManualClock
from tidepool.runtime.sequencer import Sequencer


async def main(
    state_dir: Path, n: int, seed: int, durability: str, every: int, pace: float
) -> None:
    clock = ManualClock(TS)
    seqr = Sequencer.open(state_dir, DEFAULT_MARKETS, EngineConfig(), clock, durability, every)
    for cmd in real_stream(n, seed)[seqr.last_seq :]:
        clock.set(cmd.ts_ms)
        await seqr.submit(cmd)
        sys.stdout.write(f"{cmd.seq}\n")
        sys.stdout.flush()
        if pace:
            await asyncio.sleep(pace)
    await seqr.close()


if __name__ == "__main__":
    d, n, seed, durability, every, *rest = sys.argv[1:]
    pace = float(rest[0]) if rest else 0.0
    asyncio.run(main(Path(d), int(n), int(seed), durability, int(every), pace))
