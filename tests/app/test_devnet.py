"""`keeper devnet`: a devnet in its own process that outlives a SIGKILLed keeper, so restart recovery is
testable with the project's own commands; and the pieces it writes.

The crash drill doubles as the example for fault tests: `keeper devnet up` (or `running_devnet`) gives
the URLs and DIR/keeper.toml, `KeeperProcess` starts, crashes (SIGKILL) and stops (SIGTERM) keepers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from keeper.app._devnet_files import (
    AGENT_KEY,
    CONFIG_FILE,
    DEPLOYMENTS_FILE,
    LOG_FILE,
    MASTER_KEY,
    STATE_FILE,
    DevnetInfo,
    DevnetOptions,
    keeper_config_text,
    remove_generated,
    write_keys,
)
from keeper.app.devnet import KeeperProcess, read_info, running_devnet
from keeper.chain import anvil_account, load_signer
from keeper.config import HyperliquidVenueConfig, KeystoreKey, load_config
from tests.processes import pid_gone


def keeper(*args: str) -> list[str]:
    return [sys.executable, "-m", "keeper", *args]


def venue_info(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{url}/info", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())


def rpc(url: str, method: str) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": []}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())["result"]


def open_cloids(info: DevnetInfo) -> set[str]:
    assert info.venue_url is not None
    assert info.master is not None
    orders = venue_info(info.venue_url, {"type": "frontendOpenOrders", "user": info.master.lower()})
    return {str(o["cloid"]) for o in orders if o.get("cloid")}


def wait_for(predicate: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.1)


def kill_recorded(folder: Path) -> None:
    """Test clean-up of last resort: SIGKILL whatever devnet.json still names (after a failed `down`)."""
    info = read_info(folder) if folder.exists() else None
    for pid in (info.serve_pid, info.anvil_pid) if info is not None else ():
        if pid is not None and not pid_gone(pid, timeout_s=0):
            os.kill(pid, signal.SIGKILL)


# ---- the crash drill --------------------------------------------------------------------------------


@pytest.mark.chain
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_devnet_outlives_a_killed_keeper_and_the_restart_adopts_its_orders(tmp_path: Path) -> None:
    folder = tmp_path / "devnet"
    try:
        result = subprocess.run(
            keeper("devnet", "up", "--dir", str(folder), "--block-time-s", "0.2", "--flow-seed", "7"),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert result.returncode == 0, (result.stdout, result.stderr, (folder / LOG_FILE).read_text())
        lines = result.stdout.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"devnet up in {folder}: chain http://127.0.0.1:")
        info = read_info(folder)
        assert info is not None
        assert info.state == "ready"
        assert info.rpc_http is not None
        assert info.venue_url is not None
        assert info.config is not None
        assert info.rpc_http in lines[0]
        assert info.venue_url in lines[0]
        meta = venue_info(info.venue_url, {"type": "meta"})
        assert [asset["name"] for asset in meta["universe"]] == ["ETH"]
        assert int(rpc(info.rpc_http, "eth_chainId"), 16) == 31337
        config_path = Path(info.config)
        config = load_config(config_path)
        assert config.devnet.launch is False
        assert config.chain.rpc_http == [info.rpc_http]
        assert config.contracts.deployments_file is not None

        with KeeperProcess(config_path, tmp_path / "keeper-1.log") as first:
            first.wait_for_log(r"trading state \w+ -> active", timeout_s=30)
            quoted = wait_for(lambda: open_cloids(info), 20, "the first keeper's quotes rest at the venue")
            first.kill()  # the crash: no cancels, no dead-man clear
        time.sleep(1.0)
        # The devnet outlived the keeper: the chain answers, the crashed keeper's quotes still rest (a
        # cloid starts with its process's session prefix; the dead-man switch is 20 s away).
        assert int(rpc(info.rpc_http, "eth_chainId"), 16) == 31337
        left = open_cloids(info)
        assert left, "the crashed keeper's orders are gone"
        assert {c[:18] for c in left} == {c[:18] for c in quoted}

        with KeeperProcess(config_path, tmp_path / "keeper-2.log") as second:
            adopted = second.wait_for_log(r"adopted (\d+) open order\(s\) unknown to this process", 30)
            assert int(adopted.group(1)) >= 1
            second.wait_for_log(r"trading state \w+ -> active", timeout_s=30)
            assert second.stop(timeout_s=30) == 0, second.log_text()
        # Stopping cleanly cancelled everything, the adopted orders included.
        assert open_cloids(info) == set()

        down = subprocess.run(
            keeper("devnet", "down", "--dir", str(folder)), capture_output=True, text=True, check=False
        )
        assert down.returncode == 0, down.stderr
        assert down.stdout.strip() == (
            f"devnet in {folder} stopped (serve pid {info.serve_pid}); removed {folder}"
        )
        assert info.anvil_pid is not None
        assert pid_gone(info.serve_pid)
        assert pid_gone(info.anvil_pid)
        assert not folder.exists()
    finally:
        kill_recorded(folder)


@pytest.mark.chain
@pytest.mark.timeout(60)
def test_running_devnet_is_torn_down_when_the_block_fails(tmp_path: Path) -> None:
    folder = tmp_path / "existing"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")  # not the devnet's: `down` keeps it, and the folder
    recorded: list[DevnetInfo] = []

    def drill() -> None:
        with running_devnet(folder, DevnetOptions(block_time_s=0.2, market="BTC", start_px=60000.0)) as info:
            recorded.append(info)
            assert info.venue_url is not None
            assert [a["name"] for a in venue_info(info.venue_url, {"type": "meta"})["universe"]] == ["BTC"]
            raise RuntimeError("drill failed")

    try:
        with pytest.raises(RuntimeError, match="drill failed"):
            drill()
        (info,) = recorded
        assert info.anvil_pid is not None
        assert pid_gone(info.serve_pid)
        assert pid_gone(info.anvil_pid)
        assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    finally:
        kill_recorded(folder)


# ---- the written files ------------------------------------------------------------------------------


def test_written_config_loads_and_names_keystores_of_the_dev_accounts(tmp_path: Path) -> None:
    keys = {MASTER_KEY: bytes(anvil_account(0).key), AGENT_KEY: bytes(anvil_account(1).key)}
    write_keys(tmp_path, keys, "pw")
    (tmp_path / DEPLOYMENTS_FILE).write_text("{}")
    options = DevnetOptions(market="SOL", dead_man_s=15.0, block_time_s=0.5)
    text = keeper_config_text(
        options,
        rpc_http="http://127.0.0.1:1",
        rpc_ws="ws://127.0.0.1:1",
        venue_url="http://127.0.0.1:2",
        venue_ws_url="ws://127.0.0.1:2/ws",
    )
    (tmp_path / CONFIG_FILE).write_text(text)
    config = load_config(tmp_path / CONFIG_FILE)
    assert config.strategy.market == "SOL"
    assert config.chain.block_time_s == 0.5
    venue = config.venues["local_hl"]
    assert isinstance(venue, HyperliquidVenueConfig)
    assert (venue.base_url, venue.ws_url, venue.local_server, venue.dead_man_s) == (
        "http://127.0.0.1:2",
        "ws://127.0.0.1:2/ws",
        None,
        15.0,
    )
    for name, index in ((MASTER_KEY, 0), (AGENT_KEY, 1)):
        source = config.keys.accounts[name]
        assert isinstance(source, KeystoreKey)
        assert load_signer(name, source, tmp_path, environ={}).address == anvil_account(index).address
        assert (tmp_path / source.path).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "password").stat().st_mode & 0o777 == 0o600
    # No key material in the config, in any form.
    assert not re.search(r"[0-9a-fA-F]{64}", text)


def test_remove_generated_leaves_foreign_files(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    for name in (STATE_FILE, LOG_FILE, CONFIG_FILE, "mine.txt"):
        (folder / name).write_text("x")
    (folder / "state").mkdir()
    remove_generated(folder, created_dir=True, keep_log=True)
    assert sorted(p.name for p in folder.iterdir()) == [LOG_FILE, "mine.txt"]
    remove_generated(folder, created_dir=True)
    assert sorted(p.name for p in folder.iterdir()) == ["mine.txt"]  # not ours: the folder stays
    (folder / "mine.txt").unlink()
    remove_generated(folder, created_dir=True)
    assert not folder.exists()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (DevnetOptions(), None),
        (DevnetOptions(dead_man_s=5.0), "--dead-man-s must be at least 10"),
        (DevnetOptions(block_time_s=0.0), "must be positive numbers"),
        (DevnetOptions(start_px=float("nan")), "must be positive numbers"),
        (DevnetOptions(flow_seed=-1), "--flow-seed must not be negative"),
    ],
)
def test_options_are_checked_before_anything_starts(options: DevnetOptions, problem: str | None) -> None:
    found = options.problem()
    assert (found is None) if problem is None else (found is not None and problem in found)
