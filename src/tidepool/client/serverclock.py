"""`ServerClock`: sign with a Tidepool server's time rather than this machine's.

A sandbox server's clock can be moved (`POST /sandbox/time`, docs/sandbox.md). A client signing
with the wall clock after the server's clock went a day ahead sends requests that expired a day
ago ("Invalid message"). Pass a `ServerClock` as a client's `clock=` option and `follow` each
reading of the server's time: it then answers the server's time, running on from that reading
with the wall clock, or standing still while the server's clock is frozen. Until the first
reading it is the wall clock.
"""

from __future__ import annotations

import time

from tidepool.client.sandbox_models import ServerTime

__all__ = ["ServerClock"]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ServerClock:
    def __init__(self) -> None:
        self._server_ms: int | None = None  # the server's time at the last reading
        self._wall_ms = 0  # the wall clock then
        self._frozen = False

    def follow(self, now: ServerTime) -> int:
        """Take a reading of the server's clock (what every /sandbox/time call answers)."""
        self._server_ms, self._wall_ms, self._frozen = now.now_ms, _wall_ms(), now.frozen
        return now.now_ms

    def __call__(self) -> int:
        """ms since the epoch, as the server's clock reads now."""
        if self._server_ms is None:
            return _wall_ms()
        return self._server_ms if self._frozen else self._server_ms + _wall_ms() - self._wall_ms
