"""`[strategy]` hot reload: edits reach a running quoting loop's maker on the venue's current tick and
lot; restart-only fields refuse the whole edit in one line naming the field, and the old maker stays."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from keeper.app._quoting import QuotingLoop
from keeper.app._reload import ConfigReloader
from keeper.app._run import _reload_preparer
from keeper.config import ConfigError, KeeperConfig, load_config
from keeper.core.strategy import MakerParams
from tests.app.test_quoting import FakeVenue, clock, feed_market, make_loop
from tests.app.test_reload import REPO, _Manager

# The venue's price step moved since start (the loop follows it): a reload must keep it.
VENUE_TICK = Decimal("0.01")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.toml"
    path.write_text((REPO / "chain_config" / "local.toml").read_text())
    return path


@pytest.fixture
def loop(config_file: Path) -> QuotingLoop:
    clock.now = 1_700_000_000.0
    loop = make_loop(FakeVenue())
    feed_market(loop)
    params = loop.maker.params
    loop.maker.params = msgspec.structs.replace(
        params, quote=msgspec.structs.replace(params.quote, tick=VENUE_TICK)
    )
    return loop


def edit(config_file: Path, old: str, new: str) -> None:
    text = config_file.read_text()
    assert old in text, f"edit {old!r} does not apply"
    config_file.write_text(text.replace(old, new, 1))


def reloader(config_file: Path, loop: QuotingLoop) -> ConfigReloader:
    preparer = _reload_preparer(_Manager(), None, loop.maker.gate, config_file, loop)  # type: ignore[arg-type]
    return ConfigReloader(config_file, load_config(config_file), preparer)


APPLIED: list[tuple[str, str, Callable[[MakerParams], object], object]] = [
    ("order_size = 0.5", "order_size = 0.25", lambda p: p.quote.order_size, 0.25),
    ("levels = 2", "levels = 3", lambda p: p.quote.levels, 3),
    ("risk_aversion = 0.1", "risk_aversion = 0.3", lambda p: p.quote.gamma, 0.3),
    (
        "reconcile_interval_s = 10.0",
        "reconcile_interval_s = 10.0\n[strategy.hedge]\ntrigger = 0.45",
        lambda p: p.hedge.trigger if p.hedge else None,
        0.45,
    ),
    ("max_position = 10.0", "max_position = 20.0", lambda p: p.quote.soft_position, 3.0),
    (
        "reconcile_interval_s = 10.0",
        "reconcile_interval_s = 10.0\nmaker_fee_bps = -0.25\n[strategy.intensity]\ndepth_bps = 10.0",
        lambda p: (p.quote.maker_fee_rate, p.quote.intensity_k),
        (-0.000025, 1.0 / (10.0 / 10_000.0 * 2000.0)),
    ),
    (
        "reconcile_interval_s = 10.0",
        "reconcile_interval_s = 10.0\n[strategy.unwind]\nmax_slices = 7",
        lambda p: p.funding_unwind.slice_policy.max_slices if p.funding_unwind else None,
        7,
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "read", "expected"), APPLIED, ids=[a[1].split("\n")[-1] for a in APPLIED]
)
def test_a_strategy_edit_reaches_the_running_maker_on_the_venues_tick(
    config_file: Path,
    loop: QuotingLoop,
    old: str,
    new: str,
    read: Callable[[MakerParams], object],
    expected: object,
) -> None:
    reload = reloader(config_file, loop)
    before = loop.maker.params
    assert read(before) != expected
    edit(config_file, old, new)
    assert reload.reload()
    after = loop.maker.params
    assert read(after) == expected
    assert (after.quote.tick, after.quote.lot, after.market) == (VENUE_TICK, before.quote.lot, "ETH")
    # Nothing else moved: the rest of the maker is what it was.
    unchanged = msgspec.structs.replace(after, quote=before.quote, hedge=before.hedge)
    if "[strategy.unwind]" in new:
        unchanged = msgspec.structs.replace(unchanged, funding_unwind=before.funding_unwind)
    assert unchanged == before


def test_loop_intervals_and_the_volatility_half_life_apply(config_file: Path, loop: QuotingLoop) -> None:
    reload = reloader(config_file, loop)
    edit(config_file, "requote_interval_s = 1.0", "requote_interval_s = 2.0\nvol_half_life_s = 60.0")
    edit(config_file, "reconcile_interval_s = 10.0", "reconcile_interval_s = 30.0")
    assert reload.reload()
    assert (loop.settings.requote_interval_s, loop.settings.reconcile_interval_s) == (2.0, 30.0)
    assert loop.maker.params.vol_half_life_s == 60.0
    assert loop.maker.vol.half_life_s == 60.0


def test_an_unset_max_position_is_sized_at_the_latest_mid(config_file: Path, loop: QuotingLoop) -> None:
    reload = reloader(config_file, loop)
    feed_market(loop, "2499.5", "2500.5")  # the price moved since start
    edit(config_file, "max_position = 10.0\n", "")
    assert reload.reload()
    assert loop.maker.params.quote.max_position == 250_000.0 / 2500.0
    # A new position notional re-sizes it too (and is itself applied by the risk gate).
    edit(config_file, "max_position_notional_usd = 250000.0", "max_position_notional_usd = 200000.0")
    assert reload.reload()
    assert loop.maker.params.quote.max_position == 200_000.0 / 2500.0


def test_an_edit_outside_strategy_leaves_the_maker_alone(config_file: Path, loop: QuotingLoop) -> None:
    reload = reloader(config_file, loop)
    params = loop.maker.params
    feed_market(loop, "2499.5", "2500.5")
    edit(config_file, "stale_data_s = 5.0", "stale_data_s = 7.0")
    assert reload.reload()
    assert loop.maker.params is params  # not rebuilt at the new mid


RESTART_ONLY = [
    ('market = "ETH"', 'market = "BTC"', "strategy.market"),
    ('venue = "local_hl"\n', "", "strategy.venue"),
    ('kind = "keeper"', 'kind = "as"', "strategy.kind"),
    (
        "reconcile_interval_s = 10.0",
        "reconcile_interval_s = 10.0\ninitial_vol_daily_pct = 2.0",
        "strategy.initial_vol_daily_pct",
    ),
]


@pytest.mark.parametrize(("old", "new", "field"), RESTART_ONLY, ids=[r[2] for r in RESTART_ONLY])
def test_a_restart_only_field_refuses_the_edit_in_one_line(
    config_file: Path, loop: QuotingLoop, caplog: pytest.LogCaptureFixture, old: str, new: str, field: str
) -> None:
    reload = reloader(config_file, loop)
    running, params, settings = reload.running, loop.maker.params, loop.settings
    edit(config_file, old, new)
    edit(config_file, "order_size = 0.5", "order_size = 0.25")  # refused with it: all or nothing
    with caplog.at_level(logging.ERROR, logger="keeper.reload"):
        assert not reload.reload()
    [record] = caplog.records
    assert record.getMessage() == (
        f"config reload rejected, keeping the running config: {config_file}: {field}: needs a restart"
    )
    assert reload.running is running
    assert loop.maker.params is params
    assert loop.settings is settings


def test_a_strategy_the_venue_cannot_quote_is_refused_naming_the_field(
    config_file: Path, loop: QuotingLoop, caplog: pytest.LogCaptureFixture
) -> None:
    # The venue's lot grew since start; the file's check only knew the bundled venue's start lot.
    params = loop.maker.params
    loop.maker.params = msgspec.structs.replace(
        params, quote=msgspec.structs.replace(params.quote, lot=Decimal("0.01"))
    )
    params = loop.maker.params
    reload = reloader(config_file, loop)
    edit(config_file, "order_size = 0.5", "order_size = 0.001")
    with caplog.at_level(logging.ERROR, logger="keeper.reload"):
        assert not reload.reload()
    line = caplog.records[-1].getMessage()
    assert line.endswith(
        f"{config_file}: strategy.order_size: 0.001 is below the lot 0.01: every quote would round to zero"
    )
    assert loop.maker.params is params


def test_without_a_quoting_loop_strategy_edits_change_nothing_but_restart_fields_refuse(
    config_file: Path,
) -> None:
    running = load_config(config_file)
    prepare = _reload_preparer(_Manager(), None, None, config_file, None)  # type: ignore[arg-type]
    edit(config_file, "levels = 2", "levels = 4")
    prepare(running, load_config(config_file))()  # nothing to apply it to, nothing raised
    edit(config_file, 'market = "ETH"', 'market = "SOL"')
    new: KeeperConfig = load_config(config_file)
    with pytest.raises(ConfigError, match=r"strategy\.market: needs a restart"):
        prepare(running, new)


def test_before_any_market_data_the_rebuild_keeps_the_start_mid(config_file: Path) -> None:
    loop = make_loop(FakeVenue())  # built at a first mid of 2,000; no book or context seen yet
    assert loop.market.mid is None
    reload = reloader(config_file, loop)
    before = loop.maker.params
    edit(config_file, "levels = 2", "levels = 4")
    assert reload.reload()
    after = loop.maker.params
    assert after.quote.levels == 4
    assert after.quote.intensity_k == pytest.approx(before.quote.intensity_k, rel=1e-12)
