"""`tidepool faucet | balance | mark | time | snapshot | revert | reset`: the sandbox cheats of a
running server (docs/sandbox.md), sent over HTTP to `--url`.

Each command is one request to one /sandbox/ route and prints one line (or, with `--json`, the
answer's `data`). A refusal prints the server's error on one line, never a traceback.

Exit codes, for scripts: 0 done; 1 the server refused (its message is printed); 2 bad usage
(argparse's own); 3 no server answered at `--url`.

The standard library's urllib is enough for one JSON request per run, so this module adds no
dependency.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from tidepool.config import Config

_DEFAULTS = Config()
DEFAULT_URL = f"http://{_DEFAULTS.host}:{_DEFAULTS.port}"  # where `tidepool serve` listens
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
        p.add_argument("--url", default=DEFAULT_URL, help="the running server")
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
    try:
        method, path, body = _request(args)
        data = call(args.url, method, path, body)
    except Refused as exc:
        sys.stderr.write(f"tidepool: {exc}\n")
        return exc.code
    if args.json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        sys.stdout.write(_line(args.command, data) + "\n")
    return 0


def _request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    """The method, path and body of the command's request."""
    cmd = args.command
    if cmd == "faucet":
        return "POST", "/sandbox/faucet", {"account": args.account, "amount": args.amount}
    if cmd == "balance":
        return "POST", "/sandbox/balance", {"account": args.account, "balance": args.balance}
    if cmd == "mark":
        pairs = args.pairs
        if len(pairs) % 2:
            raise Refused("mark takes SYMBOL PRICE pairs, e.g. `tidepool mark BTC 100000`", 2)
        prices = dict(zip(pairs[::2], pairs[1::2], strict=True))
        if len(prices) == 1:
            ((symbol, price),) = prices.items()
            return "POST", "/sandbox/mark_price", {"symbol": symbol, "price": price}
        return "POST", "/sandbox/mark_price", {"prices": prices}
    if cmd == "time":
        return ("GET", "/sandbox/time", None) if args.action == "show" else _time_body(args)
    if cmd == "snapshot":
        return "POST", "/sandbox/snapshot", {}
    if cmd == "revert":
        return "POST", "/sandbox/revert", {"id": args.id}
    return "POST", "/sandbox/reset", {}


def _time_body(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    action, value = args.action, args.value
    needs_value = action in ("advance", "set")
    if needs_value != (value is not None):
        usage = "advance 30s" if action == "advance" else "set 2030-01-01T00:00:00Z"
        message = f"time {action} takes no value" if value else f"time {action} needs a value"
        raise Refused(f"{message}, e.g. `tidepool time {usage}`" if needs_value else message, 2)
    try:
        if action == "advance":
            return "POST", "/sandbox/time", {"advance_ms": duration_ms(value)}
        if action == "set":
            return "POST", "/sandbox/time", {"set_ms": time_ms(value)}
    except argparse.ArgumentTypeError as exc:
        raise Refused(str(exc), 2) from None
    return "POST", "/sandbox/time", {"freeze": action == "freeze"}


def call(url: str, method: str, path: str, body: dict[str, Any] | None) -> Any:
    """One request; the envelope's `data`, or Refused with the server's error."""
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            envelope = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise Refused(_error_of(exc), REFUSED) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Refused(
            f"no Tidepool server at {url} ({reason}); start one with `tidepool serve`, "
            "or point --url at it",
            UNREACHABLE,
        ) from None
    return envelope.get("data")


def _error_of(exc: urllib.error.HTTPError) -> str:
    """The envelope's error of a refusal, with its HTTP status."""
    try:
        message = json.loads(exc.read()).get("error")
    except (ValueError, AttributeError):
        message = None
    return f"{message or exc.reason} (HTTP {exc.code})"


def _line(command: str, data: Any) -> str:
    """The one line a person reads."""
    if command in ("faucet", "balance"):
        return f"{data['account']} balance {data['balance']} USDC"
    if command == "mark":
        prices = data["prices"] if "prices" in data else {data["symbol"]: data["price"]}
        return " ".join(f"{s} {p}" for s, p in prices.items())
    if command == "time":
        moment = datetime.fromtimestamp(data["now_ms"] / 1000, UTC)
        state = "frozen" if data["frozen"] else "running"
        return f"{moment.isoformat(timespec='milliseconds')} ({data['now_ms']} ms, {state})"
    if command == "snapshot":
        return f"snapshot {data['id']}"
    if command == "revert":
        return f"reverted to snapshot {data['id']}"
    return f"reset: {data['accounts']} dev accounts funded with {data['balance']} USDC each"
