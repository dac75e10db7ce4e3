"""The unsigned reads: markets, prices, the book, trades, candles, and an account's state."""

import time

from tidepool_env import client

with client() as c:
    for market in c.info():
        print(f"{market.symbol}: tick {market.tick_size}, lot {market.lot_size}")
    for price in c.prices():
        print(f"{price.symbol}: mark {price.mark}")
    book = c.book("BTC")
    print(f"BTC book: {len(book.bids)} bid levels, {len(book.asks)} ask levels")
    print(f"recent BTC trades: {len(c.trades('BTC'))}")
    hour_ago = int(time.time() * 1000) - 3_600_000
    print(f"1m candles in the last hour: {len(c.kline('BTC', '1m', hour_ago))}")
    account = c.account()
    print(f"balance {account.balance}, equity {account.account_equity}")
    print(f"{len(c.positions())} positions, {len(c.orders())} open orders")
    print(f"{len(c.order_history(limit=10))} orders in the latest history page")
    print(f"{len(c.trade_history(limit=10))} fills in the latest page")
