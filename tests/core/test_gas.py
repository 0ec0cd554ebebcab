"""EIP-1559 next base fee (worked numbers and against anvil), tip percentiles, spike detection."""

from __future__ import annotations

import pytest
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from keeper.core import FeeHistoryBlock, GasSpikeDetector, next_base_fee, reward_percentile
from keeper.devchain import AnvilNode, AnvilOptions

GWEI = 10**9


def test_next_base_fee_worked_numbers() -> None:
    # Target 15M of a 30M block.
    assert next_base_fee(100 * GWEI, 15_000_000, 30_000_000) == 100 * GWEI
    assert next_base_fee(100 * GWEI, 30_000_000, 30_000_000) == 112_500_000_000  # full: +12.5 %
    assert next_base_fee(100 * GWEI, 0, 30_000_000) == 87_500_000_000  # empty: -12.5 %
    assert next_base_fee(100 * GWEI, 22_500_000, 30_000_000) == 106_250_000_000  # half over: +6.25 %
    assert next_base_fee(7, 15_000_001, 30_000_000) == 8  # the increase is at least 1 wei
    assert next_base_fee(7, 14_999_999, 30_000_000) == 7  # a tiny decrease rounds to 0


@given(
    base=st.integers(min_value=0, max_value=10**15),
    target=st.integers(min_value=1, max_value=30_000_000),
    used_fraction=st.floats(min_value=0, max_value=1),
)
def test_next_base_fee_moves_at_most_one_eighth(base: int, target: int, used_fraction: float) -> None:
    limit = 2 * target  # elasticity 2: a full block is twice the target
    used = int(limit * used_fraction)
    nxt = next_base_fee(base, used, limit)
    assert base - base // 8 <= nxt <= base + max(base // 8, 1)
    if used > target:
        assert nxt > base
    elif used < target:
        assert nxt <= base


@pytest.mark.chain
def test_next_base_fee_equals_anvil() -> None:
    # A small block gas limit so a few transfers overfill or underfill the 50 % target.
    with AnvilNode(AnvilOptions(mining="manual", gas_limit=100_000, base_fee_wei=GWEI)) as node:
        rpc = node.rpc
        sender = Account.create()
        rpc.set_balance(sender.address, 10**20)
        nonce = 0
        for transfers in (0, 1, 2, 3, 4, 2, 0, 4, 4):
            for _ in range(transfers):
                tx = {
                    "to": "0x" + "11" * 20,
                    "value": 1,
                    "gas": 21_000,
                    "nonce": nonce,
                    "chainId": 31337,
                    "maxFeePerGas": 100 * GWEI,
                    "maxPriorityFeePerGas": 1,
                }
                rpc.send_raw_transaction("0x" + sender.sign_transaction(tx).raw_transaction.hex())
                nonce += 1
            rpc.mine(1)
            parent = rpc.get_block()
            predicted = next_base_fee(
                int(parent["baseFeePerGas"], 16), int(parent["gasUsed"], 16), int(parent["gasLimit"], 16)
            )
            rpc.mine(1)
            child = rpc.get_block()
            assert int(child["baseFeePerGas"], 16) == predicted, (transfers, parent["gasUsed"])


def test_reward_percentile_is_the_median_across_blocks() -> None:
    blocks = [
        FeeHistoryBlock(number=i, base_fee=GWEI, gas_used_ratio=0.5, rewards=(r, r * 2))
        for i, r in enumerate([5, 1, 1000, 3, 2])
    ]
    assert reward_percentile(blocks, 0) == 3
    assert reward_percentile(blocks, 1) == 6
    assert reward_percentile(blocks[:4], 0) == 4
    assert reward_percentile([], 0) == 0


def test_spike_detector_calm_then_spike_then_calm() -> None:
    detector = GasSpikeDetector(half_life_blocks=10, level_threshold=1.5, trend_threshold=0.06)
    limit = 30_000_000
    states = [detector.observe(n, 10 * GWEI, limit // 2, limit, GWEI) for n in range(30)]
    assert not any(s.spike for s in states)
    assert states[-1].level == pytest.approx(1.0)
    # A base-fee jump (e.g. anvil_setNextBlockBaseFeePerGas or a burst of full blocks) is a spike.
    jump = detector.observe(30, 25 * GWEI, limit // 2, limit, GWEI)
    assert jump.spike
    assert jump.level > 1.5
    # Steady full blocks: each +12.5 %: the trend alone flags it within a few blocks.
    detector2 = GasSpikeDetector(half_life_blocks=1000, level_threshold=100, trend_threshold=0.06)
    fee = 10 * GWEI
    flagged = []
    for n in range(10):
        flagged.append(detector2.observe(n, fee, limit, limit, GWEI).spike)
        fee = next_base_fee(fee, limit, limit)
    assert not flagged[0]
    assert any(flagged[:6])


def test_gas_state_costs() -> None:
    state = GasSpikeDetector().observe(1, 10 * GWEI, 15_000_000, 30_000_000, 2 * GWEI)
    assert state.next_base_fee == 10 * GWEI
    assert state.cost_wei(50_000) == 50_000 * 12 * GWEI
    assert state.cost_quote(50_000, native_price_quote=3000.0) == pytest.approx(50_000 * 12e-9 * 3000)
    # Max fee survives two full blocks: 10 -> 11.25 -> 12.65625 gwei, plus the tip.
    assert state.max_fee_per_gas(2) == 12_656_250_000 + 2 * GWEI


def test_detector_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="level_threshold > 1"):
        GasSpikeDetector(level_threshold=0.5)
