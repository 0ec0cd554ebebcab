"""Config hot reload: edits applied within a second, bad edits refused whole, restart-only parts kept."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from keeper.app._reload import ConfigReloader
from keeper.chain import fee_policy
from keeper.config import ConfigError, GasPolicyConfig, KeeperConfig, load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.toml"
    path.write_text((REPO / "chain_config" / "local.toml").read_text())
    return path


class Recorder:
    def __init__(self) -> None:
        self.applied: list[tuple[KeeperConfig, KeeperConfig]] = []

    def __call__(self, old: KeeperConfig, new: KeeperConfig) -> Callable[[], None]:
        if new.strategy.order_size == 13.0:
            raise ConfigError("(reload)", "strategy.order_size", "refused by the preparer")
        return lambda: self.applied.append((old, new))


async def test_an_edit_is_applied_within_a_second(config_file: Path) -> None:
    recorder = Recorder()
    reloader = ConfigReloader(config_file, load_config(config_file), recorder, poll_s=0.05)
    task = asyncio.create_task(reloader.run())
    try:
        await asyncio.sleep(0.1)
        edited = config_file.read_text().replace("max_fee_gwei = 200.0", "max_fee_gwei = 55.5")  # noqa: ASYNC240
        await asyncio.to_thread(config_file.write_text, edited)
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not recorder.applied:
            assert loop.time() - started < 1.0
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    old, new = recorder.applied[0]
    assert (old.gas_policy.max_fee_gwei, new.gas_policy.max_fee_gwei) == (200.0, 55.5)
    assert reloader.running.gas_policy.max_fee_gwei == 55.5


def test_a_bad_edit_changes_nothing_and_names_the_field(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    running = load_config(config_file)
    reloader = ConfigReloader(config_file, running, recorder)
    config_file.write_text(config_file.read_text().replace("replace_after_s = 6.0", "replace_after_s = -1"))
    with caplog.at_level(logging.ERROR, logger="keeper.reload"):
        assert not reloader.reload()
    assert reloader.running is running
    assert recorder.applied == []
    [record] = caplog.records
    assert "gas_policy.replace_after_s" in record.getMessage()
    assert "keeping the running config" in record.getMessage()
    # A refusal from the preparer (e.g. a rotated-in key that cannot be loaded) is just as atomic.
    config_file.write_text(config_file.read_text().replace("order_size = 0.5", "order_size = 13.0"))
    assert not reloader.reload()
    assert reloader.rejected == 2


def test_restart_only_sections_are_kept_and_named(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    reloader = ConfigReloader(config_file, load_config(config_file), recorder)
    text = config_file.read_text()
    text = text.replace("chain_id = 31337", "chain_id = 1").replace("bump_pct = 12.5", "bump_pct = 20.0")
    config_file.write_text(text)
    with caplog.at_level(logging.WARNING, logger="keeper.reload"):
        assert reloader.reload()
    assert "[chain]" in caplog.text
    assert reloader.running.chain.chain_id == 31337  # not applied
    assert reloader.running.gas_policy.bump_pct == 20.0  # applied


def test_fee_policy_from_config_is_integer_and_rounds_the_bump_up() -> None:
    policy = fee_policy(GasPolicyConfig(max_fee_gwei=0.5, bump_pct=12.5, gas_limit_buffer_pct=20.0))
    assert policy.cap_wei == 500_000_000
    assert policy.bump_bps == 1250
    assert policy.gas_limit_buffer_bps == 2000
    assert policy.cancel_tip_multiplier_bps == 15000
    assert fee_policy(GasPolicyConfig(max_fee_gwei=1, bump_pct=12.51)).bump_bps == 1251
    assert fee_policy(GasPolicyConfig(max_fee_gwei=1, bump_pct=12.504)).bump_bps == 1251
