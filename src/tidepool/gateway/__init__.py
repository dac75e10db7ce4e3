"""The edge between HTTP and the pipeline: the operation table (operations) that every signed
operation is declared in once, the signed path through it (signed, verify, translate), batch,
the ASGI app and its reads, and the worker processes' signature pre-checks (preverify)."""

from tidepool.gateway.app import GatewayApp
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.operations import OPERATIONS, Operation

__all__ = ["OPERATIONS", "Exchange", "GatewayApp", "Operation"]
