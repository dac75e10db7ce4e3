"""The options every client command shares, and the `Client` (or `WebSocketClient`) they
describe.

The key: `--key-file FILE` (a Solana CLI keypair file, or a file holding base58 text), else the
environment variable TIDEPOOL_KEY (base58 of a 32-byte seed or a 64-byte secret, or a keypair
file's path). `--agent-key` signs instead, for the key's account or `--account`. A key is read
only when a command needs one, and never echoed in an error. The WebSocket commands (`book`,
`watch`) also take `--ws-url`, by default the one that goes with `--url` (`tidepool.client.ws_url`).

A command that signs asks a Tidepool server for its clock first (`GET /sandbox/time`) and signs
with that time (`tidepool.client.ServerClock`): after `tidepool time advance 1d` the server's
clock is a day ahead of this machine's, and a request signed with the wall clock would have
expired a day ago. Pacifica, or a server without the sandbox routes, gets the wall clock.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

from solders.keypair import Keypair

from tidepool.client import (
    LOCAL_URL,
    MAINNET_URL,
    TESTNET_URL,
    ApiError,
    Client,
    ServerClock,
    WebSocketClient,
    load_keypair,
    ws_url,
)

__all__ = [
    "KEY_ENV",
    "URL_ENV",
    "connection_options",
    "decimal",
    "open_client",
    "open_ws_client",
    "ws_options",
]

KEY_ENV: Final = "TIDEPOOL_KEY"
URL_ENV: Final = "TIDEPOOL_URL"


def connection_options(*, keys: bool = True) -> argparse.ArgumentParser:
    """A parent parser: `--url`, the keys (not with `keys=False`: for the sandbox commands, which
    sign nothing and read no account), `--json`."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection")
    g.add_argument(
        "--url",
        help=f"the exchange's REST root or host (default: ${URL_ENV}, else {LOCAL_URL}; "
        "Pacifica: https://api.pacifica.fi/api/v1)",
    )
    if keys:
        _key_options(g)
    g.add_argument(
        "--json", action="store_true", help="print one JSON document (scripts), errors included"
    )
    return p


def _key_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--key-file",
        type=Path,
        help=f"the account's secret key: a Solana CLI keypair file or a file holding base58 "
        f"(default: ${KEY_ENV}, base58 or a keypair file's path)",
    )
    g.add_argument(
        "--agent-key",
        help="an agent wallet's secret key (base58, or a keypair file) that signs for the account",
    )
    g.add_argument(
        "--account",
        help="the account's address, when it is not the key's (agent signing, reading another "
        "account)",
    )


def ws_options() -> argparse.ArgumentParser:
    """A parent parser for the commands that use the WebSocket: `--ws-url`."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--ws-url",
        help="the exchange's WebSocket (default: the one of --url: Tidepool's host at /ws, "
        "Pacifica's wss://ws.pacifica.fi/ws for its REST URL)",
    )
    return p


def decimal(text: str) -> Decimal:
    """An argparse type: a finite decimal number, kept exact (never a float)."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def url(args: argparse.Namespace) -> str:
    given: str | None = args.url or os.environ.get(URL_ENV)
    return given or LOCAL_URL


def _main_key(args: argparse.Namespace) -> Keypair | None:
    if args.key_file is not None:
        path: Path = args.key_file
        try:
            text = path.expanduser().read_text()
        except OSError as exc:
            raise ValueError(f"--key-file {path}: {exc.strerror}") from None
        try:
            return load_keypair(text)  # a keypair file's JSON array, or base58 text
        except ValueError as exc:
            raise ValueError(f"--key-file {path}: {exc}") from None
    env = os.environ.get(KEY_ENV)
    if not env:
        return None
    try:
        return load_keypair(env)
    except ValueError as exc:
        raise ValueError(f"${KEY_ENV}: {exc}") from None


def _agent_key(args: argparse.Namespace) -> Keypair | None:
    if args.agent_key is None:
        return None
    try:
        return load_keypair(args.agent_key)
    except ValueError as exc:
        raise ValueError(f"--agent-key: {exc}") from None


def _keys(
    args: argparse.Namespace, *, signs: bool, reads_account: bool
) -> tuple[Keypair | None, Keypair | None]:
    """The account's key and the agent's. `signs`: the command sends a signed operation, so a key
    is required; `reads_account`: it reads an account, so an address (a key's, or --account) is.
    Missing either is a usage error naming the options that give it; so is an agent key with no
    account to sign for."""
    key, agent = _main_key(args), _agent_key(args)
    if signs and key is None and agent is None:
        raise ValueError(f"this command signs: give --key-file, set ${KEY_ENV}, or --agent-key")
    if (signs or reads_account or agent is not None) and key is None and args.account is None:
        needs = (
            "--account with --agent-key"
            if agent is not None
            else "--key-file, $TIDEPOOL_KEY or --account"
        )
        raise ValueError(f"which account? give {needs}")
    return key, agent


def open_client(
    args: argparse.Namespace, *, signs: bool = False, reads_account: bool = False
) -> Client:
    """The REST client the options describe (`_keys` says what `signs` and `reads_account`
    require)."""
    key, agent = _keys(args, signs=signs, reads_account=reads_account)
    clock = ServerClock()
    client = Client(url(args), key=key, agent_key=agent, account=args.account, clock=clock)
    if signs and client.base_url not in (MAINNET_URL, TESTNET_URL):
        # No sandbox routes there (--sandbox off): ApiError, and the wall clock it is.
        with contextlib.suppress(ApiError):
            clock.follow(client.sandbox.time())
    return client


def open_ws_client(args: argparse.Namespace, *, reads_account: bool = False) -> WebSocketClient:
    """The WebSocket client the options describe (`ws_options` among them), not yet open."""
    key, agent = _keys(args, signs=False, reads_account=reads_account)
    try:  # the keys were checked: a ValueError here is about the URL
        return WebSocketClient(
            args.ws_url or ws_url(url(args)), key=key, agent_key=agent, account=args.account
        )
    except ValueError as exc:
        raise ValueError(f"{'--url' if args.ws_url is None else '--ws-url'}: {exc}") from None
