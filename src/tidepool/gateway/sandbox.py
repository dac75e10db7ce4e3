"""Sandbox routes (not part of Pacifica, under /sandbox/): faucet, mark price, state hash.

They answer with the same envelope as everything else and go through the sequencer like any
other state change, so they are journaled and replayed.
"""

from __future__ import annotations

from decimal import Decimal

from tidepool.domain.markets import OffGrid, format_decimal, parse_decimal
from tidepool.engine.commands import Faucet, SetMarkPrice
from tidepool.gateway.envelope import Response, bad_request, invalid_parameters, ok, rejected
from tidepool.gateway.errors import WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.request import Request, decode_json_object
from tidepool.gateway.signed import typed
from tidepool.gateway.translate import market
from tidepool.pacifica import is_public_key
from tidepool.pacifica.requests import FaucetRequest, MarkPriceRequest

_MAX_FAUCET = Decimal("1000000000000")


def _positive_decimal(name: str, text: str) -> Decimal:
    try:
        value = parse_decimal(text)
    except OffGrid as exc:
        raise WireError(invalid_parameters(f"{name}: {exc}")) from None
    if value <= 0:
        raise WireError(invalid_parameters(f"{name} must be positive"))
    return value


async def faucet(ex: Exchange, req: Request) -> Response:
    body = typed(decode_json_object(req.body), FaucetRequest)
    if not is_public_key(body.account):
        raise WireError(bad_request("Invalid public key"))
    amount = _positive_decimal("amount", body.amount)
    if amount > _MAX_FAUCET:
        raise WireError(invalid_parameters(f"amount must be at most {_MAX_FAUCET}"))
    outcome = await ex.pipeline.submit(Faucet(account=body.account, amount=amount))
    if outcome.reject is not None:
        return rejected(outcome.reject)
    balance = ex.engine.balance(body.account)
    return ok(
        {
            "account": body.account,
            "amount": format_decimal(amount),
            "balance": format_decimal(balance),
        }
    )


async def mark_price(ex: Exchange, req: Request) -> Response:
    body = typed(decode_json_object(req.body), MarkPriceRequest)
    spec = market(ex, body.symbol)
    price = _positive_decimal("price", body.price)
    outcome = await ex.pipeline.submit(SetMarkPrice(symbol=spec.symbol, price=price))
    if outcome.reject is not None:
        return rejected(outcome.reject)
    return ok({"symbol": spec.symbol, "price": format_decimal(price)})


async def state_hash(ex: Exchange, req: Request) -> Response:
    """The hash at `seq`, at least the last seq when the request arrived; computed off the
    event loop (runtime/forkread.py)."""
    seq, digest = await ex.forked.state_hash(ex.sequencer)
    return ok({"state_hash": digest, "seq": seq})
