"""The signing benchmark entry point, and the SDK rules: pure codec, SDK never imported by keeper/."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from keeper.bench.hl_signing import SdkUnavailableError, run_bench
from keeper.codecs import hyperliquid as codec_module
from keeper.codecs.hyperliquid import KECCAK_BACKEND, keccak256

CODEC_DIR = Path(codec_module.__file__).resolve().parent
KEEPER_DIR = CODEC_DIR.parents[1]
# I/O, clocks and event loops are the callers' business (the benchmark lives in keeper.bench).
FORBIDDEN_IN_CODEC = {"asyncio", "socket", "time", "datetime", "aiohttp", "websockets", "requests", "os"}
# eth_account is ~10x slower than the hot path and must stay out of the codec (other packages may use it).
FORBIDDEN_IN_CODEC_ANY_MODULE = {"hyperliquid", "eth_account"}


def test_run_bench_reports_all_keys() -> None:
    result = run_bench(3)
    expected = {
        "hl_sign_single_us",
        "sdk_sign_single_us",
        "hl_sign_batch20_us",
        "sdk_sign_batch20_us",
        "sdk_over_hl_single",
        "sdk_over_hl_batch20",
        "hl_build_sign_single_us",
    }
    assert set(result) == expected
    assert all(value > 0 for value in result.values())


def test_run_bench_without_sdk_raises_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def fake_import(name: str, package: str | None = None) -> ModuleType:
        if name.startswith("hyperliquid"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(SdkUnavailableError, match="hyperliquid-python-sdk"):
        run_bench(1)


def test_run_bench_rejects_bad_iterations() -> None:
    with pytest.raises(ValueError, match="iterations"):
        run_bench(0)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_keeper_never_imports_the_sdk() -> None:
    for path in KEEPER_DIR.rglob("*.py"):
        assert "hyperliquid" not in _imported_modules(path), path


def test_codec_modules_stay_pure() -> None:
    for path in CODEC_DIR.glob("*.py"):
        imported = _imported_modules(path)
        assert not (imported & FORBIDDEN_IN_CODEC_ANY_MODULE), path
        assert not (imported & FORBIDDEN_IN_CODEC), path
        assert "open(" not in path.read_text(), path


def test_importing_the_codec_does_not_load_the_sdk() -> None:
    code = (
        "import sys, keeper.codecs.hyperliquid, keeper.bench.hl_signing;"
        "assert not any(m == 'hyperliquid' or m.startswith('hyperliquid.') for m in sys.modules), "
        "'sdk loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fast_keccak_path_is_active_and_correct() -> None:
    assert KECCAK_BACKEND == "cffi-pycryptodome"
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
