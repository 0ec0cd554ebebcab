"""The gas oracle against anvil: fee-history decoding, next base fee known a block ahead, spikes seen."""

from __future__ import annotations

import aiohttp
import pytest

from keeper.chain import GasOracle, MalformedMessageError, decode_block_result, decode_fee_history
from keeper.devchain import AnvilNode, AnvilOptions

GWEI = 10**9


def test_decode_fee_history() -> None:
    result = {
        "oldestBlock": "0xa",
        "baseFeePerGas": ["0x3b9aca00", "0x3b9aca01", "0x3b9aca02"],
        "gasUsedRatio": [0.5, 0.25],
        "reward": [["0x1"], ["0x2"]],
    }
    blocks = decode_fee_history(result)
    assert [(b.number, b.base_fee, b.rewards) for b in blocks] == [(10, GWEI, (1,)), (11, GWEI + 1, (2,))]
    with pytest.raises(MalformedMessageError):
        decode_fee_history({"oldestBlock": 5})


@pytest.mark.chain
async def test_oracle_predicts_next_base_fee_and_flags_a_spike() -> None:
    with AnvilNode(AnvilOptions(mining="manual", base_fee_wei=GWEI)) as node:
        rpc = node.rpc
        async with aiohttp.ClientSession() as session:
            oracle = GasOracle(session, node.http_url, priority_percentile=50, window_blocks=5)
            seen = []
            oracle.add_listener(seen.append)
            for _ in range(6):
                rpc.mine(1)
                head = decode_block_result(rpc.get_block())
                assert head is not None
                state = await oracle.on_head(head)
                assert state is not None
                assert not state.spike
            predicted = state.next_base_fee
            rpc.mine(1)
            head = decode_block_result(rpc.get_block())
            assert head is not None
            assert head.base_fee_per_gas == predicted
            rpc.set_next_base_fee(20 * predicted)
            rpc.mine(1)
            head = decode_block_result(rpc.get_block())
            assert head is not None
            spike = await oracle.on_head(head)
            assert spike is not None
            assert spike.spike
            assert spike.base_fee == 20 * predicted
            assert oracle.latest == spike
            assert seen[-1] == spike
            assert spike.priority_fee >= 1
