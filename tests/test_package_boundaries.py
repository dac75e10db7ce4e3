"""Package boundaries a user of the library relies on.

* `tidepool.pacifica` is safe for a client to import: none of its modules imports any other part
  of tidepool, so signing a request never pulls in the exchange.
* `tidepool.client` imports nothing of tidepool but itself and `tidepool.pacifica`: it signs with
  the code the server verifies with, and a bot that installs it runs none of the exchange.
* A package's `__all__` lists exactly the public names it offers, and each of them exists.
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

import tidepool.client
import tidepool.pacifica

PACIFICA_DIR = Path(tidepool.pacifica.__file__).parent
CLIENT_DIR = Path(tidepool.client.__file__).parent

# Every package pins its public surface with `__all__` (found on disk, so a new one is in too).
PACKAGES_WITH_ALL = sorted(
    f"tidepool.{init.parent.name}" for init in PACIFICA_DIR.parent.glob("*/__init__.py")
)


def imports_leaving(path: Path, package: str) -> list[str]:
    """The imports in `path`, a module directly inside `package`, that reach another tidepool
    module: absolute ones outside `package`, and relative ones of two dots or more."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            continue  # `from . import x`, `from .x import y`: a sibling module
        elif isinstance(node, ast.ImportFrom):
            names = ["." * node.level + (node.module or "")]
        else:
            continue
        for name in names:
            inside = name == package or name.startswith(package + ".")
            if name.startswith(".") or (name.split(".")[0] == "tidepool" and not inside):
                found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_the_protocol_package_imports_nothing_else_of_tidepool() -> None:
    files = sorted(PACIFICA_DIR.glob("*.py"))
    assert {"canonical.py", "keys.py", "sign.py", "errors.py"} <= {f.name for f in files}
    assert [hit for f in files for hit in imports_leaving(f, "tidepool.pacifica")] == []


def test_the_client_package_imports_only_itself_and_the_protocol_package() -> None:
    files = sorted(CLIENT_DIR.rglob("*.py"))
    assert {"__init__.py", "base.py", "sync_client.py", "async_client.py"} <= {
        f.name for f in files
    }
    leaving = [hit for f in files for hit in imports_leaving(f, "tidepool.client")]
    assert [hit for hit in leaving if not hit.split(" ")[1].startswith("tidepool.pacifica")] == []
    assert any("tidepool.pacifica" in hit for hit in leaving)  # signing comes from there


def test_the_import_scan_catches_imports_that_leave_the_package(tmp_path: Path) -> None:
    module = tmp_path / "mod.py"
    module.write_text(
        "import tidepool.engine.book\n"
        "from tidepool.gateway import verify\n"
        "from .. import config\n"
        "from ..engine import state\n"
        "import tidepool\n"
        "from tidepool.pacifica.keys import as_keypair\n"
        "from . import keys\n"
        "import tidepoolish, json\n"
    )
    assert imports_leaving(module, "tidepool.pacifica") == [
        "mod.py:1 tidepool.engine.book",
        "mod.py:2 tidepool.gateway",
        "mod.py:3 ..",
        "mod.py:4 ..engine",
        "mod.py:5 tidepool",
    ]


def public_names(package: types.ModuleType) -> set[str]:
    """What `from package import *` would offer without `__all__`: the public names bound in the
    package, less its submodules and `from __future__` flags."""
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and type(value).__module__ != "__future__"
    }


@pytest.mark.parametrize("name", PACKAGES_WITH_ALL)
def test_a_package_all_lists_exactly_its_public_names(name: str) -> None:
    package = importlib.import_module(name)
    listed = getattr(package, "__all__", None)
    assert listed is not None, f"{name} has no __all__"
    assert len(listed) == len(set(listed)), f"{name}.__all__ repeats a name"
    missing = [n for n in listed if not hasattr(package, n)]
    assert missing == [], f"{name}.__all__ lists names it does not have"
    assert sorted(public_names(package) - set(listed)) == [], f"{name} exports names not in __all__"


def test_the_all_check_sees_an_unlisted_public_name() -> None:
    package = types.ModuleType("fake")
    package.__all__ = ["listed"]  # type: ignore[attr-defined]
    package.listed = 1  # type: ignore[attr-defined]
    package.forgotten = 2  # type: ignore[attr-defined]
    package._private = 3  # type: ignore[attr-defined]
    package.submodule = types.ModuleType("fake.submodule")  # type: ignore[attr-defined]
    assert public_names(package) == {"listed", "forgotten"}
