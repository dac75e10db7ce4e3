"""`tidepool watch CHANNEL [NAME=VALUE ...]`: subscribe to one WebSocket channel and print each
push as one JSON line (`{"channel", "data", ...}` as the exchange sent it), until Ctrl-C or
`--count` pushes.

    tidepool watch book symbol=BTC agg_level=1
    tidepool watch trades symbol=ETH --count 5
    tidepool watch account_order_updates          # account= is the key's (or --account)

Values that read as JSON (numbers, true, false) are sent as such, anything else as a string. The
socket is `--ws-url`, by default the one that goes with `--url`. The subscribe ack and pongs are
not printed; the exchange refusing the subscription is exit code 1. It runs on
`tidepool.client.WebSocketClient` (`subscribe`, each push's frame as it came): a JSON ping keeps
the connection open, and a dropped connection is opened again and subscribed again, so the lines
go on (what was pushed while it was away is not replayed; a channel that sends its state on
subscribe sends it again). No answer at all when it starts is exit code 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from tidepool.cli_client.options import connection_options, open_ws_client, ws_options
from tidepool.cli_client.output import Output
from tidepool.client import ClientError, InvalidRequest

__all__ = ["COMMANDS", "register"]

COMMANDS = ("watch",)


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
        parents=[connection_options(), ws_options()],
    )
    p.add_argument("channel", help="book, bbo, trades, prices, candle, account_orders, ...")
    p.add_argument("params", nargs="*", type=_param, metavar="NAME=VALUE")
    p.add_argument("--count", type=_count, help="stop after this many pushes")
    p.set_defaults(handler=_watch)


def _watch(args: argparse.Namespace, out: Output) -> None:
    try:
        asyncio.run(_print_pushes(args, out))
    except KeyboardInterrupt:
        return  # how a watch ends


async def _print_pushes(args: argparse.Namespace, out: Output) -> None:
    params: dict[str, Any] = {"source": args.channel, **dict(args.params)}
    mine = args.channel.startswith("account_") and "account" not in params
    async with open_ws_client(args, reads_account=mine) as ws:
        if mine:
            params["account"] = ws.address
        printed = 0
        async with ws.subscribe(params) as pushes:
            try:
                async for frame in pushes:
                    # As sent (numbers exactly as the exchange wrote them), on one line: a
                    # newline in JSON text is only whitespace between tokens.
                    out.stream.write(" ".join(frame.decode().splitlines()) + "\n")
                    out.stream.flush()
                    printed += 1
                    if printed == args.count:
                        return
            except InvalidRequest as exc:
                raise ClientError(f"subscribe refused: {exc.message}") from None
