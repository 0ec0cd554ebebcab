"""Transaction fee policy: first price, replace-by-fee bumps and the cap, in integer wei.

Pure rules the transaction manager applies; no I/O and no clock. Replacement rules follow what
execution clients enforce: both the max fee and the priority fee must rise by the bump (Geth and Reth
demand more than 10 % and sometimes reject exactly 10 %, so the floor is 12.5 %), rounded up, and
never above the policy cap.
"""

from __future__ import annotations

import enum
from typing import Literal

import msgspec

from keeper.core.gas import GasState

GWEI = 10**9
SELF_SEND_GAS = 21_000


class TxUrgency(enum.Enum):
    """How much a transaction's lateness costs; cancels outbid placements (a stale quote is worse)."""

    NORMAL = "normal"
    CANCEL = "cancel"


class Fees(msgspec.Struct, frozen=True):
    """EIP-1559 fee fields of one signed attempt, wei per gas."""

    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def __post_init__(self) -> None:
        if self.max_priority_fee_per_gas < 0 or self.max_fee_per_gas < self.max_priority_fee_per_gas:
            raise ValueError(f"need 0 <= tip <= max fee, got {self}")


class FeePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """The gas policy in the integer units the rules use (built from the config's GasPolicyConfig)."""

    cap_wei: int  # max fee per gas never exceeds this
    bump_bps: int  # replacement bump in basis points (1250 = 12.5 %)
    replace_after_s: float
    confirmations: int
    gas_limit_buffer_bps: int
    cancel_tip_multiplier_bps: int  # 15000 = cancels tip 1.5x a placement
    at_cap: Literal["wait", "cancel"]
    headroom_blocks: int = 2  # the first max fee survives this many full blocks of base-fee rises
    min_tip_wei: int = 1

    def __post_init__(self) -> None:
        if self.bump_bps < 1250:
            raise ValueError("bump_bps must be >= 1250 (12.5 %): nodes refuse smaller replacements")
        if self.cap_wei <= 0:
            raise ValueError("cap_wei must be positive")


def bump(value: int, bump_bps: int) -> int:
    """`value` raised by `bump_bps` basis points, rounded up, and by at least one wei."""
    return max(value + 1, -(-value * (10_000 + bump_bps) // 10_000))


def with_gas_buffer(estimate: int, buffer_bps: int) -> int:
    """A gas limit from an estimate with a safety buffer, rounded up."""
    return -(-estimate * (10_000 + buffer_bps) // 10_000)


def _escalation_ceiling(policy: FeePolicy) -> int:
    """The highest max fee ordinary attempts may use.

    With `at_cap = "cancel"` one bump of headroom is kept under the cap so that the same-nonce cancel,
    which must itself outbid the last attempt, still fits under the cap.
    """
    if policy.at_cap == "cancel":
        return policy.cap_wei * 10_000 // (10_000 + policy.bump_bps)
    return policy.cap_wei


def initial_fees(state: GasState, policy: FeePolicy, urgency: TxUrgency) -> Fees:
    """The first attempt's fees: the oracle's tip (more for cancels) over a base fee with headroom."""
    tip = max(state.priority_fee, policy.min_tip_wei)
    if urgency is TxUrgency.CANCEL:
        tip = -(-tip * policy.cancel_tip_multiplier_bps // 10_000)
    max_fee = state.max_fee_per_gas(policy.headroom_blocks) - state.priority_fee + tip
    ceiling = _escalation_ceiling(policy)
    max_fee = min(max_fee, ceiling)
    return Fees(max_fee, min(tip, max_fee))


def replacement_fees(last: Fees, fresh: Fees, policy: FeePolicy) -> Fees | None:
    """Fees for a same-nonce replacement of `last`, or None when the cap leaves no room to bump.

    The replacement pays at least the bump over `last` on both fields, and at least what a fresh
    first attempt would pay now (the market may have moved more than one bump).
    """
    ceiling = _escalation_ceiling(policy)
    need_max = bump(last.max_fee_per_gas, policy.bump_bps)
    need_tip = bump(last.max_priority_fee_per_gas, policy.bump_bps)
    if need_max > ceiling:
        return None
    max_fee = min(max(need_max, fresh.max_fee_per_gas), ceiling)
    tip = min(max(need_tip, fresh.max_priority_fee_per_gas), max_fee)
    if tip < need_tip:
        return None
    return Fees(max_fee, tip)


def cancel_fees(last: Fees, policy: FeePolicy) -> Fees | None:
    """Fees for a same-nonce zero-value self-send that cancels `last`; None if even that breaks the cap."""
    need_max = bump(last.max_fee_per_gas, policy.bump_bps)
    need_tip = bump(last.max_priority_fee_per_gas, policy.bump_bps)
    if need_max > policy.cap_wei or need_tip > need_max:
        return None
    return Fees(need_max, need_tip)


def is_priced_out(fees: Fees, next_base_fee: int) -> bool:
    """True when an attempt cannot be included in the next block at all (max fee under the base fee)."""
    return fees.max_fee_per_gas < next_base_fee
