"""The pipeline below every front end: a plain command waits out the speedbump (speedbump),
is stamped, journaled and applied by the single writer (sequencer), and its events go to the
bus (bus); pipeline ties them together. The clock is here so tests and the sandbox can move it.
Reads whose cost grows with the whole state run in forked children (forkread).
"""

from tidepool.runtime.bus import Bus, Delivery, Subscription, Topic
from tidepool.runtime.clock import Clock, ManualClock, SandboxClock, SystemClock
from tidepool.runtime.pipeline import Pipeline
from tidepool.runtime.sequencer import Durability, Sequencer
from tidepool.runtime.speedbump import Speedbump

__all__ = [
    "Bus",
    "Clock",
    "Delivery",
    "Durability",
    "ManualClock",
    "Pipeline",
    "SandboxClock",
    "Sequencer",
    "Speedbump",
    "Subscription",
    "SystemClock",
    "Topic",
]
