"""The keeper CLI as a process: version, and `run` on a launched anvil stopping cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keeper import __version__

REPO = Path(__file__).resolve().parents[2]


def keeper(*args: str) -> list[str]:
    return [sys.executable, "-m", "keeper", *args]


def test_version() -> None:
    result = subprocess.run(keeper("version"), capture_output=True, text=True, check=True)
    assert result.stdout == f"keeper {__version__}\n"


def test_unknown_command_is_a_usage_error() -> None:
    result = subprocess.run(keeper("frobnicate"), capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_run_with_bad_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[chain]\nname = 1\n")
    result = subprocess.run(keeper("run", "--config", str(bad)), capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"{bad}: chain.name: expected str, got int 1"


def pid_gone(pid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split()[2] == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.chain
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_local_logs_blocks_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    config = (
        (REPO / "chain_config" / "local.toml").read_text().replace("block_time_s = 1.0", "block_time_s = 0.2")
    )
    path = tmp_path / "local.toml"
    path.write_text(config)
    log_path = tmp_path / "keeper.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(keeper("run", "--config", str(path)), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(re.findall(r"block \d+ ", log_path.read_text())) < 3:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(0.1)
        text = log_path.read_text()
        assert "connected to http://127.0.0.1:" in text
        assert "chain id 31337" in text
        assert len(re.findall(r"block \d+ ", text)) >= 3, text
        anvil_pid = int(re.search(r"launched anvil pid (\d+)", text).group(1))  # type: ignore[union-attr]
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert pid_gone(anvil_pid), "anvil outlived the keeper"
    assert "anvil stopped" in log_path.read_text()
