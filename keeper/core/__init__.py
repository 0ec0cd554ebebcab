"""Pure core: types and models with no I/O, no clock reads and no randomness.

Everything here takes time, prices and chain facts as inputs, so the simulator and the live keeper
run the very same code.
"""

from keeper.core.calibration import EwmaVolatility, fit_intensity
from keeper.core.fees import FeePolicy, Fees, TxUrgency
from keeper.core.funding_plan import FundingPlanInput, UnwindCosts, UnwindDecision, UnwindPlan, plan_unwind
from keeper.core.gas import (
    ELASTICITY_MULTIPLIER,
    FeeHistoryBlock,
    GasSpikeDetector,
    GasState,
    next_base_fee,
    reward_percentile,
)
from keeper.core.order_diff import LiveOrder, OrderDiff, diff_orders
from keeper.core.quote import (
    AvellanedaStoikovQuoter,
    FixedSpreadQuoter,
    GasInput,
    Inventory,
    KeeperQuoter,
    MarketSnapshot,
    QuoteParams,
    QuoteSet,
    SettlementModel,
    make_quoter,
)
from keeper.core.risk import DenialReason, RiskGate, RiskLimits, TradingState
from keeper.core.types import Side

__all__ = [
    "ELASTICITY_MULTIPLIER",
    "AvellanedaStoikovQuoter",
    "DenialReason",
    "EwmaVolatility",
    "FeeHistoryBlock",
    "FeePolicy",
    "Fees",
    "FixedSpreadQuoter",
    "FundingPlanInput",
    "GasInput",
    "GasSpikeDetector",
    "GasState",
    "Inventory",
    "KeeperQuoter",
    "LiveOrder",
    "MarketSnapshot",
    "OrderDiff",
    "QuoteParams",
    "QuoteSet",
    "RiskGate",
    "RiskLimits",
    "SettlementModel",
    "Side",
    "TradingState",
    "TxUrgency",
    "UnwindCosts",
    "UnwindDecision",
    "UnwindPlan",
    "diff_orders",
    "fit_intensity",
    "make_quoter",
    "next_base_fee",
    "plan_unwind",
    "reward_percentile",
]
