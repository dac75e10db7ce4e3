"""`tidepool faucet | balance | mark | time | snapshot | revert | reset`: the sandbox cheats of a
running server (docs/sandbox.md), sent over HTTP to `--url` (default: $TIDEPOOL_URL, else the
local `tidepool serve`, as for the client commands: `tidepool.cli_client.options.url`).

Each command is one request to one /sandbox/ route and prints one line (or, with `--json`, the
answer's `data`). A refusal prints the server's error on one line, never a traceback.

Exit codes, for scripts: 0 done; 1 the server refused (its message is printed); 2 bad usage
(argparse's own); 3 no server answered at `--url`.

The requests are `tidepool.client`'s sandbox calls (client/sandbox.py), so each route is called
by one piece of code, here and in a bot's tests.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from tidepool.client import Sandbox, ServerTime

TIMEOUT_S = 30.0

REFUSED, UNREACHABLE = 1, 3

COMMANDS = ("faucet", "balance", "mark", "time", "snapshot", "revert", "reset")

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)?")


class Refused(Exception):
    """What to print on one line, and the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def duration_ms(text: str) -> int:
    """`30s`, `5m`, `2h`, `1d`, `1w`, `250ms`, or a bare number of milliseconds."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: a whole number with a unit, e.g. 30s, 5m, 2h, 1d, 250ms"
        )
    return int(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]


def time_ms(text: str) -> int:
    """Milliseconds since the epoch, or an ISO 8601 date-time (UTC unless it says otherwise)."""
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither milliseconds since the epoch nor an ISO 8601 date-time "
            "(e.g. 2030-01-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def add_parsers(sub: Any) -> None:
    """The commands, on `tidepool`'s subparsers."""

    def command(name: str, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, help=help, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        p.add_argument(
            "--url", help="the running server (default: $TIDEPOOL_URL, else http://127.0.0.1:7700)"
        )
        p.add_argument("--json", action="store_true", help="print the answer's data as JSON")
        return p

    p = command("faucet", "credit USDC to an account of a running server")
    p.add_argument("account", help="base58 public key")
    p.add_argument("amount", help="USDC to add, e.g. 1000")
    p = command("balance", "set an account's USDC balance on a running server")
    p.add_argument("account", help="base58 public key")
    p.add_argument("balance", help="the new balance, e.g. 2500.5")
    p = command("mark", "set mark prices: SYMBOL PRICE [SYMBOL PRICE ...], all or none")
    p.add_argument("pairs", nargs="+", metavar="SYMBOL PRICE")
    p = command("time", "show, advance, set, freeze or unfreeze the server's clock")
    p.add_argument(
        "action",
        nargs="?",
        default="show",
        choices=["show", "advance", "set", "freeze", "unfreeze"],
    )
    p.add_argument(
        "value", nargs="?", help="advance: a duration (30s, 5m, 1d); set: epoch ms or ISO 8601"
    )
    command("snapshot", "keep the server's state under a new id (for `tidepool revert`)")
    p = command("revert", "go back to a snapshot (it and later ones are dropped)")
    p.add_argument("id", type=int, help="what `tidepool snapshot` printed")
    command("reset", "back to a new server's state: dev accounts funded, initial marks")


def run(args: argparse.Namespace) -> int:
    # Imported here: `tidepool serve` builds this module's parsers, and the client (httpx) would
    # cost its start-up 0.15-0.25 s (cli.py).
    from tidepool.cli_client.options import url
    from tidepool.client import ApiError, Client, DecodingError, TransportError

    args.url = url(args)
    try:
        with Client(args.url, timeout=TIMEOUT_S) as client:
            answer = _send(client.sandbox, args)
    except Refused as exc:
        return _refused(str(exc), exc.code)
    except ApiError as exc:
        return _refused(f"{exc.message} (HTTP {exc.status})", REFUSED)
    except DecodingError as exc:
        return _refused(str(exc), REFUSED)
    except TransportError as exc:
        return _refused(
            f"no Tidepool server at {args.url} ({exc.__cause__ or exc}); start one with "
            "`tidepool serve`, or point --url at it",
            UNREACHABLE,
        )
    if args.json:
        data = msgspec.to_builtins(answer, builtin_types=(Decimal,))
        sys.stdout.write(json.dumps(data, default=_plain) + "\n")
    else:
        sys.stdout.write(_line(args.command, answer) + "\n")
    return 0


def _refused(message: str, code: int) -> int:
    sys.stderr.write(f"tidepool: {message}\n")
    return code


def _send(sandbox: Sandbox, args: argparse.Namespace) -> msgspec.Struct:
    """The command's cheat, sent; its usage is checked before anything is sent."""
    cmd = args.command
    if cmd == "faucet":
        return sandbox.faucet(args.account, args.amount)
    if cmd == "balance":
        return sandbox.balance(args.account, args.balance)
    if cmd == "mark":
        return _mark(sandbox, args.pairs)
    if cmd == "time":
        return _time(sandbox, args.action, args.value)
    if cmd == "snapshot":
        return sandbox.snapshot()
    if cmd == "revert":
        return sandbox.revert(args.id)
    return sandbox.reset()


def _mark(sandbox: Sandbox, pairs: list[str]) -> msgspec.Struct:
    if len(pairs) % 2:
        raise Refused("mark takes SYMBOL PRICE pairs, e.g. `tidepool mark BTC 100000`", 2)
    prices = dict(zip(pairs[::2], pairs[1::2], strict=True))
    if len(prices) == 1:
        ((symbol, price),) = prices.items()
        return sandbox.mark_price(symbol, price)
    return sandbox.mark_prices(prices)


def _time(sandbox: Sandbox, action: str, value: str | None) -> ServerTime:
    if action == "show":
        return sandbox.time()
    needs_value = action in ("advance", "set")
    if needs_value != (value is not None):
        usage = "advance 30s" if action == "advance" else "set 2030-01-01T00:00:00Z"
        message = f"time {action} takes no value" if value else f"time {action} needs a value"
        raise Refused(f"{message}, e.g. `tidepool time {usage}`" if needs_value else message, 2)
    if value is None:
        return sandbox.freeze_time() if action == "freeze" else sandbox.unfreeze_time()
    try:
        ms = duration_ms(value) if action == "advance" else time_ms(value)
    except argparse.ArgumentTypeError as exc:
        raise Refused(str(exc), 2) from None
    return sandbox.advance_time(ms) if action == "advance" else sandbox.set_time(ms)


def _plain(value: object) -> str:
    """A Decimal as plain digits, as the server wrote it (json cannot encode one)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON")


def _line(command: str, answer: Any) -> str:
    """The one line a person reads (`answer`: the command's model of client/sandbox_models.py)."""
    if command in ("faucet", "balance"):
        return f"{answer.account} balance {answer.balance:f} USDC"
    if command == "mark":
        prices = answer.prices if hasattr(answer, "prices") else {answer.symbol: answer.price}
        return " ".join(f"{s} {p:f}" for s, p in prices.items())
    if command == "time":
        moment = datetime.fromtimestamp(answer.now_ms / 1000, UTC)
        state = "frozen" if answer.frozen else "running"
        return f"{moment.isoformat(timespec='milliseconds')} ({answer.now_ms} ms, {state})"
    if command == "snapshot":
        return f"snapshot {answer.id}"
    if command == "revert":
        return f"reverted to snapshot {answer.id}"
    return f"reset: {answer.accounts} dev accounts funded with {answer.balance:f} USDC each"
