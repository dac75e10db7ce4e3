"""A WebSocket subscription: the account's open orders, pushed at once and after each change.

Subscribes, places an order over REST, prints the push that shows it, cancels it. The same JSON
lines come out of `tidepool watch account_orders`.
"""

import json

from tidepool_env import WS_URL, client
from websockets.sync.client import connect

with client() as c, connect(WS_URL) as ws:
    subscribe = {"source": "account_orders", "account": c.address}
    ws.send(json.dumps({"method": "subscribe", "params": subscribe}))

    def next_push() -> dict:
        while True:
            frame = json.loads(ws.recv(timeout=10))
            if frame["channel"] == "account_orders":
                return frame

    print("open orders on subscribe:", len(next_push()["data"]))
    ref = c.create_order(symbol="BTC", price="95000", amount="0.001", side="bid")
    push = next_push()
    while ref.order_id not in [order["i"] for order in push["data"]]:
        push = next_push()  # a push from before the order, if any
    print(f"pushed: order {ref.order_id} is open (li {push['li']})")
    c.cancel_order(symbol="BTC", order_id=ref.order_id)
