"""The layers of src/tidepool, lowest first, and the two rules that keep them layers:

* a module imports only from its own package or from a lower layer (the engine, the pure core,
  only from `domain`);
* no import cycle between files, counting imports inside functions too.

A lazy import inside a function is still an edge of the graph: it only hides a cycle. An import
under `if TYPE_CHECKING:` is not: it never runs, and only names a type for the checker.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tidepool

SRC = Path(tidepool.__file__).parent

# package (or top-level module) -> layer; a module may import only lower layers or its own.
LAYERS: dict[str, int] = {
    "pacifica": 0,  # the client-safe protocol: nothing else of tidepool
    "client": 1,  # tidepool.client: only the protocol package (a bot installs no exchange)
    "devserver": 1,  # a `tidepool serve` child process: the standard library only
    "pytest_plugin": 2,  # fixtures over a dev server and the client
    "domain": 0,
    "engine": 1,
    "journal": 2,
    "config": 2,
    "options": 0,  # the vocabulary of config's settings table
    "configsources": 3,  # flags, environment and file read into a Config
    "runtime": 3,
    "gateway": 4,
    "liquidity": 4,  # the market maker and the price walk: clients of the pipeline
    "server": 5,
    "cli_client": 5,  # the client commands: tidepool.client only; below cli, which adds them
    "cli": 6,
    "__main__": 7,
    "__init__": 0,
}
ENGINE_MAY_IMPORT = {"domain", "engine"}
CLIENT_MAY_IMPORT = {"pacifica", "client"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """The tidepool modules `path` imports (as dotted names under tidepool), anywhere in it."""
    found: set[str] = set()
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    modules = {module_name(p) for p in SRC.rglob("*.py")}
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name.removeprefix("tidepool.") for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *(node.module or "").split(".")]).strip(".")
            else:
                source = (node.module or "").removeprefix("tidepool.")
            # `from tidepool.engine import admin` imports the module engine.admin; `from
            # tidepool.engine.commands import Side` imports engine.commands.
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in modules else source)
    return {n for n in found if n in modules}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` except what sits under `if TYPE_CHECKING:`."""
    nodes: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def _graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in SRC.rglob("*.py")}


def test_no_module_imports_from_a_higher_layer() -> None:
    wrong = []
    for module, targets in _graph().items():
        top = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other == top:
                continue
            if top == "engine" and other not in ENGINE_MAY_IMPORT:
                wrong.append(f"{module} -> {target} (the engine imports only domain)")
            elif top == "client" and other not in CLIENT_MAY_IMPORT:
                wrong.append(f"{module} -> {target} (the client imports only pacifica)")
            elif LAYERS[other] >= LAYERS[top]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_import_cycles_between_files() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_scan_sees_lazy_imports() -> None:
    # The scan must not be blind to what it polices: a lazy import of a module is found.
    boot = SRC / "server" / "boot.py"
    assert "server.workers" in imports_of(boot)
