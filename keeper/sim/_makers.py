"""The three strategies of a comparison, built from one scenario's `[strategy]` section.

`[strategy]` is a deployment's `[strategy]` and the builder is the live process's
(`keeper.core.strategy_config.maker_params`). All three share the quote parameters, the refresh rule,
the risk limits and the intensity prior (`[strategy.intensity]`: a desk calibrates A and k from trades
with `keeper.core.calibration`). Only the quoter differs, plus the keeper's own layers: the cost-aware
requote, the hedge ladder and the funding-unwind planner. Baselines get no hedging and no planner, as
Hummingbot's strategies have none.
"""

from __future__ import annotations

from decimal import Decimal

from keeper.core import strategy_config
from keeper.core.quote import QuoterName, SettlementModel
from keeper.core.risk import RiskLimits
from keeper.core.strategy import MakerParams
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
    """The scenario's `[strategy]` as strategy `name`, built by the live process's own builder at the
    scenario's tick, lot and start price."""
    return strategy_config.maker_params(
        s.strategy,
        tick=Decimal(s.market.tick),
        lot=Decimal(s.market.lot),
        mid=s.market.start_price,
        max_position_notional_usd=s.risk.max_position_notional_usd,
        quoter=name,
    )


def risk_limits(s: Scenario) -> RiskLimits:
    r = s.risk
    return RiskLimits(
        max_order_notional_usd=Decimal(repr(r.max_order_notional_usd)),
        max_position_notional_usd=Decimal(repr(r.max_position_notional_usd)),
        max_leverage=Decimal(repr(r.max_leverage)),
        max_drawdown_pct=Decimal(repr(r.max_drawdown_pct)),
        min_liquidation_distance_pct=Decimal(0),
        stale_data_s=max(5.0, 3 * s.strategy.requote_interval_s),
    )
