"""Move a resting order to a new price: edit cancels it and places a new (post-only) order,
whose id the answer gives."""

from tidepool_env import client

with client() as c:
    old = c.create_order(symbol="BTC", price="95000", amount="0.001", side="bid")
    new = c.edit_order(symbol="BTC", order_id=old.order_id, price="95500", amount="0.002")
    [order] = [o for o in c.orders() if o.order_id == new.order_id]
    print(
        f"order {old.order_id} is now order {new.order_id}: {order.initial_amount} at {order.price}"
    )
    c.cancel_order(symbol="BTC", order_id=new.order_id)
