"""Gas facts the quote engine prices in: next base fee, tip percentiles, and a spike detector.

Sources: EIP-1559 (base fee update rule; ELASTICITY_MULTIPLIER = 2, BASE_FEE_MAX_CHANGE_DENOMINATOR = 8),
`eth_feeHistory` (per-block rewards at requested percentiles). All amounts are integer wei; the only
floats are the detector's statistics, which never reach a signed payload.
"""

from __future__ import annotations

import math

import msgspec

ELASTICITY_MULTIPLIER = 2
BASE_FEE_MAX_CHANGE_DENOMINATOR = 8
WEI_PER_ETH = 10**18


def next_base_fee(parent_base_fee: int, parent_gas_used: int, parent_gas_limit: int) -> int:
    """The EIP-1559 base fee of the child of a block, exactly as clients compute it (integer wei)."""
    target = parent_gas_limit // ELASTICITY_MULTIPLIER
    if target == 0 or parent_gas_used == target:
        return parent_base_fee
    if parent_gas_used > target:
        delta = parent_base_fee * (parent_gas_used - target) // target // BASE_FEE_MAX_CHANGE_DENOMINATOR
        return parent_base_fee + max(delta, 1)
    delta = parent_base_fee * (target - parent_gas_used) // target // BASE_FEE_MAX_CHANGE_DENOMINATOR
    return parent_base_fee - delta


class FeeHistoryBlock(msgspec.Struct, frozen=True):
    """One block of `eth_feeHistory`: its base fee, gas used ratio and tips at the asked percentiles."""

    number: int
    base_fee: int
    gas_used_ratio: float
    rewards: tuple[int, ...]  # wei, one per requested percentile


def reward_percentile(blocks: list[FeeHistoryBlock], column: int) -> int:
    """The median across blocks of one reward column (robust to a single outlier block); 0 if empty."""
    values = sorted(b.rewards[column] for b in blocks if len(b.rewards) > column)
    if not values:
        return 0
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) // 2


class GasState(msgspec.Struct, frozen=True):
    """What the keeper knows about gas after a block. Wei unless named otherwise."""

    block_number: int
    base_fee: int
    next_base_fee: int
    priority_fee: int  # at the policy's percentile
    ewma_base_fee: float
    level: float  # next base fee / EWMA: 1.0 is normal
    trend: float  # EWMA of per-block log change of the base fee (0.125 is a max-up block)
    spike: bool

    def max_fee_per_gas(self, headroom_blocks: int = 2) -> int:
        """A max fee that stays valid for `headroom_blocks` full blocks (each can add 12.5 %)."""
        cap = self.next_base_fee
        for _ in range(headroom_blocks):
            cap += max(cap // BASE_FEE_MAX_CHANGE_DENOMINATOR, 1)
        return cap + self.priority_fee

    def cost_wei(self, gas: int) -> int:
        """Expected cost of `gas` units in the next block at the current tip."""
        return gas * (self.next_base_fee + self.priority_fee)

    def cost_quote(self, gas: int, native_price_quote: float) -> float:
        """Expected cost of `gas` units in quote currency, given the native token's price."""
        return self.cost_wei(gas) / WEI_PER_ETH * native_price_quote


def plain_gas_state(block_number: int, base_fee: int, next_fee: int, priority_fee: int) -> GasState:
    """A gas state from one block alone (no history: level 1, no trend), for senders without an oracle."""
    return GasState(
        block_number=block_number,
        base_fee=base_fee,
        next_base_fee=next_fee,
        priority_fee=max(priority_fee, 1),
        ewma_base_fee=float(base_fee),
        level=1.0,
        trend=0.0,
        spike=False,
    )


class GasSpikeDetector:
    """Flags gas spikes from the level of the next base fee against its EWMA and from its trend.

    A spike is `level >= level_threshold`, or a rising trend of at least `trend_threshold` per block
    (several near-full blocks in a row, which compound by up to 12.5 % each). Pure: fed one block at a
    time, it holds only the two EWMAs.
    """

    def __init__(
        self, half_life_blocks: float = 20.0, level_threshold: float = 1.5, trend_threshold: float = 0.06
    ):
        if half_life_blocks <= 0 or level_threshold <= 1 or trend_threshold <= 0:
            raise ValueError("half_life_blocks > 0, level_threshold > 1 and trend_threshold > 0 are required")
        self._alpha = 1.0 - math.exp(math.log(0.5) / half_life_blocks)
        self._trend_alpha = 1.0 - math.exp(math.log(0.5) / 3.0)  # short memory: the last few blocks
        self.level_threshold = level_threshold
        self.trend_threshold = trend_threshold
        self._ewma: float | None = None
        self._trend = 0.0
        self._last_base_fee: int | None = None

    def observe(
        self, block_number: int, base_fee: int, gas_used: int, gas_limit: int, priority_fee: int
    ) -> GasState:
        """Feed one new block (in order) and get the resulting gas state."""
        nxt = next_base_fee(base_fee, gas_used, gas_limit)
        if self._ewma is None:
            self._ewma = float(base_fee)
        else:
            self._ewma += self._alpha * (base_fee - self._ewma)
        if self._last_base_fee is not None and self._last_base_fee > 0 and base_fee > 0:
            step = math.log(base_fee / self._last_base_fee)
            self._trend += self._trend_alpha * (step - self._trend)
        self._last_base_fee = base_fee
        level = nxt / self._ewma if self._ewma > 0 else 1.0
        spike = level >= self.level_threshold or self._trend >= self.trend_threshold
        return GasState(
            block_number=block_number,
            base_fee=base_fee,
            next_base_fee=nxt,
            priority_fee=priority_fee,
            ewma_base_fee=self._ewma,
            level=level,
            trend=self._trend,
            spike=spike,
        )
