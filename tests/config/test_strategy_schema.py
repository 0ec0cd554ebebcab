"""`[strategy]`: one schema for the live process and the simulator, defaults equal to the values the maker
had before they were knobs, and every value the run would refuse refused at load naming the field."""

from __future__ import annotations

import typing
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from keeper.app._maker_setup import maker_params
from keeper.config import ConfigError, KeeperConfig, StrategyConfig, parse_config
from keeper.core.risk import RiskLimits
from keeper.core.strategy import MarketMaker
from keeper.core.strategy_config import StrategyError
from keeper.core.strategy_config import maker_params as build
from keeper.core.venue import MarketSpec
from keeper.sim import COMPARISON_STRATEGY, parse_scenario
from keeper.sim._makers import maker_params as scenario_maker_params
from keeper.sim._makers import settlement_model

from .test_fail_safe import LOCAL, REPO, local, refusal

SPEC = MarketSpec(market="ETH", tick=Decimal("0.1"), lot=Decimal("0.0001"))
# What `keeper.app._maker_setup.maker_params` produced for chain_config/local.toml at a first mid of 2,000
# before the knobs were fields (captured from that code, not recomputed by the new builder).
LOCAL_BEFORE = (
    '{"quoter":"keeper","quote":{"tick":"0.1","lot":"0.0001","order_size":0.5,"max_position":10.0,'
    '"levels":2,"level_spacing":0.5,"gamma":0.1,"intensity_a":1.0,"intensity_k":1.0,"horizon_s":60.0,'
    '"eta":0.0,"adverse_selection_mult":1.0,"maker_fee_rate":0.00015,"fill_ratio":0.3,"size_ref_move":0.0015,'
    '"gas_size_sensitivity":1.0,"max_funding_shift":0.0005,"oracle_weight":0.0,"fixed_half_spread_bps":10.0,'
    '"soft_position":1.5},"market":"ETH","refresh_tolerance_bps":1.0,"size_tolerance":0.25,'
    '"cost_aware_requote":true,"hedge":{"trigger":0.3,"target":0.5,"slice_size":0.5,"interval_s":2.0},'
    '"funding_unwind":{"plan_window_s":300.0,"taker_fee_bps":4.5,"half_spread_bps":1.0,"impact_bps_at_ref":0.0,'
    '"impact_ref_notional":10000.0,"slice_policy":{"min_slice_size":"0","lot_size":"0.0001","max_slices":4,'
    '"slice_interval_s":10.0,"safety_s":20.0,"reentry_delay_s":5.0,"fraction_steps":20,'
    '"min_benefit_quote":"0"}},"vol_half_life_s":300.0,"initial_sigma":0.00001701034543599429,'
    '"jump_trigger_bps":5.0,"intensity_refit_s":null,"intensity_prior_fills":200.0}'
)


def config(text: str = LOCAL) -> KeeperConfig:
    return parse_config(text, file="F", base_dir=REPO / "chain_config")


def test_local_config_builds_the_maker_it_built_before() -> None:
    assert msgspec.json.encode(maker_params(config(), SPEC, 2000.0)).decode() == LOCAL_BEFORE


def test_unset_max_position_and_the_baselines_are_as_before() -> None:
    # Before: max_position = risk.max_position_notional_usd / first mid; no hedge, unwind or jump trigger.
    text = local("max_position = 10.0\n", "").replace('kind = "keeper"', 'kind = "as"')
    params = maker_params(config(text), SPEC, 2000.0)
    assert params.quote.max_position == 125.0
    assert params.quote.soft_position == 18.75
    assert (params.hedge, params.funding_unwind, params.jump_trigger_bps) == (None, None, None)
    assert not params.cost_aware_requote


