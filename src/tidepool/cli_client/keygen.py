"""`tidepool keygen`: a new ed25519 keypair, which is an account on Pacifica and on Tidepool.

Printed as base58 (the public key is the address; the 64-byte secret is what TIDEPOOL_KEY,
Pacifica's web app and `Keypair.from_base58_string` read). `--out FILE` writes the secret as a
Solana CLI keypair file instead (a JSON array of the 64 bytes, as `solana-keygen new` does),
readable by its owner only, and prints just the public key: the secret stays in the file.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from solders.keypair import Keypair

from tidepool.cli_client.output import Output

__all__ = ["COMMANDS", "register"]

COMMANDS = ("keygen",)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "keygen",
        help="make a new keypair (an account) and print it, or write a Solana keypair file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, help="write a Solana CLI keypair JSON file there")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--json", action="store_true", help="print one JSON document (scripts)")
    p.set_defaults(handler=_keygen)


def _keygen(args: argparse.Namespace, out: Output) -> None:
    keypair = Keypair()
    public = str(keypair.pubkey())
    if args.out is None:
        secret = str(keypair)
        out.show(
            {"public_key": public, "secret_key": secret},
            f"public key  {public}\nsecret key  {secret}",
        )
        return
    _write_keypair_file(args.out, keypair, overwrite=args.force)
    out.show(
        {"public_key": public, "keypair_file": str(args.out)}, f"{public}  (secret in {args.out})"
    )


def _write_keypair_file(path: Path, keypair: Keypair, *, overwrite: bool) -> None:
    """Created with mode 0600 from the start, so the secret is never readable by others."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise ValueError(f"--out {path}: the file exists (--force overwrites it)") from None
    except OSError as exc:
        raise ValueError(f"--out {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(list(bytes(keypair)), separators=(",", ":")))
