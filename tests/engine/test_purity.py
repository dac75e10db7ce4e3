"""The engine is pure: no module under src/tidepool/engine imports a clock, randomness, I/O,
concurrency or logging. An allow marker (`# purity: allow`) on the import line is the explicit
escape hatch; none is used today."""

from __future__ import annotations

import ast
from pathlib import Path

import tidepool.engine

BANNED = {
    "time",
    "datetime",
    "random",
    "uuid",
    "asyncio",
    "os",
    "logging",
    "socket",
    "threading",
    "secrets",
    "subprocess",
    "io",
    "pathlib",
    "sys",
}
ENGINE_DIR = Path(tidepool.engine.__file__).parent


def banned_imports(path: Path) -> list[str]:
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if "# purity: allow" in lines[node.lineno - 1]:
            continue
        found += [f"{path.name}:{node.lineno} {n}" for n in names if n.split(".")[0] in BANNED]
    return found


def test_engine_modules_import_nothing_impure() -> None:
    files = sorted(ENGINE_DIR.glob("*.py"))
    assert len(files) >= 10
    assert [hit for f in files for hit in banned_imports(f)] == []


def test_the_scanner_catches_a_banned_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os.path\nfrom time import monotonic\nimport random  # purity: allow\n")
    assert banned_imports(bad) == ["bad.py:1 os.path", "bad.py:2 time"]
