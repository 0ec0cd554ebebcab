"""Block-head decoding (pure) and the head watcher against a real anvil, over WS and over HTTP polling."""

from __future__ import annotations

import asyncio
import json

import pytest

from keeper.chain import (
    ChainIdMismatchError,
    HeadWatcher,
    MalformedMessageError,
    NoEndpointAvailableError,
    RpcClient,
    decode_block_result,
    decode_head_push,
)
from keeper.devchain import AnvilNode, AnvilOptions

HEADER = {
    "number": "0x1b4",
    "hash": "0x" + "ab" * 32,
    "parentHash": "0x" + "cd" * 32,
    "timestamp": "0x6553f100",
    "gasUsed": "0x5208",
    "gasLimit": "0x1c9c380",
    "baseFeePerGas": "0x3b9aca00",
}


def test_decode_push() -> None:
    push = {
        "jsonrpc": "2.0",
        "method": "eth_subscription",
        "params": {"subscription": "0x9", "result": HEADER},
    }
    sub, head = decode_head_push(json.dumps(push))
    assert sub == "0x9"
    assert (head.number, head.gas_used, head.base_fee_per_gas) == (436, 21000, 10**9)
    assert head.timestamp == 0x6553F100


def test_decode_result_pre_london_has_no_base_fee() -> None:
    header = {k: v for k, v in HEADER.items() if k != "baseFeePerGas"}
    head = decode_block_result(header)
    assert head is not None
    assert head.base_fee_per_gas is None
    assert decode_block_result(None) is None


@pytest.mark.parametrize(
    "message",
    [
        b"not json",
        b'{"method": "eth_subscription", "params": {"subscription": "0x1"}}',
        json.dumps(
            {
                "method": "eth_subscription",
                "params": {"subscription": "0x1", "result": {**HEADER, "number": 5}},
            }
        ),
        json.dumps(
            {
                "method": "eth_subscription",
                "params": {"subscription": "0x1", "result": {**HEADER, "number": "0xzz"}},
            }
        ),
    ],
)
def test_malformed_pushes_raise_malformed_message(message: bytes | str) -> None:
    with pytest.raises(MalformedMessageError):
        decode_head_push(message)


async def collect(watcher: HeadWatcher, n: int, timeout_s: float = 15.0) -> list[int]:
    numbers: list[int] = []

    async def run() -> None:
        async for head in watcher.heads():
            numbers.append(head.number)
            if len(numbers) == n:
                return

    await asyncio.wait_for(run(), timeout_s)
    return numbers


@pytest.mark.chain
async def test_watcher_follows_new_heads_over_ws() -> None:
    with AnvilNode(AnvilOptions(mining="interval", block_time_s=0.2)) as node:
        async with RpcClient([node.http_url], chain_id=31337) as rpc:
            watcher = HeadWatcher(rpc, node.ws_url)
            numbers = await collect(watcher, 4)
    assert numbers == list(range(numbers[0], numbers[0] + 4))
    assert watcher.malformed == 0


@pytest.mark.chain
async def test_watcher_polls_without_ws(anvil_base: AnvilNode) -> None:
    async with RpcClient([anvil_base.http_url], chain_id=31337) as rpc:
        watcher = HeadWatcher(rpc, None, poll_interval_s=0.05)
        task = asyncio.create_task(collect(watcher, 3))
        for _ in range(40):
            if task.done():
                break
            anvil_base.rpc.mine(1)
            await asyncio.sleep(0.1)
        numbers = await task
    assert numbers == sorted(set(numbers))


@pytest.mark.chain
async def test_select_endpoint_skips_dead_and_refuses_wrong_chain(anvil_base: AnvilNode) -> None:
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    async with RpcClient([dead, anvil_base.http_url], 31337, timeout_s=2) as rpc:
        assert rpc.http_url == anvil_base.http_url
    with pytest.raises(ChainIdMismatchError, match="serves chain id 31337, config says 1"):
        await RpcClient([anvil_base.http_url], 1, timeout_s=2).connect()
    with pytest.raises(NoEndpointAvailableError):
        await RpcClient([dead], 31337, timeout_s=2).connect()
