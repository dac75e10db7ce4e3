"""What `tidepool serve` prints once it is ready (after the "Tidepool listening on" line that
scripts parse), `--config-out`'s JSON, and `tidepool accounts`: the URLs, the markets with their
marks, the seed and the dev accounts with their keys and balances.

Plain text when stdout is not a terminal (logs, pipes, tests: stable, greppable, golden-tested);
coloured with rich in a terminal, where a person reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

import msgspec
from rich.markup import escape
from rich.text import Text

from tidepool.server.devaccounts import DevAccount

WARNING = (
    "These keys are derived from a public seed: anyone can rebuild them. "
    "For local testing only; never use them with real funds."
)


class AccountRow(msgspec.Struct, frozen=True):
    index: int
    public_key: str
    secret_key: str
    balance: Decimal


class MarketRow(msgspec.Struct, frozen=True):
    symbol: str
    mark_price: Decimal


class Urls(msgspec.Struct, frozen=True):
    rest: str
    ws: str


class Banner(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    urls: Urls | None = None  # None: `tidepool accounts`, no server
    seed: int
    markets: tuple[MarketRow, ...] = ()
    accounts: tuple[AccountRow, ...]
    market_maker: str | None = None  # its account's public key, with `serve --market-maker`


@dataclass(frozen=True)
class Listening:
    host: str
    port: int

    @property
    def line(self) -> str:
        # Tests and scripts read this line (the first on stdout) to learn the port of --port 0.
        return f"Tidepool listening on http://{self.host}:{self.port} (REST under /api/v1)\n"

    @property
    def urls(self) -> Urls:
        return Urls(
            rest=f"http://{self.host}:{self.port}/api/v1", ws=f"ws://{self.host}:{self.port}/ws"
        )


def rows(accounts: tuple[DevAccount, ...], balances: list[Decimal]) -> tuple[AccountRow, ...]:
    return tuple(
        AccountRow(a.index, a.public_key, a.secret_key, b)
        for a, b in zip(accounts, balances, strict=True)
    )


def to_json(banner: Banner) -> bytes:
    return msgspec.json.format(msgspec.json.encode(banner), indent=2) + b"\n"


def _lines(banner: Banner) -> list[str]:
    """The banner in rich markup, one line each; values are escaped (a market symbol is
    free text)."""
    lines: list[str] = []
    if banner.urls is not None:
        lines += [
            f"[bold]REST[/]       [cyan]{escape(banner.urls.rest)}[/]",
            f"[bold]WebSocket[/]  [cyan]{escape(banner.urls.ws)}[/]",
        ]
    if banner.markets:
        marks = "  ".join(f"[bold]{escape(m.symbol)}[/] {m.mark_price:f}" for m in banner.markets)
        lines.append(f"[bold]Markets[/]    {marks}")
    if banner.market_maker is not None:
        lines.append(
            f"[bold]Maker[/]      [green]{escape(banner.market_maker)}[/] "
            "[dim](quotes around each mark: market orders fill at once)[/]"
        )
    lines.append(f"[bold]Seed[/]       {banner.seed} [dim](dev accounts and speedbump delays)[/]")
    lines.append(
        f"[bold]Dev accounts ({len(banner.accounts)})[/]: index, public key, secret key, USDC"
    )
    width = len(str(len(banner.accounts) - 1)) if banner.accounts else 1
    for a in banner.accounts:
        lines.append(
            f"  [dim]{a.index:>{width}}[/]  [green]{a.public_key}[/]  "
            f"[yellow]{a.secret_key}[/]  {a.balance:f}"
        )
    lines.append(f"[bold red]{WARNING}[/]")
    return lines


def plain(banner: Banner) -> str:
    return "".join(f"{Text.from_markup(line).plain}\n" for line in _lines(banner))


def show(banner: Banner, out: TextIO) -> None:
    """The banner on `out`: coloured when it is a terminal, else the plain text."""
    if not out.isatty():
        out.write(plain(banner))
        return
    # Imported here: rich's console is ~25 ms of start-up, and piped output (CI) never needs it.
    from rich.console import Console

    console = Console(file=out, highlight=False)
    for line in _lines(banner):
        # soft_wrap: a long key is left whole for the terminal to wrap, so it copies as one.
        console.print(line, soft_wrap=True)
