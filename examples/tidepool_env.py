"""What every example reads from the environment.

TIDEPOOL_URL: the exchange (default: a local `tidepool serve`, http://127.0.0.1:7700).
TIDEPOOL_KEY: the account's secret key, base58 or a keypair file's path (default: dev account 0
of `tidepool serve --seed 0`, the default seed; `tidepool accounts --json` prints it. It is
public and funded at start: for local testing only).
"""

from __future__ import annotations

import os

from tidepool.cli_client.watch import ws_url
from tidepool.client import LOCAL_URL, Client

DEV_ACCOUNT_0 = (
    "5fChMgym7odVVJvqacoiRuU8e2AstFzFXo6MLzFsBRWsh8XEA1k2ezByVnF7Ct4XBdA1919rkLrpWv9rEhNQsKie"
)

URL = os.environ.get("TIDEPOOL_URL") or LOCAL_URL
KEY = os.environ.get("TIDEPOOL_KEY") or DEV_ACCOUNT_0
WS_URL = os.environ.get("TIDEPOOL_WS_URL") or ws_url(URL)  # Tidepool: the REST port, /ws


def client() -> Client:
    """A client for the account of TIDEPOOL_KEY on TIDEPOOL_URL."""
    return Client(URL, key=KEY)
