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
    "keeper.chain": ORCHESTRATION,
    "keeper.adapters": ORCHESTRATION,
    "keeper.config": IO_LAYERS,
    # The simulator and the local venue engine are pure too (numpy randomness is seeded and passed in).
    "keeper.sim": IO_LIBRARIES | IO_LAYERS,
    "keeper.localvenue": IO_LIBRARIES | IO_LAYERS,
}


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
