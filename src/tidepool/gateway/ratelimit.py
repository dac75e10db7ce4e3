"""The request quota of API config keys (spec §3.7, A11): credits in a rolling 60 s window.

Pacifica meters credits per 60 s rolling window and reports them times ten, so that a
cancellation can cost half a credit: a standard request or action costs 1 credit (10 units),
a cancellation (cancel, cancel all, stop cancel) 0.5 (5 units). Tidepool keeps that arithmetic
with one configurable quota (`serve --rate-limit N`: N credits per window), counted per
account: every key of an account draws on the same budget, as Pacifica's quota belongs to the
account, not to a key (so five keys do not give five budgets). Requests without a key are not
metered: locally every client shares one IP address, so Pacifica's per-IP quota would only
make clients throttle each other.

A refused request costs nothing. `Usage` is what the answer reports: `remaining` and `quota`
in units, `reset_s` the seconds until the oldest charge in the window expires (credits come
back then). The meter reads no clock: callers pass the time, so tests move it by hand.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

WINDOW_MS = 60_000
UNITS_PER_CREDIT = 10
STANDARD_COST = UNITS_PER_CREDIT
CANCEL_COST = UNITS_PER_CREDIT // 2
CANCELS = frozenset({"cancel_order", "cancel_all_orders", "cancel_stop_order"})


class Usage(NamedTuple):
    remaining: int
    quota: int
    reset_s: int


def cost_of(op_type: str | None) -> int:
    """Units one request costs: `op_type` is its signed operation (None: any other request)."""
    return CANCEL_COST if op_type in CANCELS else STANDARD_COST


class _Window:
    __slots__ = ("charges", "spent")

    def __init__(self) -> None:
        self.charges: deque[tuple[int, int]] = deque()  # (at_ms, units), oldest first
        self.spent = 0


class RateMeter:
    """`credits` per WINDOW_MS for each account; None: no quota (the default, A11)."""

    def __init__(self, credits: int | None = None) -> None:
        self.quota = None if credits is None else credits * UNITS_PER_CREDIT
        self._windows: dict[str, _Window] = {}

    def charge(self, account: str, units: int, now_ms: int) -> tuple[bool, Usage | None]:
        """Charge `units` to the account if its window has room: (charged, usage after it).
        Without a quota every request is admitted and there is no usage to report."""
        quota = self.quota
        if quota is None:
            return True, None
        window = self._windows.get(account)
        if window is None:
            window = self._windows[account] = _Window()
        charges = window.charges
        while charges and charges[0][0] + WINDOW_MS <= now_ms:
            window.spent -= charges.popleft()[1]
        admitted = window.spent + units <= quota
        if admitted:
            charges.append((now_ms, units))
            window.spent += units
        reset_ms = charges[0][0] + WINDOW_MS - now_ms if charges else 0
        if not charges:  # nothing spent (a refusal of a cost above the whole quota)
            del self._windows[account]
        return admitted, Usage(quota - window.spent, quota, -(-reset_ms // 1000))
