"""The state-dir manifest: which on-disk format a directory holds, checked before anything else.

Invariants:
- A directory is used only if its manifest names FORMAT_VERSION; anything else is refused with
  IncompatibleStateDir, before any other file is read or touched.
- A missing directory, or an empty one, is initialised (manifest written atomically). A
  non-empty directory without a manifest is refused: it is not ours to write into.
- Bump FORMAT_VERSION whenever the record framing, the snapshot header or the Command encoding
  changes incompatibly (a journal is a list of encoded Commands).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tidepool import __version__
from tidepool.journal.errors import IncompatibleStateDir, StateDirError
from tidepool.journal.layout import MANIFEST, write_atomically

FORMAT = "tidepool-state"
FORMAT_VERSION = 1


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    format: str
    version: int
    created_by: str
    genesis_hash: str  # state hash of the fresh engine the journal starts from


def read_manifest(state_dir: Path) -> Manifest:
    path = state_dir / MANIFEST
    try:
        raw: Any = msgspec.json.decode(path.read_bytes())
    except FileNotFoundError:
        raise StateDirError(f"{state_dir}: not a tidepool state dir (no {MANIFEST})") from None
    except msgspec.DecodeError as exc:
        raise StateDirError(f"{path}: unreadable manifest: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise StateDirError(f"{path}: not a tidepool state dir manifest")
    if raw.get("version") != FORMAT_VERSION:
        raise IncompatibleStateDir(state_dir, raw.get("version"), FORMAT_VERSION)
    try:
        return msgspec.convert(raw, Manifest)
    except msgspec.ValidationError as exc:
        raise StateDirError(f"{path}: invalid manifest: {exc}") from None


def is_initialised(state_dir: Path) -> bool:
    return (state_dir / MANIFEST).exists()


def initialise(state_dir: Path, genesis_hash: str) -> Manifest:
    """Create the directory's manifest; refuses a non-empty directory that has none."""
    state_dir.mkdir(parents=True, exist_ok=True)
    if any(state_dir.iterdir()):
        raise StateDirError(
            f"{state_dir}: directory is not empty and has no {MANIFEST}; "
            f"refusing to use it as a state dir"
        )
    manifest = Manifest(
        format=FORMAT,
        version=FORMAT_VERSION,
        created_by=f"tidepool {__version__}",
        genesis_hash=genesis_hash,
    )
    write_atomically(state_dir / MANIFEST, msgspec.json.encode(manifest))
    return manifest
