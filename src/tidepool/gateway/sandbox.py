"""Sandbox routes (not part of Pacifica, under /sandbox/): the cheats of a local test exchange.

faucet, balance, mark price(s), time, snapshot / revert, reset, the dev accounts and the state
hash (docs/sandbox.md is their user page). They answer with the same envelope as everything
else, and every one that changes state goes through the pipeline as a command like any other,
so it is journaled and replayed (engine/cheats.py). Bad input is a 400 that changes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tidepool.domain.markets import OffGrid, format_decimal, parse_decimal
from tidepool.engine.commands import (
    Command,
    Faucet,
    ResetState,
    RevertSnapshot,
    SetBalance,
    SetClock,
    SetMarkPrice,
    SetMarkPrices,
    TakeSnapshot,
)
from tidepool.engine.events import Outcome
from tidepool.engine.sandbox import MAX_TIME_MS
from tidepool.gateway.envelope import Response, bad_request, invalid_parameters, ok, rejected
from tidepool.gateway.errors import WireError
from tidepool.gateway.exchange import Exchange
from tidepool.gateway.request import Request, decode_json_object
from tidepool.gateway.signed import typed
from tidepool.gateway.translate import market
from tidepool.pacifica import is_public_key
from tidepool.pacifica.requests import (
    BalanceRequest,
    FaucetRequest,
    MarkPriceRequest,
    RevertRequest,
    TimeRequest,
)

_MAX_FAUCET = Decimal("1000000000000")


def _decimal(name: str, text: str, *, zero: bool = False) -> Decimal:
    """A decimal string > 0 (>= 0 with `zero`) of at most _MAX_FAUCET, else a 400 naming it."""
    try:
        value = parse_decimal(text)
    except OffGrid as exc:
        raise WireError(invalid_parameters(f"{name}: {exc}")) from None
    if value < 0 or (value == 0 and not zero):
        raise WireError(
            invalid_parameters(f"{name} must be {'at least 0' if zero else 'positive'}")
        )
    if value > _MAX_FAUCET:
        raise WireError(invalid_parameters(f"{name} must be at most {_MAX_FAUCET}"))
    return value


def _account(text: str) -> str:
    if not is_public_key(text):
        raise WireError(bad_request("Invalid public key"))
    return text


async def _submit(ex: Exchange, cmd: Command) -> Outcome:
    """The command through the pipeline; a business rejection becomes its envelope."""
    outcome = await ex.pipeline.submit(cmd)
    if outcome.reject is not None:
        raise WireError(rejected(outcome.reject))
    return outcome


def _balance_answer(ex: Exchange, account: str, **extra: str) -> Response:
    return ok({"account": account, **extra, "balance": format_decimal(ex.engine.balance(account))})


async def faucet(ex: Exchange, req: Request) -> Response:
    body = typed(decode_json_object(req.body), FaucetRequest)
    account = _account(body.account)
    amount = _decimal("amount", body.amount)
    await _submit(ex, Faucet(account=account, amount=amount))
    return _balance_answer(ex, account, amount=format_decimal(amount))


async def balance(ex: Exchange, req: Request) -> Response:
    body = typed(decode_json_object(req.body), BalanceRequest)
    account = _account(body.account)
    await _submit(
        ex, SetBalance(account=account, balance=_decimal("balance", body.balance, zero=True))
    )
    return _balance_answer(ex, account)


async def mark_price(ex: Exchange, req: Request) -> Response:
    """`{"symbol","price"}` (an unknown symbol is Pacifica's 422 "Book not found"), or
    `{"prices": {symbol: price, ...}}`: all or nothing, any bad entry is a 400."""
    body = typed(decode_json_object(req.body), MarkPriceRequest)
    if body.prices is None:
        if body.symbol is None or body.price is None:
            raise WireError(invalid_parameters('give "symbol" and "price", or "prices"'))
        spec = market(ex, body.symbol)
        price = _decimal("price", body.price)
        await _submit(ex, SetMarkPrice(symbol=spec.symbol, price=price))
        return ok({"symbol": spec.symbol, "price": format_decimal(price)})
    if body.symbol is not None or body.price is not None:
        raise WireError(invalid_parameters('give "symbol" and "price", or "prices", not both'))
    if not body.prices:
        raise WireError(invalid_parameters("prices: no symbol given"))
    marks = []
    for symbol, text in body.prices.items():
        if symbol not in ex.markets:
            known = ", ".join(ex.markets)
            raise WireError(invalid_parameters(f"prices: unknown symbol {symbol} ({known})"))
        marks.append(SetMarkPrice(symbol=symbol, price=_decimal(f"prices.{symbol}", text)))
    await _submit(ex, SetMarkPrices(marks=marks))
    return ok({"prices": {m.symbol: format_decimal(m.price) for m in marks}})


def _time_answer(ex: Exchange) -> Response:
    return ok({"now_ms": ex.clock.now_ms(), "frozen": ex.clock.frozen})


async def time(ex: Exchange, req: Request) -> Response:
    """GET: the server time. POST: exactly one of advance_ms, set_ms, freeze; then the time."""
    if req.method == "GET":
        return _time_answer(ex)
    body = typed(decode_json_object(req.body), TimeRequest)
    given = [k for k in ("advance_ms", "set_ms", "freeze") if getattr(body, k) is not None]
    if len(given) != 1:
        raise WireError(
            invalid_parameters(
                'give exactly one of "advance_ms", "set_ms", "freeze"'
                + (f" (got {', '.join(given)})" if given else "")
            )
        )
    for name in ("advance_ms", "set_ms"):
        value = getattr(body, name)
        if value is not None and not 0 <= value <= MAX_TIME_MS:
            raise WireError(invalid_parameters(f"{name} must be in [0, {MAX_TIME_MS}]"))
    cmd = SetClock(
        wall_ms=ex.clock.wall_ms(),
        set_ms=body.set_ms,
        advance_ms=body.advance_ms or 0,
        frozen=body.freeze,
    )
    await _submit(ex, cmd)
    ex.clock.follow(ex.engine.clock_mark())
    return _time_answer(ex)


async def snapshot(ex: Exchange, req: Request) -> Response:
    _optional_object(req.body)
    outcome = await _submit(ex, TakeSnapshot())
    return ok({"id": outcome.snapshot_id})


async def revert(ex: Exchange, req: Request) -> Response:
    body = typed(decode_json_object(req.body), RevertRequest)
    await _submit(ex, RevertSnapshot(snapshot_id=body.id))
    return ok({"id": body.id})


async def reset(ex: Exchange, req: Request) -> Response:
    """The state of a new state dir: empty books, initial marks, the dev accounts funded."""
    _optional_object(req.body)
    dev = ex.dev
    await _submit(ex, ResetState(fund=[Faucet(account=k, amount=dev.balance) for k, _ in dev.keys]))
    return ok({"accounts": len(dev.keys), "balance": format_decimal(dev.balance)})


async def accounts(ex: Exchange, req: Request) -> Response:
    """The dev accounts, with their secrets (public by design) and current balances."""
    engine = ex.engine
    rows: list[dict[str, Any]] = [
        {
            "index": i,
            "public_key": public,
            "secret_key": secret,
            "balance": format_decimal(engine.balance(public)),
        }
        for i, (public, secret) in enumerate(ex.dev.keys)
    ]
    return ok(rows)


async def state_hash(ex: Exchange, req: Request) -> Response:
    """The hash at `seq`, at least the last seq when the request arrived; computed off the
    event loop (runtime/forkread.py)."""
    seq, digest = await ex.forked.state_hash(ex.sequencer)
    return ok({"state_hash": digest, "seq": seq})


def _optional_object(body: bytes) -> None:
    """Routes without parameters take no body or a JSON object (whose keys they ignore)."""
    if body.strip():
        decode_json_object(body)
