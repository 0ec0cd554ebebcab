"""The gas oracle against anvil: fee-history decoding, next base fee known a block ahead, spikes seen,
and reads failing over between endpoints."""

from __future__ import annotations

import pytest

from keeper.chain import (
    GasOracle,
    MalformedMessageError,
    RpcClient,
    decode_block_result,
    decode_fee_history,
)
from keeper.devchain import AnvilNode, AnvilOptions, lease_port

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
        async with RpcClient([node.http_url], chain_id=31337) as client:
            oracle = GasOracle(client, priority_percentile=50, window_blocks=5)
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


@pytest.mark.chain
async def test_oracle_reads_fail_over_to_the_next_endpoint() -> None:
    dead = lease_port()  # leased and never listened on: refused, so skipped at connect
    try:
        with (
            AnvilNode(AnvilOptions(mining="manual", base_fee_wei=GWEI)) as first,
            AnvilNode(AnvilOptions(mining="manual", base_fee_wei=GWEI)) as second,
        ):
            urls = [f"http://127.0.0.1:{dead.port}", first.http_url, second.http_url]
            async with RpcClient(urls, chain_id=31337, timeout_s=5) as rpc:
                assert rpc.url == first.http_url
                oracle = GasOracle(rpc, priority_percentile=50, window_blocks=5)
                first.rpc.mine(1)
                head = decode_block_result(first.rpc.get_block())
                assert head is not None
                assert await oracle.on_head(head) is not None
                # The endpoint in use dies mid-run: the next read must go to the second node.
                first.stop()
                second.rpc.mine(2)
                head = decode_block_result(second.rpc.get_block())
                assert head is not None
                state = await oracle.on_head(head)
                assert state is not None
                assert (state.block_number, state.base_fee) == (head.number, head.base_fee_per_gas)
                assert (rpc.url, rpc.failovers) == (second.http_url, 1)
                assert oracle.malformed == 0
    finally:
        dead.release()
