"""Secret keys as people hold them: base58 text (a 32-byte seed or a 64-byte Solana secret, what
Pacifica's web app and Tidepool's banner print), or a Solana CLI keypair file (a JSON array of
the 64 secret bytes, what `solana-keygen new` writes).

The bytes go to `tidepool.pacifica.as_keypair`, the same parser the server's tools use, so a
64-byte secret whose public half does not match its seed is refused here too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from solders.keypair import Keypair

from tidepool.pacifica import as_keypair

__all__ = ["KeySource", "load_keypair"]

KeySource = Keypair | str | bytes | os.PathLike[str]


def load_keypair(source: KeySource) -> Keypair:
    """A Keypair from a Keypair, raw bytes, base58 text, a JSON array, or a keypair file path.

    Text is a path when such a file exists, a JSON array when it starts with ``[``, else base58.
    Raises ValueError naming what was wrong (never echoing the secret).
    """
    if isinstance(source, Keypair | bytes):
        return as_keypair(source)
    if isinstance(source, os.PathLike):
        return _from_file(Path(source))
    text = source.strip()
    if text.startswith("["):
        return _from_json(text, "the key text")
    if _looks_like_path(text):
        return _from_file(Path(text))
    try:
        return as_keypair(text)
    except ValueError as exc:
        raise ValueError(
            "a key is base58 of a 32-byte seed or a 64-byte secret, or a keypair file"
        ) from exc


def _looks_like_path(text: str) -> bool:
    # base58 has no "/", "." or "~", so text holding one can only be meant as a path.
    return any(c in text for c in "/.~") or Path(text).is_file()


def _from_file(path: Path) -> Keypair:
    path = path.expanduser()
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read the keypair file {path}: {exc.strerror}") from exc
    return _from_json(text, str(path))


def _from_json(text: str, where: str) -> Keypair:
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not a JSON array of 64 bytes") from exc
    if (
        not isinstance(values, list)
        or len(values) not in (32, 64)
        or not all(type(v) is int and 0 <= v <= 255 for v in values)
    ):
        raise ValueError(f"{where}: a keypair file holds a JSON array of 64 integers 0..255")
    try:
        return as_keypair(bytes(values))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
