"""How a client command answers: one JSON document with `--json`, else a rich table or a short
line, coloured in a terminal and plain text (no box, no colour, no wrapping) when piped.

Errors go to stderr as one line, `tidepool: <message>`; with `--json` stdout also gets the
document `{"error": {"message", "status", "code"}}`, so a script reading stdout always gets
JSON (status and code are null when no answer came).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TextIO

import msgspec
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table

__all__ = ["Output", "report", "to_json"]

# Piped output is never wrapped: a column of 44-character keys must stay greppable.
_PIPE_WIDTH = 10_000


def to_json(value: Any) -> bytes:
    """Structs, Decimals (as strings, never floats) and builtins as compact JSON."""
    return msgspec.json.encode(
        _plain_decimals(msgspec.to_builtins(value, builtin_types=(Decimal,)))
    )


def _plain_decimals(value: Any) -> Any:
    """Decimals as plain digits, as the wire writes them: msgspec writes str(), and the
    0.00000001 the server sent would print as 1E-8."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {key: _plain_decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_decimals(item) for item in value]
    return value


class Output:
    def __init__(self, *, json: bool, stream: TextIO) -> None:
        self.json = json
        self.stream = stream
        self.terminal = stream.isatty()
        self.console = Console(
            file=stream,
            width=None if self.terminal else _PIPE_WIDTH,
            no_color=not self.terminal,
            highlight=False,
        )

    def document(self, value: Any) -> None:
        """The one JSON document of --json."""
        self.stream.write(to_json(value).decode() + "\n")
        self.stream.flush()

    def line(self, text: str) -> None:
        self.console.print(text, markup=False, soft_wrap=True)

    def print(self, renderable: RenderableType) -> None:
        if self.terminal:
            self.console.print(renderable)
            return
        # rich pads every cell to its column's width; a pipe gets no trailing blanks.
        with self.console.capture() as captured:
            self.console.print(renderable)
        self.stream.write("".join(f"{line.rstrip()}\n" for line in captured.get().splitlines()))

    def make_table(
        self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
    ) -> Table:
        """A table of `rows`; None prints as "-". Piped: whitespace-separated columns with a
        header line, one row a line."""
        table = Table(
            title=title if self.terminal else None,
            box=box.SIMPLE_HEAD if self.terminal else None,
            show_edge=False,
            pad_edge=False,
        )
        for name in columns:
            table.add_column(name, no_wrap=True)
        for row in rows:
            table.add_row(*(_cell(v) for v in row))
        return table

    def show(self, value: Any, human: RenderableType | str) -> None:
        """`value` as JSON with --json, else `human` (a line or a table)."""
        if self.json:
            self.document(value)
        elif isinstance(human, str):
            self.line(human)
        else:
            self.print(human)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def report(out: Output, message: str, status: int | None, code: int | None) -> None:
    """An error: one line on stderr, and the JSON error document with --json."""
    one_line = " ".join(message.split())
    sys.stderr.write(f"tidepool: {one_line}\n")
    if out.json:
        out.document({"error": {"message": one_line, "status": status, "code": code}})
