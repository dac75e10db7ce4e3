"""A stop-market buy that triggers when the mark rises to 110000; then cancel it."""

from tidepool_env import client

from tidepool.client import StopLeg

with client() as c:
    ref = c.create_stop_order(
        symbol="BTC", side="bid", stop_order=StopLeg(stop_price="110000", amount="0.001")
    )
    [stop] = [o for o in c.orders() if o.order_id == ref.order_id]
    print(f"stop order {stop.order_id}: {stop.order_type}, triggers at {stop.stop_price}")
    c.cancel_stop_order(symbol="BTC", order_id=ref.order_id)
