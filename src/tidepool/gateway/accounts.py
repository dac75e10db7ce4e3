"""Account reads (spec §4.6–4.8): /account, /positions, /account/settings (unsigned GETs by
address). The signed /account/leverage and /account/margin are rows of the operation table.

/account/settings answers the OLD shape, `data` = the list of margin settings, because that is
what ccxt parses (the newest shape wraps it in `{"margin_settings": [...], ...}`); only markets
that differ from the default (cross, max leverage) are listed.
"""

from __future__ import annotations

from tidepool.gateway import views
from tidepool.gateway.envelope import Response, ok
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.query import query_str
from tidepool.gateway.request import Request


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


async def settings(ex: Exchange, req: Request) -> Response:
    address = query_str(req, "account")
    return ok([views.margin_setting(m) for m in ex.engine.margin_settings(address)])
