"""Take profit and stop loss on an open position: buy at market, set both legs (they are
orders that close the position when the mark reaches them), then close the position.

Needs an ask and a bid on the BTC book: `tidepool serve --market-maker` quotes them
(examples/README.md).
"""

import sys

from tidepool_env import client

from tidepool.client import NoReasonablePrice, StopLeg

with client() as c:
    try:
        c.create_market_order(symbol="BTC", amount="0.001", side="bid", slippage_percent="1")
    except NoReasonablePrice:
        sys.exit("no ask near the mark: put one on the book first (examples/README.md)")
    c.set_position_tpsl(
        symbol="BTC",
        side="ask",  # the side that closes a long
        take_profit=StopLeg(stop_price="110000"),
        stop_loss=StopLeg(stop_price="90000"),
    )
    for leg in c.orders():
        print(f"{leg.order_type}: {leg.side} at {leg.stop_price}, reduce only {leg.reduce_only}")
    c.create_market_order(
        symbol="BTC", amount="0.001", side="ask", slippage_percent="1", reduce_only=True
    )
    c.cancel_all_orders(symbol="BTC")  # the legs, if closing the position left any
    print("closed")
