"""Cancel every open order: of one market, then of all markets."""

from tidepool_env import client

with client() as c:
    c.create_order(symbol="BTC", price="95000", amount="0.001", side="bid")
    c.create_order(symbol="BTC", price="96000", amount="0.001", side="bid")
    c.create_order(symbol="SOL", price="140", amount="1", side="bid")
    print("cancelled in BTC:", c.cancel_all_orders(symbol="BTC"))
    print("cancelled in every market:", c.cancel_all_orders())
    assert not c.orders()
