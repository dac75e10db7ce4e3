"""What durability costs per command: µs per submit through the Sequencer, per mode.

Standalone: `python bench/journal_cost.py [--n 20000]`. Uses a no-op engine so the numbers are
the sequencer + journal alone (seq, clock, encode, append, durability wait), on a temporary state
dir on the same filesystem as the repository (fsync cost depends entirely on that disk).

Rows:
- none           MemoryStore; the floor (sequencing + in-memory rollback log)
- process        os.write of each record before the answer (survives kill -9)
- fsync, serial  one request in flight: every submit waits for its own fsync
- fsync, 64 conc 64 requests in flight: group commit shares fsyncs (fsyncs/submit printed)
- raw fsync      os.fsync after a 100-byte append, no asyncio: the disk's price
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tidepool.engine.commands import Command, Faucet
from tidepool.engine.events import Outcome
from tidepool.journal.framing import encode_record
from tidepool.runtime.clock import ManualClock
from tidepool.runtime.sequencer import Durability, Sequencer

ROOT = Path(__file__).resolve().parent.parent
OUTCOME = Outcome(events=[])


class NullEngine:
    def __init__(self, markets: Any = (), config: Any = None) -> None:
        pass

    def apply(self, cmd: Command) -> Outcome:
        return OUTCOME

    def replay(self, cmd: Command) -> None:
        pass

    def snapshot(self) -> bytes:
        return b"null"

    @classmethod
    def restore(cls, data: bytes) -> NullEngine:
        return cls()

    def state_hash(self) -> str:
        return "null"

    def check_invariants(self) -> None:
        pass


def build(seq: int, ts: int) -> Command:
    return Faucet(seq=seq, ts_ms=ts, account="bench-account-0123456789", amount=Decimal(100))


async def submit_all(seqr: Sequencer, n: int, concurrency: int) -> float:
    async def worker(count: int) -> None:
        for _ in range(count):
            await seqr.submit(build(0, 0))  # the sequencer stamps seq and time

    start = time.perf_counter()
    await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    await seqr.close()
    return elapsed / (n // concurrency * concurrency) * 1e6


def run_mode(tmp: Path, durability: Durability, n: int, concurrency: int) -> tuple[float, str]:
    state_dir = tmp / f"{durability}-{concurrency}"
    seqr = Sequencer.open(
        state_dir,
        (),
        None,
        ManualClock(),
        durability,
        10**9,
        engine_cls=NullEngine,
    )
    us = asyncio.run(submit_all(seqr, n, concurrency))
    extra = f"{seqr.fsync_count / n:.3f} fsyncs/submit" if durability == "fsync" else ""
    return us, extra


def raw_fsync_us(tmp: Path, n: int) -> float:
    fd = os.open(tmp / "raw", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    record = b"x" * 100
    start = time.perf_counter()
    for _ in range(n):
        os.write(fd, record)
        os.fsync(fd)
    elapsed = time.perf_counter() - start
    os.close(fd)
    return elapsed / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000, help="submits for none/process")
    parser.add_argument("--n-fsync", type=int, default=2_000, help="submits for serial fsync")
    args = parser.parse_args()
    cmd = build(1, 1)
    start = time.perf_counter()
    for _ in range(args.n):
        encode_record(cmd)
    encode_us = (time.perf_counter() - start) / args.n * 1e6
    print(f"record: {len(encode_record(cmd))} bytes, encode {encode_us:.2f} µs")
    with tempfile.TemporaryDirectory(dir=ROOT) as name:
        tmp = Path(name)
        rows = [
            ("none", *run_mode(tmp, "none", args.n, 1)),
            ("process", *run_mode(tmp, "process", args.n, 1)),
            ("fsync, serial", *run_mode(tmp, "fsync", args.n_fsync, 1)),
            ("fsync, 64 conc", *run_mode(tmp, "fsync", args.n, 64)),
            ("raw fsync", raw_fsync_us(tmp, args.n_fsync), ""),
        ]
    for label, us, extra in rows:
        print(f"{label:<16}{us:>9.1f} µs/submit  {extra}")


if __name__ == "__main__":
    main()
