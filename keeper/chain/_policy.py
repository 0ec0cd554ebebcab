"""The config's gas policy in the integer units the fee rules use."""

from __future__ import annotations

from keeper.config import GasPolicyConfig
from keeper.core.fees import GWEI, FeePolicy


def fee_policy(config: GasPolicyConfig) -> FeePolicy:
    """Convert once, at load or reload, so no float reaches a signed transaction."""
    return FeePolicy(
        cap_wei=round(config.max_fee_gwei * GWEI),
        # Rounded up: a 12.5 % floor must never become 12.49 % and be refused by a node.
        bump_bps=-(-round(config.bump_pct * 1000) // 10),
        replace_after_s=config.replace_after_s,
        confirmations=config.confirmations,
        gas_limit_buffer_bps=round(config.gas_limit_buffer_pct * 100),
        cancel_tip_multiplier_bps=round(config.cancel_priority_multiplier * 10_000),
        at_cap=config.at_cap,
    )
