"""`keeper config check FILE` as a process: a bad file is exit 2 and exactly one stderr line, whatever is
wrong with it, and key material never reaches the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.config.test_fail_safe import KEY, LOCAL, assert_no_key, in_strategy, local

SECRET_SHAPES = [
    pytest.param(in_strategy(f'note = "0X{KEY.upper()}"'), "strategy.note", id="0X-prefix"),
    pytest.param(in_strategy(f'note = "key:0x{KEY}"'), "strategy.note", id="key-colon"),
    pytest.param(in_strategy(f"note = 0x{KEY}"), "strategy.note", id="toml-hex-integer"),
    pytest.param(
        local("[devnet]", f'[devnet]\nfork_url = "https://rpc.example/v2/{KEY}"'), "devnet.fork_url", id="url"
    ),
    pytest.param(LOCAL + f'\n[venues."{KEY}"]\nkind = "dex"\n', "venues.***", id="table-key"),
    pytest.param(in_strategy(f'note = ["a", "{KEY}"]'), "strategy.note[1]", id="array"),
    pytest.param(in_strategy(f'note = {{ b = "0x{KEY}" }}'), "strategy.note.b", id="inline-table"),
    pytest.param(LOCAL + f"\n# {KEY}\n", "line ", id="comment"),
]

REFUSED = [
    pytest.param(local("stale_data_s = 5.0", "stale_data_s = inf"), "risk.stale_data_s", id="inf"),
    pytest.param(
        local("start_px = 2000.0", "start_px = inf"), "venues.local_hl.local_server.start_px", id="inf-px"
    ),
    pytest.param(
        local("requote_interval_s = 1.0", "requote_interval_s = 1e-6"),
        "strategy.requote_interval_s",
        id="requote",
    ),
    pytest.param(local("dead_man_s = 30.0", "dead_man_s = 5"), "venues.local_hl.dead_man_s", id="dead-man-5"),
    pytest.param(local("order_size = 0.5", "order_size = 1e-9"), "strategy.order_size", id="below-lot"),
    pytest.param(
        local("max_position = 10.0", "max_position = 1e-12"), "strategy.max_position", id="tiny-position"
    ),
    pytest.param(
        local("start_px = 2000.0", "start_px = 1e9"), "strategy.order_size", id="order-never-allowed"
    ),
]


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keeper", "config", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], prefix: str) -> None:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(prefix), result.stderr


def test_non_utf8_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(LOCAL.encode() + b"\n# caf\xe9\n")
    assert_one_line(check(path), f"{path}: (file): not UTF-8 text (byte 0xe9 at line ")


@pytest.mark.parametrize(("text", "field"), SECRET_SHAPES)
def test_key_material_is_one_line_without_the_key(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    result = check(path)
    assert_one_line(result, f"{path}: {field}")
    assert_no_key(result.stdout + result.stderr)


@pytest.mark.parametrize(("text", "field"), REFUSED)
def test_a_value_the_run_would_refuse_is_one_line(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert_one_line(check(path), f"{path}: {field}: ")
