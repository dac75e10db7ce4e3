"""Engine configuration: fee rates and limits. Part of the snapshot, so a restored engine keeps
the configuration it was built with."""

from __future__ import annotations

from decimal import Decimal

import msgspec


class EngineConfig(msgspec.Struct, frozen=True, kw_only=True):
    maker_fee: Decimal = Decimal("0.00015")
    taker_fee: Decimal = Decimal("0.0004")
    max_open_orders: int = 1000  # per account, stop orders included; error 10 beyond it
    # Error 30: a limit price further than this fraction of the mark away from it (None: off).
    price_band: Decimal | None = Decimal("0.5")
    # A triggered stop-market order executes as IOC bounded by this many percent from its
    # trigger reference price (mark or last trade).
    stop_market_slippage_percent: Decimal = Decimal(10)
