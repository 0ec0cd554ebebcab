"""Config hot reload: edits applied within a second, bad edits refused whole, restart-only parts kept."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from keeper.app._reload import ConfigReloader
from keeper.app._run import _reload_preparer, risk_limits
from keeper.chain import fee_policy
from keeper.config import ConfigError, GasPolicyConfig, KeeperConfig, load_config
from keeper.core.risk import AccountState, DenialReason, Denied, OrderIntent, RiskGate, TradingState
from keeper.core.types import Side

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
        if new.strategy.order_size == 0.25:
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
    original = config_file.read_text()
    config_file.write_text(original.replace("replace_after_s = 6.0", "replace_after_s = -1"))
    with caplog.at_level(logging.ERROR, logger="keeper.reload"):
        assert not reloader.reload()
    assert reloader.running is running
    assert recorder.applied == []
    [record] = caplog.records
    assert "gas_policy.replace_after_s" in record.getMessage()
    assert "keeping the running config" in record.getMessage()
    # A refusal from the preparer (e.g. a rotated-in key that cannot be loaded) is just as atomic.
    config_file.write_text(original.replace("order_size = 0.5", "order_size = 0.25"))
    with caplog.at_level(logging.ERROR, logger="keeper.reload"):
        assert not reloader.reload()
    assert reloader.rejected == 2
    preparer_line = caplog.records[-1].getMessage()
    assert preparer_line.endswith(f"{config_file}: strategy.order_size: refused by the preparer")


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


class _Manager:
    def set_policy(self, policy: object) -> None:
        raise AssertionError("the gas policy did not change")

    def set_active_signer(self, signer: object) -> None:
        raise AssertionError("the key did not change")


def test_kill_flag_flipped_in_the_file_halts_the_risk_gate_at_once(config_file: Path) -> None:
    running = load_config(config_file)
    gate = RiskGate(risk_limits(running))
    text = config_file.read_text()
    assert "kill = false" in text
    config_file.write_text(text.replace("kill = false", "kill = true"))
    prepare = _reload_preparer(_Manager(), None, gate, config_file, None)  # type: ignore[arg-type]
    prepare(running, load_config(config_file))()
    assert gate.limits.kill
    assert gate.state is TradingState.HALTED
    assert gate.cancel_all_required
    intent = OrderIntent(order_id="x", market="ETH", side=Side.BUY, size=Decimal(1), price=Decimal(3000))
    verdict = gate.check(intent, AccountState(equity=Decimal(10_000), high_water_mark=Decimal(10_000)))
    assert isinstance(verdict, Denied)
    assert verdict.reason is DenialReason.KILL_SWITCH


async def test_a_non_utf8_hot_edit_is_one_line_and_the_old_config_keeps_running(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    running = load_config(config_file)
    reloader = ConfigReloader(config_file, running, recorder, poll_s=0.02)
    task = asyncio.create_task(reloader.run())
    loop = asyncio.get_running_loop()
    try:
        with caplog.at_level(logging.INFO, logger="keeper.reload"):
            good = config_file.read_bytes()  # noqa: ASYNC240
            bad = good.replace(b"max_fee_gwei = 200.0", b"max_fee_gwei = 55.5 # \xff\xfe")
            await asyncio.to_thread(config_file.write_bytes, bad)
            started = loop.time()
            while reloader.rejected == 0:
                assert not task.done(), task
                assert loop.time() - started < 2.0
                await asyncio.sleep(0.01)
            assert not task.done()
            assert reloader.running is running
            assert recorder.applied == []
            [record] = caplog.records
            assert record.levelno == logging.ERROR
            assert record.getMessage() == (
                "config reload rejected, keeping the running config: "
                f"{config_file}: (file): not UTF-8 text (byte 0xff at line 23, column 23)"
            )
            # Still watching: the next good edit applies.
            await asyncio.to_thread(config_file.write_bytes, good.replace(b"= 200.0", b"= 60.0"))
            while not recorder.applied:
                assert not task.done(), task
                assert loop.time() - started < 4.0
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
    assert reloader.running.gas_policy.max_fee_gwei == 60.0


@pytest.mark.parametrize(
    "content",
    [
        b"\xff",
        b"[chain",
        b"a = " + b"[" * 5000,
        b"",
        b"[strategy]\norder_size = inf\n",
        b"[risk]\nmax_order_notional_usd = 0x" + b"ab" * 32 + b"\n",
    ],
)
def test_no_file_content_makes_a_reload_raise(
    config_file: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    running = load_config(config_file)
    reloader = ConfigReloader(config_file, running, Recorder())
    config_file.write_bytes(content)
    with caplog.at_level(logging.ERROR, logger="keeper.reload"):
        assert not reloader.reload()
    [record] = caplog.records
    assert f": {config_file}: " in record.getMessage()
    assert "\n" not in record.getMessage()
    assert "ab" * 32 not in record.getMessage()
    assert reloader.running is running


def test_an_unreadable_file_or_a_failing_preparer_keeps_the_running_config(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = load_config(config_file)

    def broken(old: KeeperConfig, new: KeeperConfig) -> Callable[[], None]:
        raise RuntimeError("a bug")

    reloader = ConfigReloader(config_file, running, broken)
    with caplog.at_level(logging.ERROR, logger="keeper.reload"):
        assert not reloader.reload()
        config_file.unlink()
        config_file.mkdir()
        assert not reloader.reload()
    first, second = (r.getMessage() for r in caplog.records)
    assert first.endswith(f"{config_file}: unexpected RuntimeError: a bug")
    assert second.endswith(f"{config_file}: (file): cannot read: Is a directory")
    assert reloader.running is running
