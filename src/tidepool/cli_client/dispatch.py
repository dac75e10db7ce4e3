"""Which module runs each client command (the sandbox commands among them), and how its errors
become a line and an exit code (the codes are listed in `tidepool.cli_client`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tidepool.cli_client import book, keygen, reads, sandbox, trading, watch
from tidepool.cli_client.options import url
from tidepool.cli_client.output import Output, report
from tidepool.client import ApiError, ClientError, DecodingError, TransportError

__all__ = [
    "COMMANDS",
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "add_commands",
    "run",
]

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_TRANSPORT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# The modules that add commands, each with `register(subparsers)`.
_MODULES: tuple[Any, ...] = (keygen, trading, reads, book, watch, sandbox)
COMMANDS = frozenset(name for module in _MODULES for name in module.COMMANDS)


def add_commands(sub: Any) -> None:
    """Add the client commands to `tidepool`'s subparsers (argparse's private action type)."""
    for module in _MODULES:
        module.register(sub)


def run(args: argparse.Namespace) -> int:
    """Run a client command; its errors become one line on stderr and an exit code, never a
    traceback."""
    out = Output(json=args.json, stream=sys.stdout)
    try:
        args.handler(args, out)
    except ApiError as exc:
        report(out, f"{exc.message} (HTTP {exc.status}{_code(exc)})", exc.status, exc.code)
        return EXIT_API
    except TransportError as exc:
        report(out, _no_answer(args, exc), None, None)
        return EXIT_TRANSPORT
    except DecodingError as exc:
        report(out, str(exc), None, None)
        return EXIT_TRANSPORT
    except ClientError as exc:
        report(out, str(exc), None, None)
        return EXIT_API
    except ValueError as exc:
        # Bad keys, unreadable files (options.py and keygen.py say which), a value the client
        # will not send, no account to act for: the user's to fix.
        report(out, str(exc), None, None)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_OK


def _no_answer(args: argparse.Namespace, exc: TransportError) -> str:
    if args.command in sandbox.COMMANDS:
        # Only a Tidepool server has the sandbox routes: the likely fix is to start one.
        return (
            f"no Tidepool server at {url(args)} ({exc.__cause__ or exc}); start one with "
            "`tidepool serve`, or point --url at it"
        )
    return f"no answer: {exc}"


def _code(exc: ApiError) -> str:
    return "" if exc.code in (None, exc.status) else f", code {exc.code}"
