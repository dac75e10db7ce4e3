"""`tidepool` command line: serve, offline journal tools, and the client commands of
`tidepool.cli_client` (keygen, order, orders, positions, account, book, watch, and the sandbox
cheats of a running server: faucet, balance, mark, time, snapshot, revert, reset)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tidepool import __version__
from tidepool.config import Config, load_markets
from tidepool.configsources import ConfigError, add_flags, resolve
from tidepool.domain.markets import MarketSpec

# The settings that fix the dev accounts: `accounts` reads them as `serve` does.
_DEV_ACCOUNT_SETTINGS = ("seed", "accounts", "balance")

# Commands that never need tidepool.cli_client: its imports (httpx, the client, rich's live
# display) cost `tidepool serve` 0.15-0.25 s of its start-up, so they are only made for the
# client commands and for a bare `tidepool --help`.
_SERVER_COMMANDS = frozenset({"serve", "accounts", "journal"})


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tidepool", description=__doc__)
    p.add_argument("--version", action="version", version=f"tidepool {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser(
        "serve",
        help="run the exchange server",
        description="Every setting is also TIDEPOOL_<NAME> in the environment and <name> in a "
        "config file; flags win over the environment, which wins over the file.",
    )
    add_flags(s)

    a = sub.add_parser(
        "accounts", help="print the dev accounts a seed gives, without starting a server"
    )
    add_flags(a, only=_DEV_ACCOUNT_SETTINGS)
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
    if next((a for a in argv if not a.startswith("-")), None) not in _SERVER_COMMANDS:
        from tidepool import cli_client

        cli_client.add_commands(sub)  # keygen, order ..., book, watch, faucet, mark, time, ...
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv).parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "accounts":
        return _accounts(args)
    if args.command == "journal":
        return _journal(args)
    from tidepool import cli_client

    return cli_client.run(args)


def _serve(args: argparse.Namespace) -> int:
    from tidepool.journal.errors import StateDirError
    from tidepool.server.boot import serve
    from tidepool.server.errors import CannotStart
    from tidepool.server.logsetup import configure_logging

    cfg = _config(args)
    if cfg is None:
        return 2
    configure_logging(cfg.log_level, json=cfg.log_json)
    try:
        serve(cfg)
    except (StateDirError, CannotStart) as exc:
        sys.stderr.write(f"tidepool: cannot start: {exc}\n")
        return 2
    return 0


def _config(args: argparse.Namespace) -> Config | None:
    """The settings of flags, environment and config file; None after printing the one line
    that says which one is wrong."""
    try:
        return resolve(vars(args), os.environ, Path.cwd(), getattr(args, "config_file", None))
    except ConfigError as exc:
        sys.stderr.write(f"tidepool: cannot start: {exc}\n")
        return None


def _accounts(args: argparse.Namespace) -> int:
    from tidepool.server.banner import Banner, rows, show, to_json
    from tidepool.server.devaccounts import dev_accounts

    cfg = _config(args)
    if cfg is None:
        return 2
    accounts = dev_accounts(cfg.seed, cfg.accounts)
    banner = Banner(seed=cfg.seed, accounts=rows(accounts, [cfg.balance] * len(accounts)))
    if args.json:
        sys.stdout.buffer.write(to_json(banner))
    else:
        show(banner, sys.stdout)
    return 0


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
