"""Simulator: scenario decoding, determinism per seed, the venue mechanics with worked numbers, and the
comparison the issue asks for on the shipped scenarios."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import numpy as np
import pytest

from keeper.core.fees import Fees, TxUrgency
from keeper.sim import ScenarioError, Simulation, compare, parse_scenario, simulate
from keeper.sim._book import OurBook, SimOrder
from keeper.sim._chain import ChainModel
from keeper.sim._makers import maker_params, risk_limits
from keeper.sim._paths import GWEI, Blocks, draw_paths, seeded_generators
from keeper.simtools.catalog import SHIPPED, shipped_scenario


def short(name: str, seconds: float = 900.0) -> object:
    return msgspec.structs.replace(shipped_scenario(name), duration_s=seconds)


def test_every_shipped_scenario_parses_and_names_itself() -> None:
    for name in SHIPPED:
        assert shipped_scenario(name).name == name


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('name = "x"\n[market]\nvol_daily = 3.0\n', "vol_daily"),
        ('name = "x"\n[market]\ntick = "-1"\n', "market.tick"),
        ('name = "x"\n[funding]\nflips_at_s = [1e9]\n', "funding.flips_at_s[0]"),
        ('name = "x"\n[venue]\nkind = "cex"\n', "venue.kind"),
        ('name = "x"\n[chain]\nbump_pct = 5\n', "chain.bump_pct"),
        ('name = "x"\n[strategy]\norder_size = 0.5\n[strategy.hedge]\ntrigger = 2.0\n', "strategy.hedge"),
        ('name = "x"\n[strategy]\norder_size = 0.0001\n', "strategy.order_size: 0.0001 is below the lot"),
        ('name = "x"\n[strategy]\nlevels = 2\n', "order_size"),
        ('name = "x"\n[strategy.keeper]\nhedge_trigger = 0.3\n', "hedge_trigger"),
        ('name = "x"\n[strategy]\norder_size = 0.5\ndecision_interval_s = 1.0\n', "decision_interval_s"),
        ('name = "x"\n[risk]\nmax_position_notional = 1.0\n', "max_position_notional"),
        ("name = ", "not valid TOML"),
    ],
)
def test_scenario_errors_name_the_field(text: str, needle: str) -> None:
    with pytest.raises(ScenarioError, match=r"^f\.toml: ") as err:
        parse_scenario(text, "f.toml")
    assert needle in str(err.value)


# calm's keeper maker before [strategy] became the deployment's schema (captured from that code).
CALM_KEEPER_BEFORE = (
    '{"quoter":"keeper","quote":{"tick":"0.01","lot":"0.001","order_size":0.5,"max_position":10.0,"levels":1,'
    '"level_spacing":0.5,"gamma":0.1,"intensity_a":1.0,"intensity_k":1.1111111111111112,"horizon_s":60.0,'
    '"eta":0.0,"adverse_selection_mult":1.0,"maker_fee_rate":0.00015,"fill_ratio":0.3,"size_ref_move":0.0015,'
    '"gas_size_sensitivity":1.0,"max_funding_shift":0.0005,"oracle_weight":0.0,"fixed_half_spread_bps":4.0,'
    '"soft_position":1.5},"market":"ETH","refresh_tolerance_bps":1.0,"size_tolerance":0.25,'
    '"cost_aware_requote":true,"hedge":{"trigger":0.3,"target":0.5,"slice_size":1.0,"interval_s":2.0},'
    '"funding_unwind":{"plan_window_s":300.0,"taker_fee_bps":4.5,"half_spread_bps":1.0,"impact_bps_at_ref":0.5,'
    '"impact_ref_notional":3000.0,"slice_policy":{"min_slice_size":"0","lot_size":"0.001","max_slices":4,'
    '"slice_interval_s":10.0,"safety_s":20.0,"reentry_delay_s":5.0,"fraction_steps":20,'
    '"min_benefit_quote":"0"}},"vol_half_life_s":300.0,"initial_sigma":0.00010206207261596574,'
    '"jump_trigger_bps":5.0,"intensity_refit_s":null,"intensity_prior_fills":200.0}'
)


def test_shipped_scenarios_build_the_makers_they_built_before() -> None:
    calm = shipped_scenario("calm")
    assert msgspec.json.encode(maker_params(calm, "keeper")).decode() == CALM_KEEPER_BEFORE
    fixed = maker_params(calm, "fixed")
    assert (fixed.hedge, fixed.funding_unwind, fixed.jump_trigger_bps, fixed.cost_aware_requote) == (
        None,
        None,
        None,
        False,
    )
    # The one shipped market whose volatility is not the default: the maker believes it from the start.
    congested = maker_params(shipped_scenario("congested_mempool"), "keeper")
    assert congested.initial_sigma == 0.00013608276348795433
    assert msgspec.structs.replace(congested, initial_sigma=0.0) == msgspec.structs.replace(
        maker_params(calm, "keeper"), initial_sigma=0.0
    )
    limits = risk_limits(calm)
    assert (limits.max_order_notional_usd, limits.max_position_notional_usd) == (
        Decimal(50_000),
        Decimal(100_000),
    )
    assert (limits.max_leverage, limits.max_drawdown_pct, limits.stale_data_s) == (
        Decimal(5),
        Decimal(10),
        5.0,
    )


@pytest.mark.parametrize("name", ["calm", "gas_spike"])
def test_same_seed_same_run_bit_for_bit(name: str) -> None:
    scenario = short(name)
    a = simulate(scenario, "keeper")  # type: ignore[arg-type]
    b = simulate(scenario, "keeper")  # type: ignore[arg-type]
    assert msgspec.json.encode(a) == msgspec.json.encode(b)
    other = simulate(scenario, "keeper", seed=12345)  # type: ignore[arg-type]
    assert other.series.mid != a.series.mid


def test_strategies_face_the_same_market() -> None:
    scenario = short("oracle_jumps", 600.0)
    runs = [simulate(scenario, s) for s in ("keeper", "as", "fixed")]  # type: ignore[arg-type]
    assert runs[0].series.mid == runs[1].series.mid == runs[2].series.mid
    assert runs[0].series.next_base_fee_gwei == runs[2].series.next_base_fee_gwei


def test_price_path_has_the_scenario_volatility_and_jumps() -> None:
    scenario = parse_scenario('name = "v"\nduration_s = 86400\n[market]\nvol_daily_pct = 4.0\n')
    mid = draw_paths(scenario, seeded_generators(3)[0]).mid
    daily = float(np.std(np.diff(np.log(mid)))) * np.sqrt(len(mid) - 1)
    assert daily == pytest.approx(0.04, rel=0.02)
    jumpy = parse_scenario(
        'name = "j"\nduration_s = 36000\n[market]\nvol_daily_pct = 0.0\njump_rate_per_hour = 5.0\n'
        "jump_std_bps = 30.0\n"
    )
    moves = np.diff(np.log(draw_paths(jumpy, seeded_generators(3)[0]).mid))
    assert 30 <= int(np.count_nonzero(np.abs(moves) > 1e-9)) <= 75  # ~50 jumps in 10 h


def test_blocks_follow_spikes_and_congestion() -> None:
    scenario = shipped_scenario("gas_spike")
    blocks = draw_paths(scenario, seeded_generators(1)[0]).blocks
    assert blocks is not None
    at = {round(step * scenario.dt_s): b for b, step in enumerate(blocks.step)}
    calm, spiked = blocks.base_fee[at[3000]], blocks.base_fee[at[3700]]
    assert calm < 0.2 * GWEI
    assert spiked > 100 * calm
    assert blocks.base_fee[at[6000]] < 0.2 * GWEI  # back down after the spike window
    jammed = draw_paths(shipped_scenario("congested_mempool"), seeded_generators(1)[0]).blocks
    assert jammed is not None
    inside = [b for b, step in enumerate(jammed.step) if 2000 <= step * scenario.dt_s < 4000]
    assert all(jammed.clearing_tip[b] > 0 for b in inside)
    assert jammed.clearing_tip[0] == 0


def test_taker_sweep_eats_the_queue_then_fills_partially() -> None:
    book = OurBook()
    book.add(SimOrder("b1", 1, Decimal("2999.0"), 0.5, queue=0.3))
    book.add(SimOrder("b2", 1, Decimal("2998.0"), 0.5, queue=0.0))
    # A 0.6 sell reaching 2998.5: 0.3 queue ahead of b1, then 0.3 of b1; b2 is deeper than the reach.
    fills = book.sweep(-1, 3000.0, 1.5 / 3000.0, 0.6)
    assert [(f.order_id, round(f.size, 9), f.price) for f in fills] == [("b1", 0.3, 2999.0)]
    assert book.orders["b1"].remaining == pytest.approx(0.2)
    assert book.sweep(1, 3000.0, 1.0, 5.0) == []  # a buyer never hits our bids


def test_arbitrageurs_take_quotes_left_through_the_mid() -> None:
    book = OurBook()
    book.add(SimOrder("b", 1, Decimal("2999.0"), 0.5, queue=9.0))
    book.add(SimOrder("a", -1, Decimal("3001.0"), 0.5, queue=9.0))
    assert not book.crossed_by(3000.0, 0.0)
    assert book.crossed_by(2990.0, 0.0)
    fills = book.arbitrage(2990.0, 0.0)
    assert [(f.order_id, f.size, f.liquidity) for f in fills] == [("b", 0.5, "arb")]
    assert list(book.orders) == ["a"]


def test_chain_inclusion_needs_the_base_fee_and_the_auction_tip_and_keeps_nonce_order() -> None:
    blocks = Blocks(
        step=[0, 20, 40],
        base_fee=[10 * GWEI, 30 * GWEI, 10 * GWEI],
        gas_used=[15_000_000] * 3,
        clearing_tip=[0, 0, 3 * GWEI],
        typical_tip=[GWEI] * 3,
    )
    chain = ChainModel(shipped_scenario("gas_spike").chain, blocks)
    low = chain.send("low", 100_000, TxUrgency.NORMAL, 0.0)
    low.fees = Fees(20 * GWEI, GWEI)
    second = chain.send("second", 50_000, TxUrgency.NORMAL, 0.0)
    second.fees = Fees(100 * GWEI, 5 * GWEI)
    assert chain.include(1) == []  # 20 gwei max fee under a 30 gwei base: stuck, and it holds the second
    low.fees = Fees(40 * GWEI, 2 * GWEI)
    assert chain.include(2) == []  # a 2 gwei tip under the 3 gwei auction waits
    assert [tx.payload for tx in chain.pending] == ["low", "second"]
    included = chain.include(0)
    assert [(tx.payload, wei) for tx, wei in included] == [
        ("low", 100_000 * (10 + 2) * GWEI),
        ("second", 50_000 * (10 + 5) * GWEI),
    ]


def test_funding_is_paid_on_the_oracle_at_the_snapshot() -> None:
    sim = Simulation(short("funding_flip", 600.0), "fixed")  # type: ignore[arg-type]
    sim.position, sim.oracle = 2.0, 3000.0
    rate = sim._funding_rate(3599.0)
    cash = sim.cash
    sim._funding(3600.0)
    assert sim.cash == pytest.approx(cash - 2.0 * 3000.0 * rate)
    assert rate > 0
    assert sim._funding_rate(7300.0) < 0


def test_a_liquidation_closes_at_the_oracle_with_a_penalty() -> None:
    sim = Simulation(short("calm", 600.0), "fixed")  # type: ignore[arg-type]
    sim.position, sim.cash, sim.oracle = 10.0, -29_000.0, 3000.0  # equity 1,000 >= 3 % of 30,000
    sim._margin(3000.0)
    assert sim.position == 10.0
    sim.cash = -29_200.0  # equity 800 < 900: liquidated, 1 % penalty on 30,000
    sim._margin(3000.0)
    assert sim.position == 0.0
    assert sim.cash == pytest.approx(-29_200.0 + 30_000.0 - 300.0)
    assert sim.rec.counts["liquidations"] == 1


@pytest.mark.slow
def test_keeper_beats_both_baselines_on_every_shipped_scenario() -> None:
    rows = compare([shipped_scenario(name) for name in SHIPPED])
    losing = [
        (r.scenario, {k: (round(v.sharpe), round(v.max_abs_inventory, 2)) for k, v in r.results.items()})
        for r in rows
        if not r.keeper_wins
    ]
    assert losing == []
