"""`keeper resume` as a process: clears a latched halt and records who, when and why; says so when
nothing was latched; a bad config is one line and exit 2. Nothing is launched."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from keeper.app.store import RiskRecord, Store, store_path
from keeper.config import KeeperConfig, load_config

REPO = Path(__file__).resolve().parents[2]


def keeper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keeper", *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """local.toml's shape in tmp_path: the store defaults to tmp_path/state/keeper.sqlite."""
    path = tmp_path / "deploy" / "local.toml"
    path.parent.mkdir()
    path.write_text((REPO / "chain_config" / "local.toml").read_text())
    return path


def test_resume_clears_a_latched_halt_and_records_it(config: Path) -> None:
    db = config.parent / "state" / "keeper.sqlite"
    with Store.open(db) as store:
        store.save_risk("local_hl", RiskRecord(high_water_mark=Decimal("1000000"), updated_ms=1))
        store.latch_halt("local_hl", "drawdown_halt", 1_700_000_000_000)

    result = keeper("resume", "--config", str(config), "--reason", "positions flat, loss understood")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "cleared drawdown_halt latched at 2023-11-14 22:13:20 UTC on account local_hl;"
    )
    assert "high-water mark 1000000 reset" in lines[0]

    with Store.open(db) as store:
        risk = store.load_risk("local_hl")
        assert risk is not None
        assert (risk.halted, risk.halt_reason, risk.high_water_mark) == (False, None, None)
        [action] = store.operator_actions("local_hl")
        assert action.reason == "positions flat, loss understood"
        assert action.cleared_reason == "drawdown_halt"
        assert re.fullmatch(r".+@.+/\d+", action.who)
        assert action.taken_ms is None  # pending for a running keeper
        taken = store.take_resume("local_hl")
        assert taken is not None
        assert taken.id == action.id

    again = keeper("resume", "--config", str(config), "--reason", "twice")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "nothing was latched for account local_hl\n"
    with Store.open(db) as store:
        assert len(store.operator_actions("local_hl")) == 1


def test_resume_of_another_account_and_without_a_store(config: Path) -> None:
    other = "hyperliquid:0x00000000000000000000000000000000000000aa"
    result = keeper("resume", "--config", str(config), "--account", other, "--reason", "x")
    assert result.returncode == 0, result.stderr
    db = config.parent / "state" / "keeper.sqlite"
    assert result.stdout == f"nothing was latched for account {other} (no store at {db})\n"
    assert not db.exists()  # a typo'd path does not leave an empty store behind
    with Store.open(db) as store:
        store.latch_halt(other, "drawdown_halt", 5)
        store.latch_halt("local_hl", "drawdown_halt", 5)
    result = keeper("resume", "--config", str(config), "--account", other, "--reason", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cleared drawdown_halt latched at 1970-01-01 00:00:00 UTC on account ")
    with Store.open(db) as store:
        cleared, untouched = store.load_risk(other), store.load_risk("local_hl")
        assert cleared is not None
        assert not cleared.halted
        assert untouched is not None
        assert untouched.halted


def test_config_errors_are_one_line_and_exit_2(tmp_path: Path, config: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[chain]\nname = 1\n")
    result = keeper("resume", "--config", str(bad), "--reason", "x")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"{bad}: chain.name: expected str, got int 1\n"
    empty = keeper("resume", "--config", str(config), "--reason", "  ")
    assert empty.returncode == 2
    assert len(empty.stderr.splitlines()) == 1
    assert "--reason" in empty.stderr
    missing = keeper("resume", "--config", str(config))
    assert missing.returncode == 2  # argparse: --reason is required


def test_store_path_defaults_beside_the_config_and_follows_a_store_section(config: Path) -> None:
    loaded = load_config(config)
    assert store_path(loaded, config) == config.parent / "state" / "keeper.sqlite"
    with_section: Any = SimpleNamespace(store=SimpleNamespace(path="db/k.sqlite"))
    assert store_path(with_section, config) == config.parent / "db" / "k.sqlite"
    absolute: Any = SimpleNamespace(store=SimpleNamespace(path="/var/lib/keeper/k.sqlite"))
    assert store_path(absolute, config) == Path("/var/lib/keeper/k.sqlite")


@pytest.mark.skipif(
    "store" not in KeeperConfig.__struct_fields__, reason="the config has no [store] section yet"
)
def test_resume_uses_the_configured_store_path(config: Path) -> None:
    config.write_text(config.read_text() + '\n[store]\npath = "db/custom.sqlite"\n')
    db = config.parent / "db" / "custom.sqlite"
    with Store.open(db) as store:
        store.latch_halt("local_hl", "drawdown_halt", 5)
    result = keeper("resume", "--config", str(config), "--reason", "custom path")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("cleared drawdown_halt")
    assert not (config.parent / "state").exists()
