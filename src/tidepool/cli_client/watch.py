"""`tidepool watch CHANNEL [NAME=VALUE ...]`: subscribe to one WebSocket channel and print each
push as one JSON line (`{"channel", "data", ...}` as the exchange sent it), until Ctrl-C or
`--count` pushes.

    tidepool watch book symbol=BTC agg_level=1
    tidepool watch trades symbol=ETH --count 5
    tidepool watch account_order_updates          # account= is the key's (or --account)

Values that read as JSON (numbers, true, false) are sent as such, anything else as a string. The
socket is `--ws-url`, by default the REST URL's host at `/ws`. The subscribe ack and pongs are
not printed; an error frame answering the subscribe is exit code 1. A JSON ping every 30 s keeps
the connection open (the exchange closes one that sent nothing for 60 s); a dropped connection
is exit code 3, it is not reconnected.

It speaks the WebSocket protocol with the `websockets` package directly: one subscription needs
no more.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from tidepool.cli_client.options import connection_options, open_client, url
from tidepool.cli_client.output import Output
from tidepool.client import ClientError, DecodingError, TransportError

__all__ = ["COMMANDS", "register", "ws_url"]

COMMANDS = ("watch",)

PING_EVERY_S: Final = 30.0
_NOT_PUSHES: Final = frozenset({"subscribe", "unsubscribe", "pong"})


def _param(text: str) -> tuple[str, Any]:
    name, eq, value = text.partition("=")
    if not eq or not name:
        raise argparse.ArgumentTypeError(f"{text!r}: a parameter is NAME=VALUE, e.g. symbol=BTC")
    try:
        parsed: Any = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    # Only scalars become JSON; "[1]" or "{}" stay text, as no channel takes a list.
    return name, parsed if isinstance(parsed, int | float | bool) else value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of pushes, at least 1")
    return int(text)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="print each push of a WebSocket subscription as a JSON line",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[connection_options()],
    )
    p.add_argument("channel", help="book, bbo, trades, prices, candle, account_orders, ...")
    p.add_argument("params", nargs="*", type=_param, metavar="NAME=VALUE")
    p.add_argument("--count", type=_count, help="stop after this many pushes")
    p.add_argument("--ws-url", help="the WebSocket URL (default: the --url host, path /ws)")
    p.set_defaults(handler=_watch)


def ws_url(rest_url: str) -> str:
    """The REST URL's host with ws(s) and /ws: where Tidepool, on the REST port, listens."""
    parts = urlsplit(rest_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, "/ws", "", ""))


def _subscription(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"source": args.channel, **dict(args.params)}
    if args.channel.startswith("account_") and "account" not in params:
        with open_client(args, reads_account=True) as client:
            params["account"] = client.address
    return params


def _watch(args: argparse.Namespace, out: Output) -> None:
    params = _subscription(args)
    where = args.ws_url or ws_url(url(args))
    try:
        with connect(where, open_timeout=10) as ws:
            ws.send(json.dumps({"method": "subscribe", "params": params}))
            _print_pushes(ws, out, args.count)
    except KeyboardInterrupt:
        return
    except ConnectionClosed as exc:
        raise TransportError(f"{where}: the connection was closed ({exc})") from None
    except InvalidURI as exc:
        raise ValueError(f"--ws-url: {exc}") from None
    except (OSError, InvalidHandshake, TimeoutError) as exc:
        raise TransportError(f"{where}: cannot connect ({exc})") from None


def _print_pushes(ws: ClientConnection, out: Output, count: int | None) -> None:
    printed = 0
    next_ping = time.monotonic() + PING_EVERY_S
    while count is None or printed < count:
        try:
            text = ws.recv(timeout=max(0.0, next_ping - time.monotonic()))
        except TimeoutError:
            ws.send(json.dumps({"method": "ping"}))
            next_ping = time.monotonic() + PING_EVERY_S
            continue
        try:
            frame = json.loads(text)
        except json.JSONDecodeError:
            raise DecodingError(f"not a JSON frame: {str(text)[:80]!r}", 200) from None
        channel = frame.get("channel") if isinstance(frame, dict) else None
        if channel == "error":
            data = frame.get("data") or {}
            message = data.get("message", "error") if isinstance(data, dict) else str(data)
            raise ClientError(f"subscribe refused: {message}")
        if channel in _NOT_PUSHES:
            continue
        # As sent (numbers exactly as the exchange wrote them), on one line: a newline in JSON
        # text is only whitespace between tokens.
        out.stream.write(" ".join(str(text).splitlines()) + "\n")
        out.stream.flush()
        printed += 1
