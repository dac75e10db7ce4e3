"""Several actions in one request, applied in order as one block; each has its own result."""

from tidepool_env import client

from tidepool.client import actions

with client() as c:
    made = c.batch_orders(
        [
            actions.create_order(symbol="BTC", price="95000", amount="0.001", side="bid"),
            actions.create_order(symbol="BTC", price="105000", amount="0.001", side="ask"),
        ]
    )
    for result in made:
        print(f"created: {result.success}, order {result.order_id}")
    cancelled = c.batch_orders(
        [actions.cancel_order(symbol="BTC", order_id=r.order_id) for r in made]
    )
    print("cancelled:", [r.success for r in cancelled])
