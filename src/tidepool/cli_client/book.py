"""`tidepool book SYMBOL`: the order book as a table that updates itself in a terminal.

It polls REST `GET /book` every `--interval` seconds (default 1; the exchange's WebSocket `book`
channel pushes at most every 250 ms, so polling much faster shows nothing more). Ctrl-C ends it.
When stdout is not a terminal, or with `--once` or `--json`, it prints the book once and exits:
for a stream of books in a pipe, `tidepool watch book symbol=BTC` prints every push.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from rich.live import Live
from rich.table import Table

from tidepool.cli_client.options import connection_options, open_client
from tidepool.cli_client.output import Output
from tidepool.client import Book, BookLevel, Client

__all__ = ["COMMANDS", "register"]

COMMANDS = ("book",)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0.1 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} must be between 0.1 and 3600 seconds")
    return value


def register(sub: Any) -> None:
    p = sub.add_parser(
        "book",
        help="the order book, a table that updates itself (polls REST /book)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[connection_options()],
    )
    p.add_argument("symbol", help="the market, e.g. BTC")
    p.add_argument("--agg-level", type=int, help="ticks per level (1, 2, 5, 10, 100, ...)")
    p.add_argument("--interval", type=_interval, default=1.0, help="seconds between polls (1)")
    p.add_argument("--once", action="store_true", help="print the book once and exit")
    p.set_defaults(handler=_book)


def _book(args: argparse.Namespace, out: Output) -> None:
    with open_client(args) as client:
        book = client.book(args.symbol, args.agg_level)
        if out.json:
            out.document(_as_json(book))
        elif args.once or not out.terminal:
            out.print(_table(out, book, None))
        else:
            _live(client, out, book, args)


def _live(client: Client, out: Output, book: Book, args: argparse.Namespace) -> None:
    polling = f"polling every {args.interval:g} s, Ctrl-C to stop"
    try:
        with Live(_table(out, book, polling), console=out.console, auto_refresh=False) as live:
            while True:
                time.sleep(args.interval)
                book = client.book(args.symbol, args.agg_level)
                live.update(_table(out, book, polling), refresh=True)
    except KeyboardInterrupt:
        return


def _table(out: Output, book: Book, polling: str | None) -> Table:
    """Asks above bids, best prices meeting in the middle, as traders read a ladder."""
    rows = [("ask", *_level(level)) for level in reversed(book.asks)]
    rows += [("bid", *_level(level)) for level in book.bids]
    at = datetime.fromtimestamp(book.timestamp / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
    title = f"{book.symbol} at {at} UTC" + (f" ({polling})" if polling else "")
    table = out.make_table(["side", "price", "amount", "orders"], rows, title)
    if out.terminal:
        for index, (side, *_) in enumerate(rows):
            table.rows[index].style = "red" if side == "ask" else "green"
    return table


def _level(level: BookLevel) -> tuple[Any, ...]:
    return (level.price, level.amount, level.orders)


def _as_json(book: Book) -> dict[str, Any]:
    def side(levels: list[BookLevel]) -> list[dict[str, Any]]:
        return [{"price": lv.price, "amount": lv.amount, "orders": lv.orders} for lv in levels]

    return {
        "symbol": book.symbol,
        "timestamp": book.timestamp,
        "bids": side(book.bids),
        "asks": side(book.asks),
    }
