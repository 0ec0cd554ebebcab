"""Pure core: types and models with no I/O, no clock reads and no randomness.

Everything here takes time, prices and chain facts as inputs, so the simulator and the live keeper
run the very same code.
"""

from keeper.core.gas import (
    ELASTICITY_MULTIPLIER,
    FeeHistoryBlock,
    GasSpikeDetector,
    GasState,
    next_base_fee,
    reward_percentile,
)

__all__ = [
    "ELASTICITY_MULTIPLIER",
    "FeeHistoryBlock",
    "GasSpikeDetector",
    "GasState",
    "next_base_fee",
    "reward_percentile",
]
