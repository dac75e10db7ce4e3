"""What every route handler needs: the pipeline (and through it the sequencer and the engine),
markets, clock, the signature policy. One instance per server; handlers never hold engine
references because the sequencer may replace its engine after an unexpected failure (rebuild
from the journal).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tidepool.domain.markets import MarketSpec
from tidepool.engine.engine import Engine
from tidepool.gateway.metrics import RequestStats
from tidepool.gateway.ratelimit import RateMeter
from tidepool.gateway.verify import ReplayGuard, VerifyPolicy
from tidepool.runtime.clock import SandboxClock
from tidepool.runtime.forkread import ForkedReads
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Sequencer


@dataclass(frozen=True)
class DevKeys:
    """The dev accounts the server derived from its seed (server/devaccounts.py), as
    `/sandbox/accounts` lists them and `/sandbox/reset` funds them again."""

    keys: tuple[tuple[str, str], ...] = ()  # (public key, base58 secret), by index
    balance: Decimal = Decimal(0)  # what each is funded with


@dataclass
class Exchange:
    # What every route hands its plain commands to (speedbump, chunking, the sequencer).
    pipeline: Pipeline
    clock: SandboxClock  # the wall clock unless the sandbox moved it (`/sandbox/time`)
    markets: dict[str, MarketSpec]
    policy: VerifyPolicy = field(default_factory=VerifyPolicy)
    replay_guard: ReplayGuard | None = None
    forked: ForkedReads = field(default_factory=ForkedReads)
    meter: RateMeter = field(default_factory=RateMeter)  # API keys' quota; none by default
    stats: RequestStats = field(default_factory=RequestStats)  # what /metrics reports
    explain_auth: bool = False  # log why a signature was refused (gateway.explain)
    dev: DevKeys = field(default_factory=DevKeys)

    @property
    def sequencer(self) -> Sequencer:
        return self.pipeline.sequencer

    @property
    def engine(self) -> Engine:
        return self.pipeline.sequencer.engine
