"""Order reads: open orders and one order's history. (The signed order operations are rows of
the operation table, gateway.operations.)"""

from __future__ import annotations

from typing import Any

from tidepool.gateway import views
from tidepool.gateway.context import Exchange, Request
from tidepool.gateway.envelope import Response, error, ok
from tidepool.gateway.query import query_int, query_str


async def open_orders(ex: Exchange, req: Request) -> Response:
    account = query_str(req, "account")
    engine = ex.engine
    data: list[dict[str, Any]] = [
        views.open_order(ex.markets[o.symbol], o) for o in engine.open_orders(account)
    ]
    return ok(data, last_order_id=engine.last_order_id)


async def order_history_by_id(ex: Exchange, req: Request) -> Response:
    order_id = query_int(req, "order_id")
    entries = ex.engine.order_history(order_id)
    if not entries:
        return error(404, f"Order history not found for order ID: {order_id}")
    return ok([views.history_entry(ex.markets[h.symbol], h) for h in entries])
