"""Where a client points: the local Tidepool server, or Pacifica itself (spec §0, §9).

Every `*_URL` is the REST root, `/api/v1` included, as Pacifica publishes it; request paths are
appended to it. The `*_WS_URL`s are the WebSocket endpoints (one for data and trading).
`DEFAULT_PORT` is `tidepool serve`'s default (a test pins the two together, since the client may
not import the server's configuration).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_PORT",
    "LOCAL_URL",
    "LOCAL_WS_URL",
    "MAINNET_URL",
    "MAINNET_WS_URL",
    "TESTNET_URL",
    "TESTNET_WS_URL",
]

DEFAULT_PORT: Final = 7700
LOCAL_URL: Final = f"http://127.0.0.1:{DEFAULT_PORT}/api/v1"
MAINNET_URL: Final = "https://api.pacifica.fi/api/v1"
TESTNET_URL: Final = "https://test-api.pacifica.fi/api/v1"
LOCAL_WS_URL: Final = f"ws://127.0.0.1:{DEFAULT_PORT}/ws"
MAINNET_WS_URL: Final = "wss://ws.pacifica.fi/ws"
TESTNET_WS_URL: Final = "wss://test-ws.pacifica.fi/ws"
