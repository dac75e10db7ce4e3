"""`tidepool` command line: serve, offline journal tools, and the client commands of
`tidepool.cli_client` (keygen, order, orders, positions, account, book, watch)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import msgspec

from tidepool import __version__, cli_client
from tidepool.config import Config, load_markets
from tidepool.domain.markets import MarketSpec


def _count(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [minimum, maximum], else a one-line error naming it."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}{upper}")
        return value

    return parse


def _fraction(text: str) -> Decimal:
    """An argparse type: a decimal >= 0 (fees, the price band)."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a number of at least 0")
    return value


def _amount(text: str) -> Decimal:
    """An argparse type: a USDC amount > 0 (a dev account's balance)."""
    value = _fraction(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 is not a balance to fund; give an amount above 0")
    return value


def _dev_account_options(p: argparse.ArgumentParser) -> None:
    """The options that fix the dev accounts: the same in `serve` and `accounts`."""
    p.add_argument(
        "--seed",
        type=_count(0, 2**64 - 1),
        default=0,
        help="derives the dev accounts' keys and (serve) the speedbump's random delays",
    )
    p.add_argument("--accounts", type=_count(0, 1000), default=10, help="dev accounts to derive")
    p.add_argument(
        "--balance", type=_amount, default=Decimal(100_000), help="USDC each starts with"
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidepool", description=__doc__)
    p.add_argument("--version", action="version", version=f"tidepool {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "serve",
        help="run the exchange server",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on")
    s.add_argument(
        "--port", type=_count(0, 65535), default=7700, help="0 picks a free port and prints it"
    )
    s.add_argument(
        "--state-dir", type=Path, default=Path("tidepool-data"), help="journal and snapshots"
    )
    s.add_argument(
        "--durability",
        choices=["process", "fsync", "none"],
        default="process",
        help="process: journaled to the OS before the answer (survives kill -9); "
        "fsync: fsynced with group commit (survives power loss); none: in memory only",
    )
    s.add_argument(
        "--snapshot-every", type=_count(1), default=100_000, help="commands between snapshots"
    )
    s.add_argument("--markets", type=Path, help="JSON file with the market list")
    s.add_argument(
        "--strict-auth", action="store_true", help="reject replays and future timestamps"
    )
    s.add_argument("--max-open-orders", type=_count(1), default=1000, help="per account")
    s.add_argument(
        "--price-band-percent",
        type=_fraction,
        default=Decimal(50),
        help="reject limit prices further than this from the mark (error 30); 0 turns it off",
    )
    s.add_argument("--maker-fee", type=_fraction, default=Decimal("0.00015"), help="of notional")
    s.add_argument("--taker-fee", type=_fraction, default=Decimal("0.0004"), help="of notional")
    s.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error", "critical"],
        help="server log verbosity",
    )
    s.add_argument(
        "--speedbump-ms",
        type=_count(0),
        default=100,
        help="GTC/IOC creates wait a random delay in [N/2, N] ms before matching; 0 turns it off",
    )
    s.add_argument(
        "--rate-limit",
        type=_count(1),
        default=None,
        help="credits per rolling 60 s per account for requests with a PF-API-KEY header "
        "(1 a request, 0.5 a cancel; over it: 429); default: no quota",
    )
    _dev_account_options(s)
    s.add_argument("--config-out", type=Path, help="also write the start-up banner there as JSON")
    s.add_argument(
        "--workers",
        type=_count(0, 64),
        default=0,
        help="gateway worker processes doing HTTP and signature checks in front of the engine "
        "process (more signed requests/s on several cores); 0 = one process does everything",
    )

    s.add_argument(
        "--sandbox",
        choices=["on", "off"],
        default="on",
        help="off: no /sandbox/ routes (faucet, mark price, state hash); they take no signature",
    )

    a = sub.add_parser(
        "accounts",
        help="print the dev accounts a seed gives, without starting a server",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _dev_account_options(a)
    a.add_argument("--json", action="store_true", help="as --config-out writes them")

    j = sub.add_parser("journal", help="offline state-dir tools")
    jsub = j.add_subparsers(dest="journal_command", required=True)
    v = jsub.add_parser("verify", help="check a state dir without starting a server")
    v.add_argument("state_dir", type=Path)
    r = jsub.add_parser("replay", help="rebuild the state and print its hash")
    r.add_argument("state_dir", type=Path)
    r.add_argument("--markets", type=Path)
    f = jsub.add_parser(
        "repair",
        help="cut the journal at damage that start-up refuses: says what is lost, and only "
        "changes the state dir with --yes (stop the server first)",
    )
    f.add_argument("state_dir", type=Path)
    f.add_argument("--yes", action="store_true", help="do the cut (without it: only tell)")
    f.add_argument("--markets", type=Path)
    cli_client.add_commands(sub)  # keygen, order ..., orders, positions, account, book, watch
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in cli_client.COMMANDS:
        return cli_client.run(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "accounts":
        return _accounts(args)
    return _journal(args)


def _serve(args: argparse.Namespace) -> int:
    from tidepool.journal.errors import StateDirError
    from tidepool.server.boot import serve
    from tidepool.server.errors import CannotStart

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    cfg = Config(
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        durability=args.durability,
        snapshot_every=args.snapshot_every,
        strict_auth=args.strict_auth,
        max_open_orders=args.max_open_orders,
        price_band_percent=args.price_band_percent,
        maker_fee=args.maker_fee,
        taker_fee=args.taker_fee,
        log_level=args.log_level,
        speedbump_ms=args.speedbump_ms,
        seed=args.seed,
        workers=args.workers,
        sandbox=args.sandbox == "on",
        accounts=args.accounts,
        balance=args.balance,
        config_out=args.config_out,
        rate_limit=args.rate_limit,
    )
    try:
        if args.markets is not None:
            cfg = dataclasses.replace(cfg, markets=_markets(args.markets))
        serve(cfg)
    except (StateDirError, CannotStart) as exc:
        sys.stderr.write(f"tidepool: cannot start: {exc}\n")
        return 2
    return 0


def _accounts(args: argparse.Namespace) -> int:
    from tidepool.server.banner import Banner, rows, show, to_json
    from tidepool.server.devaccounts import dev_accounts

    accounts = dev_accounts(args.seed, args.accounts)
    banner = Banner(seed=args.seed, accounts=rows(accounts, [args.balance] * len(accounts)))
    if args.json:
        sys.stdout.buffer.write(to_json(banner))
    else:
        show(banner, sys.stdout)
    return 0


def _markets(path: Path) -> tuple[MarketSpec, ...]:
    """--markets FILE, or CannotStart naming the file and what is wrong with it."""
    from tidepool.server.errors import CannotStart

    try:
        return load_markets(path)
    except OSError as exc:
        raise CannotStart(f"--markets {path}: {exc.strerror}") from None
    except (ValueError, msgspec.DecodeError) as exc:  # msgspec's ValidationError is one too
        raise CannotStart(f"--markets {path}: {exc}") from None


def _journal(args: argparse.Namespace) -> int:
    """Offline tools: verify and replay open the state dir read-only; only `repair --yes`
    changes it."""
    from tidepool.journal.errors import StateDirError
    from tidepool.journal.tools import replay, verify

    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    if args.journal_command == "verify":
        report = verify(args.state_dir)
        sys.stdout.write(f"{report}\n")
        return 0 if report.ok else 1
    markets = load_markets(args.markets) if args.markets is not None else None
    if args.journal_command == "repair":
        return _repair(args.state_dir, markets, args.yes)
    try:
        engine, recovery = replay(args.state_dir, markets)
    except StateDirError as exc:
        sys.stderr.write(f"tidepool: cannot replay: {exc}\n")
        return 1
    sys.stdout.write(f"{recovery}\nlast_order_id {engine.last_order_id}\n")
    return 0


def _repair(state_dir: Path, markets: Sequence[MarketSpec] | None, yes: bool) -> int:
    """0: start-up now recovers the dir (or already did); 1: damage found, nothing changed
    (no --yes); 2: not something a cut can repair, or a server holds the dir."""
    from tidepool.journal.errors import StateDirError
    from tidepool.journal.repair import RepairPlan, plan_repair, repair

    try:
        if yes:
            plan, report = repair(state_dir, markets)
        else:
            found = plan_repair(state_dir, markets)
            if isinstance(found, RepairPlan):
                sys.stdout.write(
                    f"{found}\nnothing changed: run `tidepool journal repair {state_dir} --yes` "
                    f"with no server running on it to do this\n"
                )
                return 1
            plan, report = None, found
    except StateDirError as exc:
        sys.stderr.write(f"tidepool: cannot repair: {exc}\n")
        return 2
    if plan is None:
        sys.stdout.write(
            f"nothing to repair: start-up recovers this state dir as it is\n{report}\n"
        )
    else:
        sys.stdout.write(f"{plan}\nrepaired: start-up now recovers to seq {report.last_seq}\n")
    return 0
