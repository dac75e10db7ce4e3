"""Composition: build the exchange (exchange), boot the server (boot), the gateway worker
processes (workers, worker) and their link, and the HTTP limits every process applies
(httpguard)."""

from tidepool.server.boot import serve
from tidepool.server.errors import CannotStart
from tidepool.server.exchange import build_exchange

__all__ = ["CannotStart", "build_exchange", "serve"]
