"""Order reads: open orders and one order's history. (The signed order operations are rows of
the operation table, gateway.operations.)"""

from __future__ import annotations

from tidepool.gateway import views
from tidepool.gateway.envelope import Response, error, ok
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.query import query_int, query_str
from tidepool.gateway.request import Request

# GET /orders renders an account's open orders on the event loop up to INLINE_OPEN_ORDERS
# (~1.3 us each: a few ms; the default --max-open-orders is 1000), in a forked child above it
# (runtime/forkread.py), so that one account's 12,000 orders (~50 ms, ~4 MB) never hold the
# other clients (issue 12). Unless the fork would cost more than rendering: fork copies the
# page tables, ~0.02-0.04 us per order the engine holds (every order ever), some 30x less than
# rendering one open order.
INLINE_OPEN_ORDERS = 2000
FORK_COST_RATIO = 30


async def open_orders(ex: Exchange, req: Request) -> Response:
    """Every open order of the account, at one seq (Pacifica has no pagination here)."""
    account = query_str(req, "account")
    engine = ex.engine
    count = engine.open_order_count(account)
    if count > INLINE_OPEN_ORDERS and count * FORK_COST_RATIO > engine.order_count:
        return Response(200, await ex.forked.run(lambda: _open_orders_body(ex, account)))
    return Response(200, _open_orders_body(ex, account))


def _open_orders_body(ex: Exchange, account: str) -> bytes:
    engine = ex.engine
    data = views.open_orders(ex.markets, engine.open_orders(account))
    return ok(data, last_order_id=engine.last_order_id).body


async def order_history_by_id(ex: Exchange, req: Request) -> Response:
    order_id = query_int(req, "order_id")
    entries = ex.engine.order_history(order_id)
    if not entries:
        return error(404, f"Order history not found for order ID: {order_id}")
    return ok([views.history_entry(ex.markets[h.symbol], h) for h in entries])
