"""Benchmark: sustained transactions per second through the TxManager to anvil, zero nonce gaps.

An interval-mining anvil (a block every 0.5 s, 100 M gas) gets `txs` value transfers submitted all
at once through the full path: fillers (chain id, gas estimate × buffer, fees, nonce), eth-account
signing, ordered batch broadcast, block scanning and confirmation. The rate is txs over the time
from the first submit to the last receipt seen, so it includes the tail wait for the last block.

The peer, measured in the same run on a fresh anvil, is the plain web3.py loop a bot would write
first: `AsyncWeb3(AsyncHTTPProvider)`, `eth.get_transaction_count` once, then for each tx
`eth.estimate_gas`, eth-account signing and `eth.send_raw_transaction`, then wait for every receipt.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from web3 import AsyncHTTPProvider, AsyncWeb3

from keeper.chain import RpcClient, Signer, TxManager, TxStatus, anvil_account
from keeper.core.fees import GWEI, FeePolicy
from keeper.devchain import AnvilNode, AnvilOptions

SINK = "0x000000000000000000000000000000000000dEaD"
_BLOCK_S = 0.5
_GAS_LIMIT = 100_000_000
_POLICY = FeePolicy(
    cap_wei=500 * GWEI,
    bump_bps=1250,
    replace_after_s=60.0,  # a throughput run should never need a replacement
    confirmations=1,
    gas_limit_buffer_bps=2000,
    cancel_tip_multiplier_bps=15000,
    at_cap="wait",
)


class GapError(AssertionError):
    """The run left a nonce gap or an unmined tx: the rate would be meaningless."""


def _node() -> AnvilNode:
    return AnvilNode(AnvilOptions(mining="interval", block_time_s=_BLOCK_S, gas_limit=_GAS_LIMIT))


async def _ours(url: str, txs: int, estimate: bool) -> float:
    key = Signer("bench", anvil_account(1))
    async with RpcClient([url], chain_id=31337) as rpc, TxManager(rpc, 31337, _POLICY) as manager:
        manager.set_active_signer(key)
        start_nonce = int(await rpc.request("eth_getTransactionCount", [key.address, "pending"]), 16)
        started = time.perf_counter()
        handles = await asyncio.gather(
            *(manager.submit(SINK, value=i + 1, gas=None if estimate else 21_000) for i in range(txs))
        )
        await asyncio.gather(*(h.wait({TxStatus.MINED, TxStatus.CONFIRMED}, timeout_s=120) for h in handles))
        elapsed = time.perf_counter() - started
        mined = int(await rpc.request("eth_getTransactionCount", [key.address, "latest"]), 16)
    nonces = sorted(h.nonce for h in handles)
    if nonces != list(range(start_nonce, start_nonce + txs)) or mined != start_nonce + txs:
        raise GapError(
            f"nonces {nonces[:3]}…{nonces[-3:]}, chain count {mined}, expected {start_nonce + txs}"
        )
    if any(len(h.attempts) != 1 for h in handles):
        raise GapError("a throughput run needed replacements")
    return txs / elapsed


async def _web3_loop(url: str, txs: int) -> float:
    account = anvil_account(2)
    w3: Any = AsyncWeb3(AsyncHTTPProvider(url))
    nonce = await w3.eth.get_transaction_count(account.address, "pending")
    block = await w3.eth.get_block("pending")
    started = time.perf_counter()
    hashes = []
    for i in range(txs):
        tx = {
            "type": 2,
            "chainId": 31337,
            "from": account.address,
            "to": SINK,
            "value": i + 1,
            "nonce": nonce + i,
            "maxFeePerGas": 2 * block["baseFeePerGas"] + GWEI,
            "maxPriorityFeePerGas": GWEI,
        }
        tx["gas"] = await w3.eth.estimate_gas(tx)
        del tx["from"]
        hashes.append(await w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    deadline = time.perf_counter() + 120  # one budget for all receipts, not 120 s each
    for tx_hash in hashes:
        remaining = max(0.1, deadline - time.perf_counter())
        await w3.eth.wait_for_transaction_receipt(tx_hash, timeout=remaining, poll_latency=0.05)
    elapsed = time.perf_counter() - started
    await w3.provider.disconnect()
    return txs / elapsed


def run_bench(txs: int = 2000, peer_txs: int = 500) -> dict[str, float]:
    """Keys: ``tx_per_s`` (estimated gas), ``tx_per_s_gas_given``, ``web3_tx_per_s`` and the ratio."""
    if txs < 1 or peer_txs < 1:
        raise ValueError("txs and peer_txs must be >= 1")
    result: dict[str, float] = {"tx_count": float(txs)}
    with _node() as node:
        result["tx_per_s"] = asyncio.run(_ours(node.http_url, txs, estimate=True))
    with _node() as node:
        result["tx_per_s_gas_given"] = asyncio.run(_ours(node.http_url, txs, estimate=False))
    with _node() as node:
        result["web3_tx_per_s"] = asyncio.run(_web3_loop(node.http_url, peer_txs))
    result["tx_over_web3"] = result["tx_per_s"] / result["web3_tx_per_s"]
    return result
