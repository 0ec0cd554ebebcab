"""The live market maker from the config: `[strategy]` and `[risk]` plus the venue's market spec.

The simulator builds its makers from a scenario (`keeper.sim._makers`); this is the live counterpart,
with the same keeper-only layers. The knobs the config does not expose take the simulator's defaults
(`KeeperSection`), so the live maker is the one the comparison measured.
The intensity model (A, k) is a default until calibrated from our own fills: takers arrive at A = 1/s at
the touch and their depth decays over ~5 bps of the mid.
"""

from __future__ import annotations

from keeper.config import KeeperConfig
from keeper.core.funding_plan import SlicePolicy
from keeper.core.quote import QuoteParams, SettlementModel
from keeper.core.risk import RiskLimits
from keeper.core.strategy import FundingUnwindParams, HedgeParams, MakerParams, MarketMaker
from keeper.core.venue import MarketSpec
from keeper.sim import KeeperSection

DEPTH_BPS = 5.0
MAKER_FEE_RATE = 0.00015
TAKER_FEE_BPS = 4.5


def maker_params(config: KeeperConfig, spec: MarketSpec, mid: float) -> MakerParams:
    """Maker parameters for `spec`'s market at a first mid of `mid` (sizes the position limit)."""
    st, k = config.strategy, KeeperSection()
    max_position = st.max_position
    if max_position is None:
        max_position = config.risk.max_position_notional_usd / mid
    keeper = st.kind == "keeper"
    quote = QuoteParams(
        tick=spec.tick,
        lot=spec.lot,
        order_size=st.order_size,
        max_position=max_position,
        levels=st.levels,
        gamma=st.risk_aversion,
        intensity_a=1.0,
        intensity_k=1.0 / (DEPTH_BPS / 10_000.0 * mid),
        maker_fee_rate=MAKER_FEE_RATE,
        adverse_selection_mult=k.adverse_selection_mult,
        fill_ratio=k.fill_ratio,
        size_ref_move=k.size_ref_move,
        gas_size_sensitivity=k.gas_size_sensitivity,
        max_funding_shift=k.max_funding_shift_bps / 10_000.0,
        fixed_half_spread_bps=st.fixed_half_spread_bps,
        soft_position=k.soft_position_frac * max_position,
    )
    unwind = FundingUnwindParams(
        plan_window_s=k.plan_window_s,
        taker_fee_bps=TAKER_FEE_BPS,
        slice_policy=SlicePolicy(lot_size=spec.lot, max_slices=4, slice_interval_s=10.0, safety_s=20.0),
    )
    return MakerParams(
        quoter=st.kind,
        quote=quote,
        market=spec.market,
        refresh_tolerance_bps=1.0,
        cost_aware_requote=keeper,
        hedge=HedgeParams(
            trigger=k.hedge_trigger,
            target=k.hedge_target,
            slice_size=max(st.order_size, float(spec.lot)),
            interval_s=k.hedge_interval_s,
        )
        if keeper
        else None,
        funding_unwind=unwind if keeper else None,
        initial_sigma=0.5 / 100.0 / 86_400.0**0.5,  # 0.5 % a day until the EWMA has data
        jump_trigger_bps=k.jump_trigger_bps if keeper else None,
    )


def build_maker(
    config: KeeperConfig, spec: MarketSpec, mid: float, settlement: SettlementModel, limits: RiskLimits
) -> MarketMaker:
    return MarketMaker(maker_params(config, spec, mid), settlement, limits)


__all__ = ["build_maker", "maker_params"]
