"""Fault suite, process part: keepers run as `keeper run` against `keeper devnet` and are killed with
SIGKILL at seeded random points. Each test prints its figure and fails if anything is lost.

- every kill leaves the venue's dead-man switch armed: with no keeper running, the orders die by
  themselves within `dead_man_s`;
- every restart adopts the killed keeper's orders: no duplicate quotes, and at a clean stop the
  keeper's position equals the venue's;
- a second keeper on the same account is refused (one line naming the holder, exit 2);
- no key material in logs, the store or the devnet folder's plain files.

Quick mode (`make test`): 3 kills. `make soak` (KEEPER_SOAK=1): 20."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from keeper.app._devnet_files import DevnetInfo, DevnetOptions
from keeper.app.devnet import KeeperProcess, running_devnet
from keeper.chain import anvil_account
from tests.app import test_devnet
from tests.app.test_devnet import keeper, venue_info

SOAK = os.environ.get("KEEPER_SOAK") == "1"
DEAD_MAN_S = 10.0
LEVELS = 2  # the devnet config quotes 2 levels a side


def _venue_position(info: DevnetInfo) -> Decimal:
    assert info.venue_url is not None
    assert info.master is not None
    state = venue_info(info.venue_url, {"type": "clearinghouseState", "user": info.master.lower()})
    return sum(
        (Decimal(p["position"]["szi"]) for p in state["assetPositions"] if p["position"]["coin"] == "ETH"),
        Decimal(0),
    )


def open_cloids(info: DevnetInfo) -> set[str]:
    return test_devnet.open_cloids(info)


def wait_for(predicate: object, timeout_s: float, what: str) -> object:
    """Poll every 0.5 s: the venue's REST budget is per IP, and the keeper shares loopback with us."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()  # type: ignore[operator]
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s:g} s")
        time.sleep(0.5)


def _active(k: KeeperProcess) -> None:
    k.wait_for_log(r"trading state \w+ -> active", timeout_s=60.0)


@pytest.mark.chain
@pytest.mark.slow
@pytest.mark.timeout(900 if SOAK else 240)
def test_kill_9_at_random_points_loses_nothing(tmp_path: Path) -> None:
    kills = 20 if SOAK else 3
    rng = random.Random(20261208)
    options = DevnetOptions(block_time_s=0.2, dead_man_s=DEAD_MAN_S)
    with running_devnet(tmp_path / "devnet", options) as info:
        config = Path(info.config)
        most_resting = 0
        for i in range(kills):
            k = KeeperProcess(config, tmp_path / f"keeper-{i}.log")
            try:
                _active(k)
                wait_for(lambda: open_cloids(info), 20.0, "quotes resting")
                time.sleep(rng.uniform(0.0, 3.0))  # a random point of the quoting cycle
                # No duplicates: adopted orders of the killed keeper are cancelled or kept, never stacked.
                most_resting = max(most_resting, len(open_cloids(info)))
            finally:
                k.kill()
        left = open_cloids(info)
        # The last keeper died with quotes resting: only the dead-man switch can take them down.
        wait_for(lambda: not open_cloids(info), DEAD_MAN_S + 8.0, "the dead-man switch cancelling")
        final = KeeperProcess(config, tmp_path / "keeper-final.log")
        try:
            _active(final)
            wait_for(lambda: open_cloids(info), 20.0, "quotes resting after the last restart")
            time.sleep(2.0)
        finally:
            code = final.stop()
        summary = re.search(r"quoting summary: .*position (\S+),", final.log_text())
        assert summary is not None, final.log_text()[-2000:]
        venue_position = _venue_position(info)
        print(
            f"\n{kills} kill -9: at most {most_resting} resting at once (limit {2 * LEVELS}), "
            f"{len(left)} left by the last kill and cancelled by the dead-man switch, "
            f"final position {summary[1]} vs venue {venue_position}, exit {code}"
        )
        assert code == 0
        assert most_resting <= 2 * LEVELS
        assert Decimal(summary[1]) == venue_position
        assert not open_cloids(info)  # the clean stop left nothing
        _no_key_material(tmp_path, Path(info.config).parent)


@pytest.mark.chain
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_second_keeper_on_the_account_is_refused(tmp_path: Path) -> None:
    options = DevnetOptions(block_time_s=0.2, dead_man_s=DEAD_MAN_S)
    with running_devnet(tmp_path / "devnet", options) as info:
        first = KeeperProcess(Path(info.config), tmp_path / "first.log")
        try:
            _active(first)
            second = subprocess.run(
                keeper("run", "--config", info.config),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            lines = second.stderr.strip().splitlines()
            print(f"\nsecond keeper: exit {second.returncode}: {lines[-1] if lines else ''}")
            assert second.returncode == 2
            errors = [ln for ln in lines if " INFO " not in ln and " WARNING " not in ln]
            assert len(errors) == 1, lines  # one line, besides the log
            assert "another keeper is running" in errors[0]
            assert f"pid {first.pid}" in errors[0]
            # The first one never noticed: still quoting, its dead-man switch still armed.
            assert first.proc.poll() is None
            assert open_cloids(info)
        finally:
            assert first.stop() == 0
        assert not open_cloids(info)


def _no_key_material(*folders: Path) -> None:
    """Secret scan: no dev private key (hex, any case, with or without 0x) in any plain file."""
    keys = [anvil_account(i).key.hex().removeprefix("0x").lower() for i in range(2)]
    scanned = 0
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.is_file() or (path.name.endswith(".json") and "keys" in path.parts):
                continue  # encrypted keystores
            data = path.read_bytes().lower()
            scanned += 1
            for key in keys:
                assert key.encode() not in data, f"key material in {path}"
    assert scanned > 3


@pytest.mark.chain
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_chain_outage_does_not_interrupt_api_quoting(tmp_path: Path) -> None:
    """anvil frozen (SIGSTOP: sockets open, nothing answers) for 8 s, then back (SIGCONT)."""
    options = DevnetOptions(block_time_s=0.2, dead_man_s=DEAD_MAN_S)
    with running_devnet(tmp_path / "devnet", options) as info:
        assert info.anvil_pid is not None
        k = KeeperProcess(Path(info.config), tmp_path / "keeper.log")
        try:
            _active(k)
            wait_for(lambda: open_cloids(info), 20.0, "quotes resting")
            os.kill(info.anvil_pid, signal.SIGSTOP)
            frozen = time.monotonic()
            try:
                seen: set[str] = set()
                while time.monotonic() - frozen < 8.0:  # quotes keep being managed on the API venue
                    seen |= open_cloids(info)
                    assert k.proc.poll() is None, k.log_text()[-3000:]
                    time.sleep(0.5)
            finally:
                os.kill(info.anvil_pid, signal.SIGCONT)
            back = time.monotonic()
            blocks_before = len(re.findall(r" block \d+ ", k.log_text()))
            wait_for(
                lambda: len(re.findall(r" block \d+ ", k.log_text())) > blocks_before + 3,
                10.0,
                "blocks followed again",
            )
            recovered = time.monotonic() - back
            log = k.log_text()
            states = re.findall(r"trading state \S+ -> \S+", log)[-3:]
            print(
                f"\nchain frozen 8 s: keeper alive, {len(seen)} of our orders seen resting meanwhile, "
                f"blocks followed again {recovered:.1f} s after; state lines: {states}"
            )
            assert seen
            assert "quoting task" not in log
            assert "-> halted" not in log.split("trading state")[-1]  # quoting was never halted by it
        finally:
            assert k.stop() == 0
