"""Where a client points: the local Tidepool server, or Pacifica itself (spec §0, §9).

Every URL is the REST root, `/api/v1` included, as Pacifica publishes it; request paths are
appended to it. `DEFAULT_PORT` is `tidepool serve`'s default (a test pins the two together, since
the client may not import the server's configuration).
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_PORT", "LOCAL_URL", "MAINNET_URL", "TESTNET_URL"]

DEFAULT_PORT: Final = 7700
LOCAL_URL: Final = f"http://127.0.0.1:{DEFAULT_PORT}/api/v1"
MAINNET_URL: Final = "https://api.pacifica.fi/api/v1"
TESTNET_URL: Final = "https://test-api.pacifica.fi/api/v1"
