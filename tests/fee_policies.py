"""A FeePolicy factory shared by the fee-rule and tx-manager tests."""

from __future__ import annotations

from keeper.core.fees import GWEI, FeePolicy


def fee_policy(**overrides: object) -> FeePolicy:
    """The tests' baseline gas policy (12.5 % bump, 20 % gas buffer, cancels tip 1.5x), with overrides."""
    fields: dict[str, object] = {
        "cap_wei": 100 * GWEI,
        "bump_bps": 1250,
        "replace_after_s": 1.0,
        "confirmations": 1,
        "gas_limit_buffer_bps": 2000,
        "cancel_tip_multiplier_bps": 15000,
        "at_cap": "wait",
    }
    fields.update(overrides)
    return FeePolicy(**fields)  # type: ignore[arg-type]
