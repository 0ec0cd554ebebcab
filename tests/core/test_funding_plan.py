"""Funding-snapshot unwind planner: worked numbers (hold / partial / full, re-entry, flip) and properties
(no unwind when funding < cost, full when funding dwarfs cost, slices before the snapshot, reducing)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from keeper.core.funding_plan import (
    ExecutionStyle,
    FundingPlanInput,
    SliceKind,
    SlicePolicy,
    UnwindCosts,
    UnwindDecision,
    funding_payment,
    on_funding_flip,
    plan_unwind,
)

D = Decimal
TAKER_4_5 = UnwindCosts(half_spread_bps=D(1), taker_fee_bps=D("3.5"), gas_per_slice_quote=D("0.5"))


def long_eth(
    rate: str, costs: UnwindCosts = TAKER_4_5, t: float = 600.0, policy: SlicePolicy | None = None
) -> FundingPlanInput:
    """Long 10 ETH at 3,000: notional 30,000."""
    return FundingPlanInput(
        position=D(10),
        mark=D(3000),
        funding_rate=D(rate),
        seconds_to_snapshot=t,
        costs=costs,
        policy=policy or SlicePolicy(),
    )


# -- worked numbers ----------------------------------------------------------------------------------


def test_payment_and_cost_formulas() -> None:
    assert funding_payment(D(10), D(3000), D("0.0005")) == D(15)  # long pays
    assert funding_payment(D(-10), D(3000), D("0.0005")) == D(-15)  # short receives
    assert TAKER_4_5.slice_cost(D(30_000)) == D(14)  # 13.5 + 0.5 gas
    linear = UnwindCosts(impact_bps_at_ref=D(10))
    assert linear.impact_bps(D(1_500)) == D("1.5")
    sqrt = UnwindCosts(impact_bps_at_ref=D(10), impact_exponent=D("0.5"))
    assert sqrt.impact_bps(D(40_000)) == D(20)  # 10 x sqrt(4)
    maker = UnwindCosts(
        half_spread_bps=D(1), maker_fee_bps=D(-1), impact_bps_at_ref=D(10), style=ExecutionStyle.MAKER
    )
    assert maker.slice_cost(D(10_000)) == D(-1)  # rebate only: no spread, no impact


def test_full_unwind_when_funding_beats_cost() -> None:
    plan = plan_unwind(long_eth("0.0005"))  # pay 15; one slice costs 14
    assert plan.decision is UnwindDecision.FULL
    assert plan.fraction == 1
    assert plan.unwind_size == -10
    assert [(s.size, s.before_snapshot_s, s.delay_s) for s in plan.slices] == [(D(-10), 30.0, 570.0)]
    assert (plan.funding_gain, plan.unwind_cost, plan.net_benefit) == (D(15), D(14), D(1))
    assert plan.reentry == ()


def test_hold_when_reentry_makes_it_too_expensive() -> None:
    costs = msgspec.structs.replace(TAKER_4_5, reentry_cost_bps=D("4.5"))
    plan = plan_unwind(long_eth("0.0005", costs))  # 15 - 14 - (13.5 + 0.5) = -13
    assert plan.decision is UnwindDecision.HOLD
    assert plan.slices == plan.reentry == ()
    assert "cost exceeds funding" in plan.note


def test_full_unwind_with_reentry_after_the_snapshot() -> None:
    costs = msgspec.structs.replace(TAKER_4_5, reentry_cost_bps=D("4.5"))
    plan = plan_unwind(long_eth("0.002", costs))  # pay 60; out 14, back in 14 -> net 32
    assert plan.decision is UnwindDecision.FULL
    assert plan.net_benefit == D(32)
    assert [(s.kind, s.size, s.before_snapshot_s, s.delay_s) for s in plan.reentry] == [
        (SliceKind.REENTRY, D(10), -5.0, 605.0)
    ]


def test_partial_unwind_with_linear_impact_matches_the_closed_form() -> None:
    # x* P = (f - s - fee) k n_ref / (2 c) = (5 - 2) x 10 x 10,000 / 20 = 15,000 -> half the position.
    costs = UnwindCosts(
        half_spread_bps=D(1), taker_fee_bps=D(1), impact_bps_at_ref=D(10), gas_per_slice_quote=D("0.1")
    )
    plan = plan_unwind(long_eth("0.0005", costs))
    assert plan.decision is UnwindDecision.PARTIAL
    assert plan.fraction == D("0.5")
    assert [s.size for s in plan.slices] == [D("-0.5")] * 10
    assert [s.before_snapshot_s for s in plan.slices] == [
        120.0,
        110.0,
        100.0,
        90.0,
        80.0,
        70.0,
        60.0,
        50.0,
        40.0,
        30.0,
    ]
    # gain 7.5; cost 3 (spread + fee) + 2.25 (10 slices x 1,500 x 1.5 bps) + 1 (gas)
    assert (plan.funding_gain, plan.unwind_cost, plan.net_benefit) == (D("7.5"), D("6.25"), D("1.25"))


def test_fewer_slices_when_the_snapshot_is_near() -> None:
    costs = UnwindCosts(half_spread_bps=D(1), taker_fee_bps=D(1), impact_bps_at_ref=D(10))
    plan = plan_unwind(long_eth("0.0005", costs, t=50.0))  # room for slices at 50, 40, 30 s before
    assert len(plan.slices) == 3
    assert plan.slices[0].delay_s == 0.0
    # 3 slices: x* P = 3 x 3 x 10,000 / 20 = 4,500 -> 0.15 of the position
    assert plan.fraction == D("0.15")
    too_late = plan_unwind(long_eth("0.0005", costs, t=29.0))
    assert too_late.decision is UnwindDecision.HOLD
    assert "too late" in too_late.note


@pytest.mark.parametrize(
    ("position", "rate"), [("10", "-0.0005"), ("-10", "0.0005"), ("10", "0"), ("0", "0.01")]
)
def test_hold_when_we_do_not_pay(position: str, rate: str) -> None:
    inp = msgspec.structs.replace(long_eth(rate), position=D(position))
    assert plan_unwind(inp).decision is UnwindDecision.HOLD


def test_a_paying_short_buys_back() -> None:
    inp = msgspec.structs.replace(long_eth("-0.0005"), position=D(-10))  # shorts pay when f < 0
    plan = plan_unwind(inp)
    assert plan.decision is UnwindDecision.FULL
    assert plan.unwind_size == 10
    assert all(s.size > 0 for s in plan.slices)


def test_minimum_slice_and_lot_size() -> None:
    costs = UnwindCosts(half_spread_bps=D(1), taker_fee_bps=D(1), impact_bps_at_ref=D(10))
    # f = 20 bps: unconstrained this is FULL in 10 slices of 1. A 3 ETH minimum allows 3 slices, and
    # the closed form for k = 3 gives x* P = (20 - 2) x 3 x 10,000 / 20 = 27,000: 9 ETH in 3 x 3.
    assert len(plan_unwind(long_eth("0.002", costs)).slices) == 10
    plan = plan_unwind(long_eth("0.002", costs, policy=SlicePolicy(min_slice_size=D(3))))
    assert plan.decision is UnwindDecision.PARTIAL
    assert [s.size for s in plan.slices] == [D(-3)] * 3
    assert plan.net_benefit == D("24.3")  # 54 - 10.8 (spread + fee) - 18.9 (3 x 9,000 x 7 bps)
    odd = msgspec.structs.replace(long_eth("0.002"), position=D("1.237"))
    plan = plan_unwind(msgspec.structs.replace(odd, policy=SlicePolicy(lot_size=D("0.01"))))
    assert plan.decision is UnwindDecision.PARTIAL  # 1.237 is not a whole number of lots
    assert plan.unwind_size == D("-1.23")
    tiny = plan_unwind(msgspec.structs.replace(odd, policy=SlicePolicy(min_slice_size=D(5))))
    assert tiny.decision is UnwindDecision.HOLD


def test_min_benefit_threshold() -> None:
    plan = plan_unwind(long_eth("0.0005", policy=SlicePolicy(min_benefit_quote=D(1))))  # nets exactly 1
    assert plan.decision is UnwindDecision.HOLD


def test_maker_style_uses_the_maker_fee() -> None:
    maker = UnwindCosts(maker_fee_bps=D("1.5"), half_spread_bps=D(5), style=ExecutionStyle.MAKER)
    plan = plan_unwind(long_eth("0.0002", maker))  # pay 6 > 4.5 maker fee; a taker would pay 15+
    assert plan.decision is UnwindDecision.FULL
    assert plan.net_benefit == D("1.5")


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="mark"):
        plan_unwind(msgspec.structs.replace(long_eth("0.001"), mark=D(0)))
    with pytest.raises(ValueError, match="max_slices"):
        SlicePolicy(max_slices=0)


# -- funding flip ------------------------------------------------------------------------------------


def test_no_flip_keeps_the_plan() -> None:
    plan = plan_unwind(long_eth("0.0005"))
    assert on_funding_flip(plan, long_eth("0.0009")) is plan


def test_flip_to_receiving_cancels_the_unwind() -> None:
    plan = plan_unwind(long_eth("0.0005"))
    assert plan.decision is UnwindDecision.FULL
    replanned = on_funding_flip(plan, long_eth("-0.0005"))
    assert replanned.decision is UnwindDecision.HOLD
    assert replanned.slices == replanned.reentry == ()
    assert replanned.funding_rate == D("-0.0005")


def test_flip_after_the_cut_restores_toward_the_target_before_the_snapshot() -> None:
    plan = plan_unwind(long_eth("0.0005"))
    flat_now = msgspec.structs.replace(long_eth("-0.002"), position=D(0))  # we are flat; longs now receive
    replanned = on_funding_flip(plan, flat_now, target_position=D(10))
    assert replanned.decision is UnwindDecision.HOLD
    assert [(s.kind, s.size, s.before_snapshot_s) for s in replanned.reentry] == [
        (SliceKind.REENTRY, D(10), 30.0)
    ]
    # earn 60, pay 13.5 (no gas in the re-entry: gas 0.5 -> 14)
    assert (replanned.funding_gain, replanned.reentry_cost, replanned.net_benefit) == (D(60), D(14), D(46))
    # Small funding: restoring does not pay, so just hold.
    cheap = on_funding_flip(plan, msgspec.structs.replace(flat_now, funding_rate=D("-0.0001")), D(10))
    assert cheap.reentry == ()
    # Never restore past the target or from the other side.
    assert on_funding_flip(plan, msgspec.structs.replace(flat_now, position=D(-1)), D(10)).reentry == ()
    assert on_funding_flip(plan, msgspec.structs.replace(flat_now, position=D(10)), D(10)).reentry == ()


def test_flip_to_paying_starts_an_unwind_and_zero_counts_as_a_flip() -> None:
    hold = plan_unwind(long_eth("-0.0005"))
    assert hold.decision is UnwindDecision.HOLD
    assert on_funding_flip(hold, long_eth("0.0005")).decision is UnwindDecision.FULL
    unwinding = plan_unwind(long_eth("0.0005"))
    assert on_funding_flip(unwinding, long_eth("0")).decision is UnwindDecision.HOLD


# -- properties --------------------------------------------------------------------------------------

bps = st.decimals(min_value=D(0), max_value=D(50), places=2)
positions = st.decimals(min_value=D(-100), max_value=D(100), places=3).filter(lambda q: q != 0)
marks = st.decimals(min_value=D(1), max_value=D(100_000), places=2)
costs_st = st.builds(
    UnwindCosts,
    half_spread_bps=bps,
    taker_fee_bps=bps,
    gas_per_slice_quote=st.decimals(min_value=D(0), max_value=D(5), places=2),
    impact_bps_at_ref=bps,
    impact_ref_notional=st.decimals(min_value=D(100), max_value=D(1_000_000), places=0),
    impact_exponent=st.sampled_from([D(1), D("0.5")]),
    reentry_cost_bps=st.none() | bps,
)
policies = st.builds(
    SlicePolicy,
    min_slice_size=st.sampled_from([D(0), D("0.001"), D("0.1"), D(1)]),
    lot_size=st.sampled_from([None, D("0.001"), D("0.01")]),
    max_slices=st.integers(1, 12),
    slice_interval_s=st.sampled_from([0.0, 1.0, 10.0, 60.0]),
    safety_s=st.sampled_from([0.0, 5.0, 30.0]),
    fraction_steps=st.integers(1, 20),
)
times = st.floats(min_value=0, max_value=7_200, allow_nan=False)


def _inp(q: D, mark: D, f_bps: D, t: float, costs: UnwindCosts, policy: SlicePolicy) -> FundingPlanInput:
    return FundingPlanInput(
        position=q, mark=mark, funding_rate=f_bps / 10_000, seconds_to_snapshot=t, costs=costs, policy=policy
    )


@given(q=positions, mark=marks, t=times, costs=costs_st, policy=policies, data=st.data())
def test_no_unwind_when_funding_saved_is_below_cost(
    q: D, mark: D, t: float, costs: UnwindCosts, policy: SlicePolicy, data: st.DataObject
) -> None:
    floor_bps = costs.half_spread_bps + costs.taker_fee_bps  # every unit cut costs at least this
    f_bps = data.draw(st.decimals(min_value=D(0), max_value=floor_bps, places=2))
    paying = 1 if q > 0 else -1
    plan = plan_unwind(_inp(q, mark, paying * f_bps, t, costs, policy))
    assert plan.decision is UnwindDecision.HOLD
    assert plan.slices == plan.reentry == ()


@given(q=positions, mark=marks, costs=costs_st, max_slices=st.integers(1, 12))
def test_full_unwind_when_funding_dwarfs_cost(q: D, mark: D, costs: UnwindCosts, max_slices: int) -> None:
    # Sufficient: the last 5 % grid step gains more than the whole position's impact and gas.
    notional = abs(q) * mark
    assume(notional >= 1)
    reentry = costs.reentry_cost_bps or D(0)
    worst = costs.half_spread_bps + costs.taker_fee_bps + reentry + costs.impact_bps(notional)
    gas_bps = costs.gas_per_slice_quote * 2 * max_slices * 10_000 / notional
    f_bps = 40 * worst + 40 * gas_bps + 1
    policy = SlicePolicy(max_slices=max_slices, fraction_steps=20)
    plan = plan_unwind(_inp(q, mark, f_bps if q > 0 else -f_bps, 3_600.0, costs, policy))
    assert plan.decision is UnwindDecision.FULL
    assert plan.unwind_size == -q


@given(
    q=positions,
    mark=marks,
    f_bps=st.decimals(min_value=D(-200), max_value=D(200), places=2),
    t=times,
    costs=costs_st,
    policy=policies,
)
def test_slices_are_before_the_snapshot_sum_to_the_cut_and_only_reduce(
    q: D, mark: D, f_bps: D, t: float, costs: UnwindCosts, policy: SlicePolicy
) -> None:
    plan = plan_unwind(_inp(q, mark, f_bps, t, costs, policy))
    if plan.decision is UnwindDecision.HOLD:
        assert plan.slices == ()
        assert plan.unwind_size == 0
        return
    assert plan.net_benefit > policy.min_benefit_quote
    assert plan.net_benefit == plan.funding_gain - plan.unwind_cost - plan.reentry_cost
    assert sum((s.size for s in plan.slices), D(0)) == plan.unwind_size
    assert (plan.decision is UnwindDecision.FULL) == (plan.unwind_size == -q)
    assert 1 <= len(plan.slices) <= policy.max_slices
    position = q
    for s in plan.slices:
        assert s.kind is SliceKind.UNWIND
        assert 0 <= s.delay_s <= t - policy.safety_s
        assert s.before_snapshot_s >= policy.safety_s
        assert abs(s.delay_s + s.before_snapshot_s - t) < 1e-6
        assert abs(s.size) >= policy.min_slice_size
        if policy.lot_size is not None:
            assert s.size % policy.lot_size == 0
        after = position + s.size
        assert abs(after) < abs(position)
        assert after * q >= 0  # never through zero
        position = after
    assert [s.delay_s for s in plan.slices] == sorted(s.delay_s for s in plan.slices)
    if costs.reentry_cost_bps is None:
        assert plan.reentry == ()
    else:
        assert all(r.delay_s > t and r.before_snapshot_s < 0 for r in plan.reentry)
        assert sum((r.size for r in plan.reentry), D(0)) == -plan.unwind_size


@given(
    q=positions,
    mark=marks,
    f_bps=st.decimals(min_value=D("0.01"), max_value=D(200), places=2),
    t=times,
    costs=costs_st,
    policy=policies,
    done=st.decimals(min_value=D(0), max_value=D(1), places=2),
)
def test_flip_replans_without_unwinding_a_receiving_position(
    q: D, mark: D, f_bps: D, t: float, costs: UnwindCosts, policy: SlicePolicy, done: D
) -> None:
    paying = 1 if q > 0 else -1
    before = plan_unwind(_inp(q, mark, paying * f_bps, t, costs, policy))
    # Part of the cut has executed when the prediction flips to our favour.
    now = q + before.unwind_size * done
    flipped = _inp(now, mark, -paying * f_bps, t, costs, policy)
    after = on_funding_flip(before, flipped, target_position=q)
    assert after.funding_rate == flipped.funding_rate
    assert after.decision is UnwindDecision.HOLD
    assert after.slices == ()
    restored = sum((r.size for r in after.reentry), D(0))
    assert abs(now + restored) <= abs(q)  # never past the target
    assert (now + restored) * q >= 0
    assert all(r.before_snapshot_s >= policy.safety_s and r.delay_s >= 0 for r in after.reentry)
    assert on_funding_flip(before, _inp(now, mark, paying * f_bps * 2, t, costs, policy)) is before
