"""Cancel by order id, and by the client order id you chose when creating."""

import uuid

from tidepool_env import client

with client() as c:
    by_id = c.create_order(symbol="ETH", price="3000", amount="0.1", side="bid")
    c.cancel_order(symbol="ETH", order_id=by_id.order_id)
    print(f"cancelled order {by_id.order_id}")

    mine = str(uuid.uuid4())
    c.create_order(symbol="ETH", price="3000", amount="0.1", side="bid", client_order_id=mine)
    c.cancel_order(symbol="ETH", client_order_id=mine)
    print(f"cancelled the order with client order id {mine}")
