"""`tidepool book SYMBOL`: the order book as a table that updates itself in a terminal.

It reads the book from the WebSocket (`tidepool.client.WebSocketClient`'s book mirror) and
redraws the table on each push: the exchange pushes the book at most every 250 ms while it
changes. When the connection drops, the title says so until the client has reconnected and has
the book again. Ctrl-C ends it. When stdout is not a terminal, or with `--once` or `--json`, it
prints the book once and exits: for a stream of books in a pipe, `tidepool watch book symbol=BTC`
prints every push.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from rich.live import Live
from rich.table import Table

from tidepool.cli_client.options import connection_options, open_ws_client, ws_options
from tidepool.cli_client.output import Output
from tidepool.client import Book, BookLevel, TransportError, WebSocketClient

__all__ = ["COMMANDS", "register"]

COMMANDS = ("book",)

LIVE = "live, Ctrl-C to stop"
RECONNECTING = "reconnecting, Ctrl-C to stop"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "book",
        help="the order book, a table that updates itself on each WebSocket push",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[connection_options(), ws_options()],
    )
    p.add_argument("symbol", help="the market, e.g. BTC")
    p.add_argument(
        "--agg-level", type=int, default=1, help="ticks per level (1, 2, 5, 10, 100, ...)"
    )
    p.add_argument("--once", action="store_true", help="print the book once and exit")
    p.set_defaults(handler=_book)


def _book(args: argparse.Namespace, out: Output) -> None:
    live = out.terminal and not (out.json or args.once)
    try:
        asyncio.run(_show(args, out, live))
    except KeyboardInterrupt:
        if not live:
            raise
        # Ctrl-C is how a live table ends.


async def _show(args: argparse.Namespace, out: Output, live: bool) -> None:
    async with open_ws_client(args) as ws:
        book = await ws.book(args.symbol, args.agg_level)
        if out.json:
            out.document(_as_json(book))
        elif live:
            await _redraw(ws, out, book, args)
        else:
            out.print(_table(out, book, None))


async def _redraw(ws: WebSocketClient, out: Output, book: Book, args: argparse.Namespace) -> None:
    """Redraw after each change the client sees: a push, a drop, a reconnect."""
    shown = (book, LIVE)
    with Live(_table(out, *shown), console=out.console, auto_refresh=False) as screen:
        while True:
            changed = ws.mirror_changed()  # made before reading: no change is missed
            status = RECONNECTING
            # Right after a reconnect this waits for the new connection's book; dropped again
            # meanwhile, the client keeps reconnecting and the title keeps saying so.
            if ws.connected:
                with contextlib.suppress(TransportError):
                    book, status = await ws.book(args.symbol, args.agg_level), LIVE
            if (book, status) != shown:
                shown = (book, status)
                screen.update(_table(out, *shown), refresh=True)
            await changed


def _table(out: Output, book: Book, status: str | None) -> Table:
    """Asks above bids, best prices meeting in the middle, as traders read a ladder."""
    rows = [("ask", *_level(level)) for level in reversed(book.asks)]
    rows += [("bid", *_level(level)) for level in book.bids]
    at = datetime.fromtimestamp(book.timestamp / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
    title = f"{book.symbol} at {at} UTC" + (f" ({status})" if status else "")
    table = out.make_table(["side", "price", "amount", "orders"], rows, title)
    if out.terminal:
        table.min_width = len(title)  # the title wraps at the table's width: keep it one line
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