def test_schema_round_trip_and_defaults() -> None:
    st = config().strategy
    assert isinstance(st, StrategyConfig)
    assert msgspec.convert(msgspec.to_builtins(st), StrategyConfig) == st
    assert msgspec.convert(msgspec.to_builtins(COMPARISON_STRATEGY), StrategyConfig) == COMPARISON_STRATEGY
    d = StrategyConfig(order_size=1.0)
    # The values the live maker hard-coded or took from the simulator's defaults.
    assert (d.intensity.touch_rate_per_s, d.intensity.depth_bps) == (1.0, 5.0)
    assert (d.maker_fee_bps, d.taker_fee_bps, d.initial_vol_daily_pct) == (1.5, 4.5, 0.5)
    assert (d.refresh_tolerance_bps, d.size_tolerance, d.vol_half_life_s) == (1.0, 0.25, 300.0)
    k = d.keeper
    assert (k.adverse_selection_mult, k.fill_ratio, k.size_ref_move, k.gas_size_sensitivity) == (
        1.0,
        0.3,
        0.0015,
        1.0,
    )
    assert (k.max_funding_shift_bps, k.soft_position_frac, k.jump_trigger_bps) == (5.0, 0.15, 5.0)
    assert (d.hedge.trigger, d.hedge.target, d.hedge.slice_size, d.hedge.interval_s) == (0.3, 0.5, None, 2.0)
    u = d.unwind
    assert (u.enabled, u.plan_window_s, u.max_slices, u.slice_interval_s, u.safety_s) == (
        True,
        300.0,
        4,
        10.0,
        20.0,
    )


def test_every_knob_reaches_the_maker() -> None:
    text = local(
        "reconcile_interval_s = 10.0",
        "reconcile_interval_s = 10.0\nmaker_fee_bps = -0.5\ntaker_fee_bps = 3.0\n"
        "initial_vol_daily_pct = 2.0\n"
        "refresh_tolerance_bps = 2.5\nsize_tolerance = 0.5\nvol_half_life_s = 120.0\noracle_weight = 0.25\n"
        "[strategy.intensity]\ntouch_rate_per_s = 2.0\ndepth_bps = 4.0\n"
        "[strategy.keeper]\nfill_ratio = 0.5\njump_trigger_bps = 8.0\nsoft_position_frac = 0.5\n"
        "[strategy.hedge]\ntrigger = 0.6\nslice_size = 0.25\ninterval_s = 5.0\n"
        "[strategy.unwind]\nmax_slices = 6\nslice_interval_s = 3.0\nsafety_s = 9.0\n"
        "impact_bps_at_ref = 2.0\n",
    )
    p = maker_params(config(text), SPEC, 2000.0)
    q = p.quote
    assert (q.maker_fee_rate, q.intensity_a, q.intensity_k, q.fill_ratio, q.oracle_weight) == (
        -0.00005,
        2.0,
        1.0 / (4.0 / 10_000.0 * 2000.0),
        0.5,
        0.25,
    )
    assert q.soft_position == 5.0
    assert (p.refresh_tolerance_bps, p.size_tolerance, p.vol_half_life_s, p.jump_trigger_bps) == (
        2.5,
        0.5,
        120.0,
        8.0,
    )
    assert p.initial_sigma == 2.0 / 100.0 / 86_400.0**0.5
    assert p.hedge is not None
    assert (p.hedge.trigger, p.hedge.slice_size, p.hedge.interval_s) == (0.6, 0.25, 5.0)
    unwind = p.funding_unwind
    assert unwind is not None
    assert (unwind.taker_fee_bps, unwind.impact_bps_at_ref) == (3.0, 2.0)
    policy = unwind.slice_policy
    assert (policy.max_slices, policy.slice_interval_s, policy.safety_s, policy.lot_size) == (
        6,
        3.0,
        9.0,
        SPEC.lot,
    )
    off = maker_params(
        config(local("[strategy]", "[strategy.unwind]\nenabled = false\n[strategy]")), SPEC, 2000.0
    )
    assert off.funding_unwind is None


