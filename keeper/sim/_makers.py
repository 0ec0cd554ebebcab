"""The three strategies of a comparison, built from one scenario's `[strategy]` section.

All three share the quote parameters, the refresh rule, the risk limits and the intensity model (A and k
from the scenario's taker flow: a desk calibrates them from trades with `keeper.core.calibration`). Only
the quoter differs, plus the keeper's own layers: the cost-aware requote, the hedge ladder and the
funding-unwind planner. Baselines get no hedging and no planner, as Hummingbot's strategies have none.
"""

from __future__ import annotations

from decimal import Decimal

from keeper.core.funding_plan import SlicePolicy
from keeper.core.quote import QuoteParams, QuoterName, SettlementModel
from keeper.core.risk import RiskLimits
from keeper.core.strategy import FundingUnwindParams, HedgeParams, MakerParams
from keeper.sim._scenario import Scenario

STRATEGIES: tuple[QuoterName, ...] = ("keeper", "as", "fixed")


def settlement_model(s: Scenario) -> SettlementModel:
    """What the venue costs and how long an action takes to land, as the maker first assumes it."""
    v = s.venue
    if v.kind == "api":
        tau = (v.latency_ms + v.latency_jitter_ms + v.data_latency_ms) / 1000.0
        return SettlementModel(tau_s=tau, replace_gas=0, max_batch=50)
    c = s.chain
    return SettlementModel(
        tau_s=c.block_time_s + v.data_latency_ms / 1000.0,
        place_gas=c.place_gas,
        cancel_gas=c.cancel_gas,
        replace_gas=c.replace_gas,
        max_batch=c.max_batch,
    )


def maker_params(s: Scenario, name: QuoterName) -> MakerParams:
    st, k = s.strategy, s.strategy.keeper
    depth_price = s.takers.depth_mean_bps / 10_000.0 * s.market.start_price
    quote = QuoteParams(
        tick=Decimal(s.market.tick),
        lot=Decimal(s.market.lot),
        order_size=st.order_size,
        max_position=st.max_position,
        levels=st.levels,
        level_spacing=st.level_spacing,
        gamma=st.gamma,
        intensity_a=s.takers.arrival_rate_per_s,
        intensity_k=1.0 / depth_price,
        horizon_s=st.horizon_s,
        eta=st.eta,
        adverse_selection_mult=k.adverse_selection_mult,
        maker_fee_rate=s.venue.maker_fee_bps / 10_000.0,
        fill_ratio=k.fill_ratio,
        size_ref_move=k.size_ref_move,
        gas_size_sensitivity=k.gas_size_sensitivity,
        max_funding_shift=k.max_funding_shift_bps / 10_000.0,
        fixed_half_spread_bps=st.fixed_half_spread_bps,
        soft_position=k.soft_position_frac * st.max_position,
    )
    keeper = name == "keeper"
    hedge = HedgeParams(
        trigger=k.hedge_trigger,
        target=k.hedge_target,
        slice_size=k.hedge_slice,
        interval_s=k.hedge_interval_s,
    )
    impact = s.market.impact_bps_per_unit
    unwind = FundingUnwindParams(
        plan_window_s=k.plan_window_s,
        taker_fee_bps=s.venue.taker_fee_bps,
        half_spread_bps=s.market.book_half_spread_bps,
        # impact per unit of size, as the planner's linear impact at a reference notional of one unit
        impact_bps_at_ref=impact,
        impact_ref_notional=s.market.start_price,
        slice_policy=SlicePolicy(
            lot_size=Decimal(s.market.lot), max_slices=4, slice_interval_s=10.0, safety_s=20.0
        ),
    )
    return MakerParams(
        quoter=name,
        quote=quote,
        refresh_tolerance_bps=st.refresh_tolerance_bps,
        cost_aware_requote=keeper,
        hedge=hedge if keeper else None,
        funding_unwind=unwind if keeper and k.funding_unwind else None,
        vol_half_life_s=st.vol_half_life_s,
        initial_sigma=s.market.vol_daily_pct / 100.0 / 86_400.0**0.5,
        jump_trigger_bps=k.jump_trigger_bps if keeper else None,
    )


def risk_limits(s: Scenario) -> RiskLimits:
    st = s.strategy
    return RiskLimits(
        max_order_notional_usd=Decimal(repr(st.max_order_notional)),
        max_position_notional_usd=Decimal(repr(st.max_position_notional)),
        max_leverage=Decimal(repr(st.max_leverage)),
        max_drawdown_pct=Decimal(repr(st.max_drawdown_pct)),
        min_liquidation_distance_pct=Decimal(0),
        stale_data_s=max(5.0, 3 * st.decision_interval_s),
    )
