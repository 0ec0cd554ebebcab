"""Nothing a launched anvil leaves behind: its log, folder, lease and pid file go with `stop()`, it dies
with an owner killed by SIGKILL, and the next start sweeps up what an owner could not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from keeper.devchain import AnvilNode, AnvilOptions, find_anvil, lease_port, sweep_orphans
from keeper.devchain._orphans import PidRecord, process_start, write_pid_file
from keeper.devchain._ports import lease_path, remove_stale_lease

pytestmark = pytest.mark.chain

ROOT = Path(__file__).resolve().parents[2]


def pid_alive(pid: int) -> bool:
    return process_start(pid) is not None  # a zombie counts as gone


def wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    probe = subprocess.Popen(["true"])
    probe.wait()
    return probe.pid


def test_stop_leaves_no_log_folder_lease_or_pid_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPER_RUNTIME_DIR", str(tmp_path))
    node = AnvilNode(AnvilOptions()).start()
    port, folder, log = node.port, node.node_dir, node.log_path
    assert folder is not None
    assert log is not None
    assert log.parent == folder
    assert folder.stat().st_mode & 0o777 == 0o700
    assert log.stat().st_mode & 0o077 == 0
    assert "Private Keys" in log.read_text()  # what must not outlive the node
    assert lease_path(port).exists()
    assert [p.name for p in tmp_path.glob("anvil-*.json")] == [f"anvil-{node.pid}.json"]
    node.stop()
    assert not folder.exists()
    assert not lease_path(port).exists()
    assert list(tmp_path.glob("anvil-*.json")) == []
    assert list(Path(tempfile.gettempdir()).glob(f"anvil-{port}-*.log")) == []


def test_restart_keeps_the_port_and_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPER_RUNTIME_DIR", str(tmp_path))
    with AnvilNode(AnvilOptions(mining="manual")) as node:
        node.rpc.mine(3)
        port, first = node.port, node.pid
        os.kill(first, signal.SIGKILL)
        node.restart()
        assert (node.port, node.rpc.block_number()) == (port, 0)
        assert node.pid != first
        assert [p.name for p in tmp_path.glob("anvil-*.json")] == [f"anvil-{node.pid}.json"]


def test_an_owner_killed_with_sigkill_takes_its_anvil_along(tmp_path: Path) -> None:
    script = (
        "import time\n"
        "from keeper.devchain import AnvilNode\n"
        "node = AnvilNode().start()\n"
        "print(node.pid, node.port, node.node_dir, flush=True)\n"
        "time.sleep(120)\n"
    )
    env = {**os.environ, "KEEPER_RUNTIME_DIR": str(tmp_path)}
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env, cwd=ROOT) as owner:
        try:
            assert owner.stdout is not None
            pid_text, port_text, folder = owner.stdout.readline().decode().split()
        finally:
            owner.kill()  # SIGKILL: no atexit, no finally in the owner
    anvil, port = int(pid_text), int(port_text)
    try:
        assert wait_gone(anvil, 5.0), "anvil outlived its owner"
        # What the owner could not clean up, the next start's sweep does.
        assert Path(folder).exists()
        assert (tmp_path / f"anvil-{anvil}.json").exists()
        assert sweep_orphans(tmp_path) == []  # nothing left to stop
    finally:
        sweep_orphans(tmp_path)  # stops it if the test failed: never leave an anvil behind
    assert not Path(folder).exists()
    assert not lease_path(port).exists()
    assert list(tmp_path.glob("anvil-*.json")) == []


def test_the_sweep_stops_an_orphan_and_nothing_else(tmp_path: Path) -> None:
    lease = lease_port()
    orphan = subprocess.Popen(
        [find_anvil(), "--port", str(lease.port)], stdout=subprocess.DEVNULL, start_new_session=True
    )
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.2)  # /proc entries filled in
        folder = Path(tempfile.mkdtemp(prefix="keeper-anvil-"))
        gone_owner = dead_pid()
        records = [
            PidRecord(pid=orphan.pid, pid_start=process_start(orphan.pid), owner_pid=gone_owner,
                      owner_start=12345, port=lease.port, node_dir=str(folder)),
            # Not an anvil: never killed, whatever its pid file says.
            PidRecord(pid=bystander.pid, pid_start=process_start(bystander.pid), owner_pid=gone_owner,
                      owner_start=12345, port=1),
            # An owner that lives (this test): its anvil is its own business.
            PidRecord(pid=orphan.pid + 10**6, pid_start=1, owner_pid=os.getpid(),
                      owner_start=process_start(os.getpid()), port=2),
        ]  # fmt: skip
        for record in records:
            write_pid_file(tmp_path, record)
        lease.release()  # as a dead owner's lease would be: unlocked, file left behind
        lease_path(lease.port).touch()
        assert sweep_orphans(tmp_path) == [orphan.pid]
        assert orphan.wait(timeout=5) is not None
        assert bystander.poll() is None
        assert not folder.exists()
        assert not lease_path(lease.port).exists()
        assert sorted(p.name for p in tmp_path.glob("anvil-*.json")) == [f"anvil-{orphan.pid + 10**6}.json"]
    finally:
        for process in (orphan, bystander):
            process.kill()
            process.wait()
        lease.release()


def test_lease_files_go_with_their_lease_and_a_held_one_is_never_removed() -> None:
    lease = lease_port()
    path = lease_path(lease.port)
    assert path.exists()
    assert remove_stale_lease(lease.port) is False  # held: left alone
    assert path.exists()
    lease.release()
    assert not path.exists()
    lease.release()  # idempotent


def test_fork_url_and_dev_keys_are_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "https://eth.example/v2/AbCdEf0123456789xyzSECRET"
    assert "SECRET" not in repr(AnvilOptions(fork_url=secret))
    monkeypatch.setenv("KEEPER_RUNTIME_DIR", str(tmp_path))
    with AnvilNode(AnvilOptions(accounts=2)) as node:
        assert node.log_path is not None
        key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil's account 0
        assert key in node.log_path.read_text()
        assert key not in node.log_tail(200)
        assert "Private Keys" in node.log_tail(200)
