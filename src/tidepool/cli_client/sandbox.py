"""`tidepool faucet | balance | mark | time | snapshot | revert | reset`: the sandbox cheats of a
running Tidepool server (docs/sandbox.md), each one request to one /sandbox/ route through
`tidepool.client`'s `client.sandbox`, so each route is called by one piece of code, here and in a
bot's tests.

They take `--url` and `--json` as the other client commands do (`options.connection_options`),
but no key: the routes take no signature. A person gets one line; `--json` prints the answer's
`data`. Errors and exit codes are the client commands' (`dispatch.run`), except that no answer at
all says how to start a server, as these commands only ever talk to Tidepool.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from tidepool.cli_client.options import connection_options, url
from tidepool.cli_client.output import Output
from tidepool.client import Client, Sandbox

__all__ = ["COMMANDS", "register"]

COMMANDS = ("faucet", "balance", "mark", "time", "snapshot", "revert", "reset")

# A reset or a snapshot of a large state takes longer than the client's default of 10 s.
TIMEOUT_S = 30.0

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)?")

# A command's cheat: sent on the server's sandbox, its answer and the line a person reads.
Cheat = Callable[[Sandbox, argparse.Namespace], tuple[msgspec.Struct, str]]


def _duration_ms(text: str) -> int:
    """`30s`, `5m`, `2h`, `1d`, `1w`, `250ms`, or a bare number of milliseconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: a whole number with a unit, e.g. 30s, 5m, 2h, 1d, 250ms"
        )
    return int(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]


def _time_ms(text: str) -> int:
    """Milliseconds since the epoch, or an ISO 8601 date-time (UTC unless it says otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither milliseconds since the epoch nor an ISO 8601 date-time "
            "(e.g. 2030-01-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def register(sub: Any) -> None:
    common = connection_options(keys=False)

    def command(name: str, help_text: str, cheat: Cheat) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        p.set_defaults(handler=_run, cheat=cheat)
        return p

    p = command("faucet", "credit USDC to an account of a running server", _faucet)
    p.add_argument("account", help="base58 public key")
    p.add_argument("amount", help="USDC to add, e.g. 1000")
    p = command("balance", "set an account's USDC balance on a running server", _balance)
    p.add_argument("account", help="base58 public key")
    p.add_argument("balance", help="the new balance, e.g. 2500.5")
    p = command("mark", "set mark prices: SYMBOL PRICE [SYMBOL PRICE ...], all or none", _mark)
    p.add_argument("pairs", nargs="+", metavar="SYMBOL PRICE")
    p = command("time", "show, advance, set, freeze or unfreeze the server's clock", _time)
    p.add_argument(
        "action",
        nargs="?",
        default="show",
        choices=["show", "advance", "set", "freeze", "unfreeze"],
        help="(default: show)",
    )
    p.add_argument(
        "value", nargs="?", help="advance: a duration (30s, 5m, 1d); set: epoch ms or ISO 8601"
    )
    command("snapshot", "keep the server's state under a new id (for `tidepool revert`)", _snapshot)
    p = command("revert", "go back to a snapshot (it and later ones are dropped)", _revert)
    p.add_argument("id", type=int, help="what `tidepool snapshot` printed")
    command("reset", "back to a new server's state: dev accounts funded, initial marks", _reset)


def _run(args: argparse.Namespace, out: Output) -> None:
    cheat: Cheat = args.cheat
    with Client(url(args), timeout=TIMEOUT_S) as client:
        answer, line = cheat(client.sandbox, args)
    out.show(answer, line)


def _faucet(sandbox: Sandbox, args: argparse.Namespace) -> tuple[msgspec.Struct, str]:
    credit = sandbox.faucet(args.account, args.amount)
    return credit, f"{credit.account} balance {credit.balance:f} USDC"


def _balance(sandbox: Sandbox, args: argparse.Namespace) -> tuple[msgspec.Struct, str]:
    balance = sandbox.balance(args.account, args.balance)
    return balance, f"{balance.account} balance {balance.balance:f} USDC"


def _mark(sandbox: Sandbox, args: argparse.Namespace) -> tuple[msgspec.Struct, str]:
    pairs: list[str] = args.pairs
    if len(pairs) % 2:
        raise ValueError("mark takes SYMBOL PRICE pairs, e.g. `tidepool mark BTC 100000`")
    prices = dict(zip(pairs[::2], pairs[1::2], strict=True))
    if len(prices) == 1:
        ((symbol, price),) = prices.items()
        one = sandbox.mark_price(symbol, price)
        return one, f"{one.symbol} {one.price:f}"
    several = sandbox.mark_prices(prices)
    return several, " ".join(f"{s} {p:f}" for s, p in several.prices.items())


def _time(sandbox: Sandbox, args: argparse.Namespace) -> tuple[msgspec.Struct, str]:
    action: str = args.action
    value: str | None = args.value
    needs_value = action in ("advance", "set")
    if needs_value != (value is not None):
        usage = "advance 30s" if action == "advance" else "set 2030-01-01T00:00:00Z"
        message = f"time {action} takes no value" if value else f"time {action} needs a value"
        raise ValueError(f"{message}, e.g. `tidepool time {usage}`" if needs_value else message)
    if action == "show":
        now = sandbox.time()
    elif value is None:
        now = sandbox.freeze_time() if action == "freeze" else sandbox.unfreeze_time()
    elif action == "advance":
        now = sandbox.advance_time(_duration_ms(value))
    else:
        now = sandbox.set_time(_time_ms(value))
    moment = datetime.fromtimestamp(now.now_ms / 1000, UTC)
    state = "frozen" if now.frozen else "running"
    return now, f"{moment.isoformat(timespec='milliseconds')} ({now.now_ms} ms, {state})"


def _snapshot(sandbox: Sandbox, args: argparse.Namespace) -> tuple[msgspec.Struct, str]:
    snapshot = sandbox.snapshot()
    return snapshot, f"snapshot {snapshot.id}"


def _revert(sandbox: Sandbox, args: argparse.Namespace) -> tuple[msgspec.Struct, str]:
    reverted = sandbox.revert(args.id)
    return reverted, f"reverted to snapshot {reverted.id}"


def _reset(sandbox: Sandbox, args: argparse.Namespace) -> tuple[msgspec.Struct, str]:
    reset = sandbox.reset()
    return reset, f"reset: {reset.accounts} dev accounts funded with {reset.balance:f} USDC each"
