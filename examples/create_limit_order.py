"""Rest a limit bid below the market, find it among the open orders, cancel it."""

from tidepool_env import client

with client() as c:
    ref = c.create_order(symbol="BTC", price="95000", amount="0.001", side="bid", tif="GTC")
    print(f"order {ref.order_id}, client order id {ref.client_order_id}")
    [order] = [o for o in c.orders() if o.order_id == ref.order_id]
    print(f"resting: {order.side} {order.initial_amount} {order.symbol} at {order.price}")
    c.cancel_order(symbol="BTC", order_id=ref.order_id)
