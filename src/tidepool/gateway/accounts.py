"""Account reads: /account, /positions (spec §4.6, §4.8). Unsigned GETs by address."""

from __future__ import annotations

from tidepool.gateway import views
from tidepool.gateway.context import Exchange, Request
from tidepool.gateway.query import query_str
from tidepool.wire.envelope import Response, ok


async def account(ex: Exchange, req: Request) -> Response:
    address = query_str(req, "account")
    engine = ex.engine
    summary = engine.account_summary(address)
    cfg = engine.config
    return ok(views.account(summary, cfg.maker_fee, cfg.taker_fee, ex.clock.now_ms()))


async def positions(ex: Exchange, req: Request) -> Response:
    address = query_str(req, "account")
    engine = ex.engine
    data = [views.position(ex.markets[p.symbol], p) for p in engine.positions(address)]
    return ok(data, last_order_id=engine.last_order_id)
