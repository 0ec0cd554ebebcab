"""Dependencies point one way: core <- codecs <- chain/adapters <- app/cli. Checked on the import graph.

The pure layers (core, codecs) may not import I/O libraries, clocks or randomness, so the very same
strategy and codec code runs in the simulator and live.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "keeper"

IO_LIBRARIES = {
    "aiohttp",
    "asyncio",
    "websockets",
    "web3",
    "socket",
    "http",
    "urllib",
    "requests",
    "subprocess",
    "time",
    "timeit",
    "datetime",
    "random",
    "os",
    "pathlib",
    "apscheduler",
    "hyperliquid",
}
ORCHESTRATION = {"keeper.app", "keeper.cli"}
IO_LAYERS = {"keeper.chain", "keeper.adapters", "keeper.devchain", *ORCHESTRATION}

# layer -> module prefixes it must not import
FORBIDDEN: dict[str, set[str]] = {
    "keeper.core": IO_LIBRARIES | IO_LAYERS | {"keeper.codecs"},
    "keeper.codecs": IO_LIBRARIES | IO_LAYERS,
    "keeper.chain": ORCHESTRATION | {"keeper.devchain", "keeper.sim", "keeper.simtools", "keeper.bench"},
    "keeper.adapters": ORCHESTRATION | {"keeper.devchain", "keeper.sim", "keeper.simtools", "keeper.bench"},
    # The live process: no simulator, no simulator tooling, no benchmarks (the CLI's commands may).
    "keeper.app": {"keeper.sim", "keeper.simtools", "keeper.bench"},
    "keeper.config": IO_LAYERS,
    # The simulator and the local venue engine are pure too (numpy randomness is seeded and passed in).
    "keeper.sim": IO_LIBRARIES | IO_LAYERS,
    "keeper.localvenue": IO_LIBRARIES | IO_LAYERS,
}


# Live code (the process, its commands) never imports the simulator: what both run (the maker, its config
# schema and builder) lives in keeper.core. The `keeper sim` command's own modules are the exception.
LIVE = ("keeper.app", "keeper.cli")
SIM_COMMAND = {"keeper.cli._sim_cmd"}
# The live process: nothing it imports, however indirectly, may be the simulator. (The `keeper` CLI's
# dispatcher imports every command, `keeper sim` included, so the rule is on the process, not the CLI.)
LIVE_ENTRY_POINTS = ("keeper.app", "keeper.app._run")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def violations(layer: str, forbidden: set[str]) -> list[str]:
    root = PACKAGE.joinpath(*layer.split(".")[1:])
    found = []
    for path in sorted(root.rglob("*.py")):
        for name in imports_of(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{module_name(path)} imports {name}")
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer: str) -> None:
    if not PACKAGE.joinpath(*layer.split(".")[1:]).exists():
        pytest.skip(f"{layer} does not exist yet")
    assert violations(layer, FORBIDDEN[layer]) == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("import time\nfrom aiohttp import web\n")
    assert imports_of(bad) == {"time", "aiohttp"}


@pytest.mark.parametrize("layer", LIVE)
def test_live_code_does_not_import_the_simulator(layer: str) -> None:
    found = [v for v in violations(layer, {"keeper.sim"}) if v.split(" imports ")[0] not in SIM_COMMAND]
    assert found == []


def module_path(name: str) -> Path | None:
    """The file of module `name` inside the package, or None (not ours, or not a module)."""
    base = PACKAGE.parent.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def import_closure(name: str) -> set[str]:
    """Every keeper module importing `name` imports, transitively: parent packages, and for
    `from package import submodule` the submodule."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen or (path := module_path(current)) is None:
            continue
        seen.add(current)
        parts = current.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return seen


@pytest.mark.parametrize("entry", LIVE_ENTRY_POINTS)
def test_the_live_process_never_loads_the_simulator(entry: str) -> None:
    closure = import_closure(entry)
    assert "keeper.core.strategy_config" in closure  # the walk reaches the maker's builder
    assert sorted(m for m in closure if m == "keeper.sim" or m.startswith("keeper.sim.")) == []


def test_the_closure_follows_from_imports_to_the_simulator() -> None:
    assert "keeper.sim._engine" in import_closure("keeper.cli._sim_cmd")
    assert "keeper.sim._scenario" in import_closure("keeper.simtools.catalog")


def _module_graph() -> dict[str, set[str]]:
    """keeper module -> the keeper modules it imports (TYPE_CHECKING imports included: a cycle there is
    still a design cycle). `from keeper.x import name` points at keeper.x.name when that is a module."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
            else:
                continue
            for target in targets:
                if target in modules and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_import_cycles_between_modules() -> None:
    # A package's __init__ re-exporting its own modules is not a cycle of design: leave those edges out.
    graph = {
        name: {t for t in targets if not (name.startswith(t + ".") or t.startswith(name + "."))}
        for name, targets in _module_graph().items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
