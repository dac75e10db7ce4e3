"""Buy 0.001 BTC at market (IOC within 1 % of the mark), show the position, sell it back.

A market order needs someone on the other side. On a fresh local server, put an ask and a bid
there with another dev account first, e.g. (dev account 1 of seed 0):

    export KEY1=$(tidepool accounts --json | python -c "import json,sys; \
        print(json.load(sys.stdin)['accounts'][1]['secret_key'])")
    TIDEPOOL_KEY=$KEY1 tidepool order create --symbol BTC --side ask --price 100100 --amount 0.01
    TIDEPOOL_KEY=$KEY1 tidepool order create --symbol BTC --side bid --price 99900 --amount 0.01
"""

import sys

from tidepool_env import client

from tidepool.client import NoReasonablePrice

with client() as c:
    try:
        ref = c.create_market_order(symbol="BTC", amount="0.001", side="bid", slippage_percent="1")
    except NoReasonablePrice:
        sys.exit("no ask within 1 % of the mark: put one on the book first (see this docstring)")
    print(f"market order {ref.order_id}")
    for position in c.positions():
        print(f"position: {position.side} {position.amount} {position.symbol}")
        print(f"  entry {position.entry_price}")
    c.create_market_order(
        symbol="BTC", amount="0.001", side="ask", slippage_percent="1", reduce_only=True
    )
    print("sold it back")
