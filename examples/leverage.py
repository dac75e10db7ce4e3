"""Set a market's leverage and read it back from the account settings."""

from tidepool_env import client

with client() as c:
    c.update_leverage(symbol="ETH", leverage=5)
    for setting in c.account_settings():
        print(f"{setting.symbol}: leverage {setting.leverage}, isolated {setting.isolated}")
