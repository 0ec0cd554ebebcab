"""Dependencies point one way: core <- codecs <- chain/adapters <- app/cli. Checked on the import graph.

Each layer lists the keeper packages it may import (an allow-list: a new edge between layers fails until
it is written down here). The pure layers (core, codecs, the local venue engine, the simulator) may not
import I/O libraries, clocks or randomness, so the very same strategy and codec code runs in the
simulator and live.
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
# The simulator and the local venue engine are pure too (numpy randomness is seeded and passed in).
PURE_LAYERS = ("keeper.core", "keeper.codecs", "keeper.sim", "keeper.localvenue")

CORE = "keeper.core"
CODECS = "keeper.codecs"
CONFIG = "keeper.config"
CHAIN = "keeper.chain"
DEVCHAIN = "keeper.devchain"
LOCALVENUE = "keeper.localvenue"
ADAPTERS = "keeper.adapters"
APP = "keeper.app"
SIM = "keeper.sim"
SIMTOOLS = "keeper.simtools"
BENCH = "keeper.bench"
CLI = "keeper.cli"

# What the live process (keeper.app) is built from: never the simulator, its tooling or the benchmarks.
LIVE_STACK = {CORE, CODECS, CONFIG, CHAIN, DEVCHAIN, LOCALVENUE, ADAPTERS, APP}

# layer -> the keeper packages its modules may import (itself included); everything else is refused.
# A module belongs to the longest layer name that prefixes it.
ALLOWED: dict[str, set[str]] = {
    "keeper": {"keeper._version"},  # the package's __init__
    "keeper._version": set(),
    "keeper.__main__": {CLI},
    CORE: {CORE},
    CODECS: {CORE, CODECS},
    LOCALVENUE: {CORE, CODECS, LOCALVENUE},
    SIM: {CORE, SIM},
    # Beside the layers: the typed config reads only the pure [strategy] schema in core.
    CONFIG: {CORE, CONFIG},
    # Chain I/O never launches anvil: the dev harness sits beside it, not under it.
    CHAIN: {CORE, CODECS, CONFIG, CHAIN},
    DEVCHAIN: {CORE, CONFIG, DEVCHAIN},
    ADAPTERS: {CORE, CODECS, CONFIG, CHAIN, LOCALVENUE, ADAPTERS},
    APP: LIVE_STACK,
    # The simulator's reports and plots (matplotlib, files): the simulator and what it runs, no live I/O.
    SIMTOOLS: {CORE, CONFIG, SIM, SIMTOOLS},
    # Benchmarks measure live pieces against the peer and the simulator's speed: anything but the CLI.
    BENCH: LIVE_STACK | {SIM, SIMTOOLS, BENCH},
    # The commands run the live process; the simulator and the benchmarks only through their own command.
    CLI: LIVE_STACK | {CLI, "keeper._version"},
}
# Modules allowed beyond their layer's list: the commands that run the simulator and the benchmarks.
EXTRA: dict[str, set[str]] = {
    "keeper.cli._sim_cmd": {SIM, SIMTOOLS},
    "keeper.cli._bench_cmd": {BENCH, SIMTOOLS},
}

# The live process: nothing it imports, however indirectly, may be the simulator, its tooling or the
# benchmarks. (The `keeper` CLI's dispatcher imports every command, `keeper sim` included, so the rule
# is on the process, not the CLI.)
LIVE_ENTRY_POINTS = ("keeper.app", "keeper.app._run")
NOT_LIVE = (SIM, SIMTOOLS, BENCH)


def imports_of(path: Path) -> set[str]:
    """Top-level and dotted names a file imports (absolute imports only; keeper has no relative ones).
    `from package import name` gives `package.name` too, so `from keeper import sim` is seen."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "keeper":
                names.update(f"keeper.{alias.name}" for alias in node.names)
    return names


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str:
    return max((layer for layer in ALLOWED if _under(module, layer)), key=len)


def refused(module: str, imported: str) -> bool:
    """Whether keeper module `module` may not import `imported` (names outside keeper are not layers)."""
    if not _under(imported, "keeper"):
        return False
    allowed = ALLOWED[layer_of(module)] | EXTRA.get(module, set())
    return not any(_under(imported, prefix) for prefix in allowed)


def layer_violations(layer: str) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        if layer_of(module) != layer:
            continue
        found += [f"{module} imports {name}" for name in sorted(imports_of(path)) if refused(module, name)]
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_its_allow_list_names(layer: str) -> None:
    assert layer_violations(layer) == []


def test_every_package_has_an_allow_list() -> None:
    # A new top-level package must say what it may import (else it would fall under the root's list).
    tops = {module_name(p) for p in PACKAGE.glob("*.py")} | {
        module_name(p) for p in PACKAGE.glob("*/__init__.py")
    }
    assert sorted(tops - set(ALLOWED)) == []
    layers = {layer_of(module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert layers == set(ALLOWED)  # and every list is used: no stale layer


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("keeper.app._run", "keeper.sim"),
        ("keeper.app._run", "keeper.simtools.report"),
        ("keeper.app._run", "keeper.bench.mempool"),
        ("keeper.chain._keys", "keeper.devchain"),
        ("keeper.adapters.hyperliquid.venue", "keeper.devchain._anvil"),
        ("keeper.core.trading", "keeper.codecs.hyperliquid"),
        ("keeper.codecs.hyperliquid.signing", "keeper.chain._rpc"),
        ("keeper.sim._engine", "keeper.config"),
        ("keeper.cli._run_cmd", "keeper.sim"),
        ("keeper.cli._run_cmd", "keeper.bench"),
        ("keeper.cli._sim_cmd", "keeper.bench"),
    ],
)
def test_the_allow_list_refuses(module: str, imported: str) -> None:
    assert refused(module, imported)


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("keeper.cli._sim_cmd", "keeper.sim"),
        ("keeper.cli._bench_cmd", "keeper.bench"),
        ("keeper.app._run", "keeper.devchain"),
        ("keeper.core.venue", "msgspec"),
    ],
)
def test_the_allow_list_permits(module: str, imported: str) -> None:
    assert not refused(module, imported)


@pytest.mark.parametrize("layer", PURE_LAYERS)
def test_pure_layers_import_no_io(layer: str) -> None:
    found = []
    for path in sorted(PACKAGE.joinpath(*layer.split(".")[1:]).rglob("*.py")):
        for name in sorted(imports_of(path)):
            if any(_under(name, lib) for lib in IO_LIBRARIES):
                found.append(f"{module_name(path)} imports {name}")
    assert found == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("import time\nfrom aiohttp import web\nfrom keeper import sim\n")
    assert imports_of(bad) == {"time", "aiohttp", "keeper", "keeper.sim"}


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
    assert sorted(m for m in closure if any(_under(m, layer) for layer in NOT_LIVE)) == []


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
