"""Buy 0.001 BTC at market (IOC within 1 % of the mark), show the position, sell it back.

A market order needs someone on the other side: run the local server with `--market-maker`, or
put an ask and a bid on the book with another dev key first (examples/README.md shows how).
"""

import sys

from tidepool_env import client

from tidepool.client import NoReasonablePrice

with client() as c:
    try:
        ref = c.create_market_order(symbol="BTC", amount="0.001", side="bid", slippage_percent="1")
    except NoReasonablePrice:
        sys.exit("no ask near the mark: put one on the book first (examples/README.md)")
    print(f"market order {ref.order_id}")
    for position in c.positions():
        print(f"position: {position.side} {position.amount} {position.symbol}")
        print(f"  entry {position.entry_price}")
    c.create_market_order(
        symbol="BTC", amount="0.001", side="ask", slippage_percent="1", reduce_only=True
    )
    print("sold it back")
