"""Fee rules: first price, replace-by-fee bumps (both fields, rounded up), the cap and its cancel headroom."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.core import GasState
from keeper.core.fees import (
    FeePolicy,
    Fees,
    TxUrgency,
    bump,
    cancel_fees,
    initial_fees,
    is_priced_out,
    replacement_fees,
    with_gas_buffer,
)
from tests.fee_policies import fee_policy

GWEI = 10**9


def policy(**overrides: object) -> FeePolicy:
    return fee_policy(**overrides)


def state(next_base_fee: int, tip: int) -> GasState:
    return GasState(
        block_number=1,
        base_fee=next_base_fee,
        next_base_fee=next_base_fee,
        priority_fee=tip,
        ewma_base_fee=float(next_base_fee),
        level=1.0,
        trend=0.0,
        spike=False,
    )


def test_bump_rounds_up_and_always_moves() -> None:
    assert bump(100, 1250) == 113  # 112.5 rounded up
    assert bump(1, 1250) == 2
    assert bump(0, 1250) == 1
    assert bump(8 * GWEI, 1250) == 9 * GWEI


def test_gas_buffer_rounds_up() -> None:
    assert with_gas_buffer(21_000, 2000) == 25_200
    assert with_gas_buffer(100_001, 2000) == 120_002  # 120001.2 -> up


def test_first_price_has_headroom_and_cancels_tip_more() -> None:
    s = state(10 * GWEI, 2 * GWEI)
    normal = initial_fees(s, policy(), TxUrgency.NORMAL)
    cancel = initial_fees(s, policy(), TxUrgency.CANCEL)
    # Two full blocks of headroom over the next base fee: 10 -> 11.25 -> 12.65625 gwei.
    assert normal == Fees(12_656_250_000 + 2 * GWEI, 2 * GWEI)
    assert cancel.max_priority_fee_per_gas == 3 * GWEI
    assert cancel.max_fee_per_gas == normal.max_fee_per_gas + GWEI
    assert not is_priced_out(normal, 10 * GWEI)
    assert is_priced_out(normal, 20 * GWEI)


def test_first_price_never_above_the_cap() -> None:
    fees = initial_fees(state(500 * GWEI, GWEI), policy(), TxUrgency.NORMAL)
    assert fees.max_fee_per_gas == 100 * GWEI


def test_replacement_bumps_both_fields_and_follows_the_market() -> None:
    last = Fees(10 * GWEI, GWEI)
    quiet = replacement_fees(last, Fees(5 * GWEI, GWEI // 2), policy())
    assert quiet == Fees(11_250_000_000, 1_125_000_000)
    moved = replacement_fees(last, Fees(40 * GWEI, 3 * GWEI), policy())
    assert moved == Fees(40 * GWEI, 3 * GWEI)


def test_replacement_is_clamped_to_the_cap_then_refused() -> None:
    p = policy(cap_wei=12 * GWEI)
    clamped = replacement_fees(Fees(10 * GWEI, GWEI), Fees(50 * GWEI, GWEI), p)
    assert clamped == Fees(12 * GWEI, 1_125_000_000)
    assert replacement_fees(Fees(11 * GWEI, GWEI), Fees(50 * GWEI, GWEI), p) is None  # 12.375 > 12


def test_cancel_mode_keeps_one_bump_of_headroom_for_the_self_send() -> None:
    p = policy(cap_wei=90 * GWEI, at_cap="cancel")
    ceiling = 80 * GWEI  # 90 / 1.125
    first = initial_fees(state(500 * GWEI, GWEI), p, TxUrgency.NORMAL)
    assert first.max_fee_per_gas == ceiling
    assert replacement_fees(first, Fees(500 * GWEI, GWEI), p) is None
    cancel = cancel_fees(first, p)
    assert cancel is not None
    assert cancel.max_fee_per_gas == 90 * GWEI
    assert cancel_fees(cancel, p) is None


def test_policy_refuses_a_bump_nodes_would_reject() -> None:
    with pytest.raises(ValueError, match="1250"):
        policy(bump_bps=1000)


@given(
    max_fee=st.integers(1, 10**12),
    tip_share=st.integers(0, 100),
    fresh=st.integers(1, 10**12),
    cap=st.integers(1, 2 * 10**12),
    bump_bps=st.integers(1250, 5000),
    at_cap=st.sampled_from(["wait", "cancel"]),
)
def test_replacements_always_outbid_and_never_exceed_the_cap(
    max_fee: int, tip_share: int, fresh: int, cap: int, bump_bps: int, at_cap: str
) -> None:
    p = policy(cap_wei=cap, bump_bps=bump_bps, at_cap=at_cap)
    last = Fees(max_fee, max_fee * tip_share // 100)
    nxt = replacement_fees(last, Fees(fresh, fresh // 10), p)
    if nxt is not None:
        assert nxt.max_fee_per_gas <= cap
        assert nxt.max_fee_per_gas * 10_000 >= last.max_fee_per_gas * (10_000 + bump_bps)
        assert nxt.max_priority_fee_per_gas * 10_000 >= last.max_priority_fee_per_gas * (10_000 + bump_bps)
    cancel = cancel_fees(last, p)
    if cancel is not None:
        assert cancel.max_fee_per_gas <= cap
        assert cancel.max_fee_per_gas * 10_000 >= last.max_fee_per_gas * (10_000 + bump_bps)