def test_fees_the_venue_reports_win_over_the_fallback() -> None:
    st = StrategyConfig(order_size=1.0)
    p = build(st, tick=SPEC.tick, lot=SPEC.lot, mid=2000.0, max_position_notional_usd=1e5, maker_fee_bps=-1.0)
    assert p.quote.maker_fee_rate == -0.0001
    p = build(st, tick=SPEC.tick, lot=SPEC.lot, mid=2000.0, max_position_notional_usd=1e5, taker_fee_bps=2.5)
    assert p.funding_unwind is not None
    assert p.funding_unwind.taker_fee_bps == 2.5


def test_a_scenario_and_a_deployment_with_the_same_strategy_build_the_same_maker() -> None:
    table = (
        '[strategy]\nkind = "keeper"\nvenue = "local_hl"\nmarket = "ETH"\norder_size = 0.4\nlevels = 3\n'
        "risk_aversion = 0.05\nrequote_interval_s = 1.0\nreconcile_interval_s = 10.0\nmaker_fee_bps = 0.5\n"
        "[strategy.intensity]\ndepth_bps = 2.0\n[strategy.hedge]\ntrigger = 0.4\n[strategy.keeper]\n"
        "max_funding_shift_bps = 3.0\n[strategy.unwind]\nsafety_s = 15.0\n"
    )
    deployment = config(LOCAL[: LOCAL.index("[strategy]")] + table)
    scenario = parse_scenario(
        f'name = "same"\n[market]\nstart_price = 2500.0\ntick = "0.1"\nlot = "0.0001"\n'
        f"[risk]\nmax_position_notional_usd = {deployment.risk.max_position_notional_usd}\n{table}"
    )
    assert type(scenario.strategy) is type(deployment.strategy)
    assert scenario.strategy == deployment.strategy
    spec = MarketSpec(market="ETH", tick=Decimal("0.1"), lot=Decimal("0.0001"))
    live = maker_params(deployment, spec, 2500.0)
    assert scenario_maker_params(scenario, "keeper") == live
    assert live.quote.max_position == 100.0  # unset: the position notional at the price
    as_text = table.replace('kind = "keeper"', 'kind = "as"')
    as_live = maker_params(config(LOCAL[: LOCAL.index("[strategy]")] + as_text), spec, 2500.0)
    assert scenario_maker_params(scenario, "as") == as_live


def _limits() -> RiskLimits:
    return RiskLimits(max_order_notional_usd=Decimal(1), max_position_notional_usd=Decimal(1))


# ---- config check refuses what the run would refuse ----

REFUSED = [
    ("[strategy.hedge]\ntrigger = 1.5", "strategy.hedge.trigger: expected float <= 1.0, got 1.5"),
    ("[strategy.hedge]\ntarget = 1.0", "strategy.hedge.target: expected float < 1.0, got 1.0"),
    ("[strategy.hedge]\nslice_size = 0", "strategy.hedge.slice_size: expected float > 0.0, got 0"),
    ("[strategy.keeper]\nfill_ratio = 0", "strategy.keeper.fill_ratio: expected float > 0.0, got 0"),
    (
        "[strategy.keeper]\nsoft_position_frac = 2",
        "strategy.keeper.soft_position_frac: expected float <= 1.0",
    ),
    ("[strategy.intensity]\ndepth_bps = 0", "strategy.intensity.depth_bps: expected float > 0.0, got 0"),
    ("[strategy.unwind]\nmax_slices = 0", "strategy.unwind.max_slices: expected int >= 1, got 0"),
    ("[strategy.unwind]\nsafety_s = -1", "strategy.unwind.safety_s: expected float >= 0.0, got -1"),
    ("[strategy.hedge]\ntriger = 0.3", "strategy.hedge.triger: unknown key"),
    ("vol_half_life_s = 0", "strategy.vol_half_life_s: expected float > 0.0, got 0"),
    ("maker_fee_bps = 500", "strategy.maker_fee_bps: expected float <= 100.0, got 500"),
    ("oracle_weight = 2", "strategy.oracle_weight: expected float <= 1.0, got 2"),
    ("level_spacing = -0.5", "strategy.level_spacing: expected float >= 0.0, got -0.5"),
    ("initial_vol_daily_pct = -1", "strategy.initial_vol_daily_pct: expected float >= 0.0, got -1"),
]


