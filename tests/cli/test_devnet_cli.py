"""`keeper devnet up / status / down` as commands: one line each, their exit codes, no second devnet in a
folder, and no orphan when the devnet's process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from keeper.app.devnet import read_info
from tests.app.test_devnet import kill_recorded
from tests.processes import pid_gone


def keeper(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keeper", *args], capture_output=True, text=True, timeout=90, check=False
    )


def test_down_and_status_on_an_empty_folder_say_nothing_runs(tmp_path: Path) -> None:
    down = keeper("devnet", "down", "--dir", str(tmp_path))
    assert (down.returncode, down.stdout, down.stderr) == (0, f"no devnet in {tmp_path}: nothing runs\n", "")
    status = keeper("devnet", "status", "--dir", str(tmp_path / "nowhere"))
    assert (status.returncode, status.stdout) == (1, f"no devnet in {tmp_path / 'nowhere'}: not running\n")
    assert list(tmp_path.iterdir()) == []  # nothing created, nothing removed


def test_up_refuses_bad_options_in_one_line(tmp_path: Path) -> None:
    up = keeper("devnet", "up", "--dir", str(tmp_path / "d"), "--dead-man-s", "3")
    assert (up.returncode, up.stdout) == (2, "")
    assert up.stderr == "keeper devnet up: --dead-man-s must be at least 10\n"
    assert not (tmp_path / "d").exists()


@pytest.mark.chain
@pytest.mark.timeout(90)
def test_up_twice_is_refused_and_a_killed_devnet_leaves_no_anvil(tmp_path: Path) -> None:
    folder = tmp_path / "devnet"
    try:
        first = keeper("devnet", "up", "--dir", str(folder), "--block-time-s", "0.2")
        assert first.returncode == 0, first.stderr
        info = read_info(folder)
        assert info is not None
        assert info.anvil_pid is not None

        second = keeper("devnet", "up", "--dir", str(folder))
        assert (second.returncode, second.stdout) == (2, "")
        assert second.stderr == (
            f"keeper devnet up: a devnet already runs in {folder} (serve pid {info.serve_pid})\n"
        )
        status = keeper("devnet", "status", "--dir", str(folder))
        assert status.returncode == 0
        assert status.stdout.startswith(f"devnet in {folder} running (serve pid {info.serve_pid}): chain ")
        assert len(status.stdout.splitlines()) == 1

        # The devnet's process dies without a word: its anvil must not run on forever.
        os.kill(info.serve_pid, signal.SIGKILL)
        assert pid_gone(info.serve_pid)
        status = keeper("devnet", "status", "--dir", str(folder))
        assert (status.returncode, status.stdout) == (
            1,
            f"devnet in {folder} not running (serve pid {info.serve_pid} gone)\n",
        )
        again = keeper("devnet", "up", "--dir", str(folder))
        assert again.returncode == 2
        assert "holds a stopped devnet: `keeper devnet down" in again.stderr
        down = keeper("devnet", "down", "--dir", str(folder))
        assert down.returncode == 0, down.stderr
        # Either anvil went with its parent (parent-death signal) or `down` stopped it by its pid.
        assert down.stdout in (
            f"devnet in {folder} was not running; removed {folder}\n",
            f"devnet in {folder} stopped (anvil pid {info.anvil_pid}); removed {folder}\n",
        )
        assert pid_gone(info.anvil_pid)
        assert not folder.exists()
    finally:
        kill_recorded(folder)
