"""The keeper CLI as a process: version, and `run` on a launched anvil stopping cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keeper import __version__
from tests.dev_keys import anvil_dev_key
from tests.processes import pid_gone

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


def start_local_keeper(tmp_path: Path) -> tuple[str, Path, Path, subprocess.Popen[bytes]]:
    """`keeper run` on local.toml with 0.2 s blocks; returns (config text, its path, log path, process)."""
    config = (
        (REPO / "chain_config" / "local.toml").read_text().replace("block_time_s = 1.0", "block_time_s = 0.2")
    )
    path = tmp_path / "local.toml"
    path.write_text(config)
    log_path = tmp_path / "keeper.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(keeper("run", "--config", str(path)), stdout=log, stderr=subprocess.STDOUT)
    return config, path, log_path, proc


@pytest.mark.chain
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_local_logs_blocks_and_stops_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    _, _, log_path, proc = start_local_keeper(tmp_path)
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
        # The embedded default also market-makes on the bundled venue through the agent key.
        wait_for_log(proc, log_path, r"agent 0x[0-9a-f]{40} approved")
        wait_for_log(proc, log_path, r"quoting ETH on local_hl: keeper strategy")
        wait_for_log(proc, log_path, r"trading state halted -> active")
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0, log_path.read_text()
        text = log_path.read_text()
        # Orderly: the quotes are cancelled before the chain goes away, and the ledger has no unknowns.
        assert re.search(r"cancelling \d+ order\(s\) that may rest", text), text
        summary = re.search(r"quoting summary: (\d+) decisions, .* (\d+) unknown \((\d+) unresolved\)", text)
        assert summary is not None, text
        assert int(summary.group(1)) > 0
        assert summary.group(3) == "0"
        assert text.index("quoting summary") < text.index("anvil stopped")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert pid_gone(anvil_pid), "anvil outlived the keeper"
    assert "anvil stopped" in log_path.read_text()


def wait_for_log(proc: subprocess.Popen[bytes], log_path: Path, pattern: str, timeout_s: float = 30) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = log_path.read_text()
        if re.search(pattern, text):
            return text
        assert proc.poll() is None, text
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not logged in {timeout_s}s:\n{log_path.read_text()}")


@pytest.mark.chain
@pytest.mark.slow
def test_run_reloads_gas_policy_and_rotates_keys_without_restart(tmp_path: Path) -> None:
    original, path, log_path, proc = start_local_keeper(tmp_path)
    try:
        wait_for_log(proc, log_path, r"block \d+ ")
        # An edit of the file is applied within a second, without a signal.
        edited = original.replace("max_fee_gwei = 200.0", "max_fee_gwei = 300.0")
        started = time.monotonic()
        path.write_text(edited)
        wait_for_log(proc, log_path, r"gas policy applied: cap 300000000000 wei", timeout_s=5)
        assert time.monotonic() - started < 1.5
        # A bad edit is refused in one line that names the field; the running policy stays.
        path.write_text(edited.replace("bump_pct = 12.5", "bump_pct = 5.0"))
        text = wait_for_log(proc, log_path, r"config reload rejected")
        [line] = [ln for ln in text.splitlines() if "config reload rejected" in ln]
        assert "gas_policy.bump_pct" in line
        assert "cap 300000000000" in text
        assert "bump 500" not in text
        # Rotation: the config names another key; SIGHUP makes it immediate.
        path.write_text(edited.replace('active = "operator"', 'active = "keeper"'))
        proc.send_signal(signal.SIGHUP)
        wait_for_log(proc, log_path, r"key rotation: Signer\(name='keeper'.*active; Signer\(name='operator'")
        wait_for_log(proc, log_path, r"key rotation: Signer\(name='operator'.*drained and retired")
        # The kill flag flipped in the file halts quoting at run time: every quote is cancelled.
        wait_for_log(proc, log_path, r"trading state halted -> active")
        path.write_text(
            edited.replace('active = "operator"', 'active = "keeper"').replace("kill = false", "kill = true")
        )
        wait_for_log(proc, log_path, r"risk.kill is set", timeout_s=5)
        wait_for_log(proc, log_path, r"trading state active -> halted", timeout_s=5)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log_path.read_text()
    assert anvil_dev_key(1)[2:] not in text