@pytest.mark.parametrize(("line", "expected"), REFUSED)
def test_an_out_of_range_knob_is_one_line_naming_it(tmp_path: Path, line: str, expected: str) -> None:
    assert refusal(LOCAL + "\n" + line + "\n", tmp_path).startswith(f"F: {expected}")


def _numbers(info: msgspec.inspect.StructType, table: str) -> list[tuple[str, str, typing.Any]]:
    """(table, key, number type) of every number in the schema, sub-tables included."""
    found: list[tuple[str, str, typing.Any]] = []
    for field in info.fields:
        kind = field.type
        if isinstance(kind, msgspec.inspect.UnionType):
            kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
        if isinstance(kind, msgspec.inspect.StructType):
            found += _numbers(kind, f"{table}.{field.name}")
        elif isinstance(kind, msgspec.inspect.FloatType | msgspec.inspect.IntType):
            found.append((table, field.name, kind))
    return found


NUMBERS = _numbers(msgspec.inspect.type_info(StrategyConfig), "strategy")  # type: ignore[arg-type]


def _with_value(table: str, key: str, literal: str) -> str:
    head, sep, body = LOCAL.partition("\n[strategy]\n")
    if table == "strategy":
        body = "\n".join(ln for ln in body.split("\n") if not ln.startswith(f"{key} = "))
        return f"{head}{sep}{key} = {literal}\n{body}"
    return f"{LOCAL}\n[{table}]\n{key} = {literal}\n"


def test_the_schema_walk_sees_every_section() -> None:
    tables = {table for table, _, _ in NUMBERS}
    assert tables == {
        "strategy",
        "strategy.intensity",
        "strategy.keeper",
        "strategy.hedge",
        "strategy.unwind",
    }
    assert len(NUMBERS) >= 35


@pytest.mark.parametrize(("table", "key", "kind"), NUMBERS, ids=[f"{t}.{k}" for t, k, _ in NUMBERS])
def test_a_value_the_schema_accepts_builds_and_runs(table: str, key: str, kind: typing.Any) -> None:
    # Any value is either refused by loading naming a [strategy] field, or builds a maker that runs
    # (on the venue's numbers it is refused naming a field at worst): never one that loads and then
    # fails in the core.
    bounds = [b for b in (kind.gt, kind.ge, kind.lt, kind.le) if b is not None]
    values = {
        -1.0,
        0.0,
        1e-9,
        0.5,
        1.0,
        2.0,
        1e9,
        *bounds,
        *(b + 1e-9 for b in bounds),
        *(b - 1e-9 for b in bounds),
    }
    if isinstance(kind, msgspec.inspect.IntType):
        values = {float(round(v)) for v in values}
    for value in sorted(values):
        literal = repr(int(value)) if isinstance(kind, msgspec.inspect.IntType) else repr(value)
        try:
            params = maker_params(config(_with_value(table, key, literal)), SPEC, 2000.0)
        except ConfigError as exc:  # refused at load, or at the venue's numbers: naming the field
            refused = exc
        else:
            MarketMaker(params, settlement_model(parse_scenario('name = "x"')), _limits())
            continue
        assert refused.field.startswith("strategy."), str(refused)


def test_a_builder_refusal_names_the_field() -> None:
    st = StrategyConfig(order_size=0.001)
    with pytest.raises(StrategyError) as err:
        build(st, tick=Decimal("0.1"), lot=Decimal("0.01"), mid=2000.0, max_position_notional_usd=1e5)
    assert err.value.field == "strategy.order_size"
    assert "below the lot 0.01" in err.value.reason
    with pytest.raises(ConfigError) as cfg_err:
        maker_params(config(), MarketSpec(market="ETH", tick=Decimal("0.1"), lot=Decimal(1)), 2000.0)
    assert cfg_err.value.field == "strategy.order_size"
