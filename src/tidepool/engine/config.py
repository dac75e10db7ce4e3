"""Engine configuration: fee rates and limits. Part of the snapshot, so a restored engine keeps
the configuration it was built with."""

from __future__ import annotations

from decimal import Decimal

import msgspec


class EngineConfig(msgspec.Struct, frozen=True, kw_only=True):
    maker_fee: Decimal = Decimal("0.00015")
    taker_fee: Decimal = Decimal("0.0004")
    max_open_orders: int = 1000  # per account; error 10 beyond it
