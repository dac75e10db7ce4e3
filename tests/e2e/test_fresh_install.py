"""The fresh-machine proof: the wheel, installed without extras, imports and serves.

The rest of the suite runs where `pip install -e '.[test]'` put every test dependency next to the
runtime ones, so a module that imports a test-only package (base58 once did) passes every test
and still crashes `tidepool serve` for a new user. Here the wheel goes into a new virtualenv with
its declared dependencies only, resolved by pip from the package index (the pip cache makes the
second run quick). The test process signs with its own recipe; the virtualenv only serves.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Sequence
from importlib.metadata import packages_distributions
from pathlib import Path

import httpx
import pytest

from pacifica_recipe import keypair, signed_body
from server_process import ServerProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

# A dead or unreachable index must end the test with pip's own error, not hang it.
_PIP_NETWORK = ("--timeout", "15", "--retries", "2", "--no-input", "--disable-pip-version-check")
_PIP_DEADLINE_S = 300

# Imported inside the virtualenv. `__main__` is skipped because importing it runs the CLI; the
# serve test runs that path. A package whose import fails re-raises instead of being skipped.
_IMPORT_EVERY_MODULE = """
import importlib, pkgutil, tidepool
def reraise(name):
    raise
for module in pkgutil.walk_packages(tidepool.__path__, "tidepool.", onerror=reraise):
    if not module.name.endswith(".__main__"):
        importlib.import_module(module.name)
print(tidepool.__file__)
"""


def _clean_env() -> dict[str, str]:
    """This environment without anything that would let the checkout leak into the venv."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }


def _run(cmd: Sequence[str], what: str, cwd: Path) -> str:
    try:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=_PIP_DEADLINE_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"{what}: no result after {_PIP_DEADLINE_S} s (is the package index reachable?)"
        )
    if done.returncode != 0:
        pytest.fail(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-4000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ of a new virtualenv holding the project's wheel and nothing it did not declare."""
    work = tmp_path_factory.mktemp("fresh-install")
    # setuptools writes build/ and *.egg-info next to the sources: build from a copy so the
    # checkout stays clean.
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    wheels = work / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            *_PIP_NETWORK,
            "-w",
            str(wheels),
            str(source),
        ],
        "building the wheel",
        work,
    )
    (wheel,) = wheels.glob("tidepool-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], "creating the virtualenv", work)
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *_PIP_NETWORK, str(wheel)],
        "installing the wheel without extras (pip resolves its dependencies from the index)",
        work,
    )
    return venv / "bin"


def test_every_tidepool_module_imports_from_a_wheel_installed_without_extras(
    venv_bin: Path,
) -> None:
    out = _run(
        [str(venv_bin / "python"), "-c", _IMPORT_EVERY_MODULE],
        "importing every tidepool module in the fresh virtualenv",
        venv_bin.parent,
    )
    # The modules came from the installed wheel, not from this checkout.
    assert Path(out.strip()).is_relative_to(venv_bin.parent)


def test_a_wheel_installed_without_extras_serves_a_signed_order_and_its_cancel(
    venv_bin: Path, tmp_path: Path
) -> None:
    kp = keypair(12)
    account = str(kp.pubkey())
    cloid = str(uuid.uuid4())
    order = {
        "symbol": "BTC",
        "price": "95000",
        "amount": "0.001",
        "side": "bid",
        "tif": "GTC",
        "reduce_only": False,
        "client_order_id": cloid,
    }
    # An empty PYTHONPATH adds nothing to sys.path: the checkout cannot leak into the server.
    with ServerProcess(
        tmp_path / "state", env={"PYTHONPATH": ""}, command=[str(venv_bin / "tidepool")]
    ) as srv:
        health = httpx.get(f"{srv.url}/health")
        assert health.json()["data"] == {"status": "ok"}
        faucet = httpx.post(
            f"{srv.url}/sandbox/faucet", json={"account": account, "amount": "10000"}
        )
        assert faucet.status_code == 200, faucet.text
        created = httpx.post(
            f"{srv.api}/orders/create", json=signed_body(kp, "create_order", order, _now_ms())
        )
        assert created.status_code == 200, created.text
        cancel = {"symbol": "BTC", "client_order_id": cloid}
        cancelled = httpx.post(
            f"{srv.api}/orders/cancel", json=signed_body(kp, "cancel_order", cancel, _now_ms())
        )
        assert cancelled.json() == {"success": True, "data": None, "error": None, "code": None}
        assert httpx.get(f"{srv.api}/orders", params={"account": account}).json()["data"] == []
    assert srv.proc is not None and srv.proc.returncode == 0


def _readme_quick_start() -> str:
    """The Python block of the README's "A first signed order and its cancel", verbatim."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## A first signed order and its cancel") :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("```\n", start)]


def test_the_readme_quick_start_runs_in_the_fresh_virtualenv_with_a_printed_dev_key(
    venv_bin: Path, tmp_path: Path
) -> None:
    """A new user's first minutes: command 1 prints the banner, and the README's snippet, pasted
    into the same virtualenv (it needs only what Tidepool installs), makes an order with the
    first printed dev key and cancels it."""
    snippet = _readme_quick_start()
    with ServerProcess(
        tmp_path / "state", env={"PYTHONPATH": ""}, command=[str(venv_bin / "tidepool")]
    ) as srv:
        dev_account_0 = next(line.split() for line in srv.banner() if line.startswith("  0  "))
        assert f'"{dev_account_0[2]}"' in snippet  # the secret it signs with is the printed one
        script = tmp_path / "quick_start.py"
        # The one change a user makes when the server is not on the default port.
        script.write_text(snippet.replace("http://127.0.0.1:7700", srv.url))
        out = _run([str(venv_bin / "python"), str(script)], "the README's quick start", tmp_path)
    created, orders, cancelled, cancelled_all = (ast.literal_eval(x) for x in out.splitlines())
    assert created["success"] is True and isinstance(created["data"]["order_id"], int)
    assert [o["order_id"] for o in orders["data"]] == [created["data"]["order_id"]]
    assert cancelled == {"success": True, "data": None, "error": None, "code": None}
    assert cancelled_all["data"] == {"cancelled_count": 0}


def test_every_package_tidepool_imports_is_a_declared_runtime_dependency() -> None:
    """Arriving through another package's dependencies is not enough: that can change under us
    (uvicorn[standard] leaves uvloop out on some platforms)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        _normalized(re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0])
        for req in project["dependencies"]
    }
    distributions = packages_distributions()
    undeclared = {
        f"{name} ({path.relative_to(ROOT)})"
        for path, name in _third_party_imports(ROOT / "src" / "tidepool")
        if not declared & {_normalized(d) for d in distributions.get(name, [name])}
    }
    assert not undeclared, f"imported but not in [project].dependencies: {sorted(undeclared)}"


def _third_party_imports(package: Path) -> set[tuple[Path, str]]:
    found: set[tuple[Path, str]] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top != "tidepool" and top not in sys.stdlib_module_names:
                    found.add((path, top))
    return found


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
