"""The RPC client: chain-id check on connect, ordered failover for reads, once-only sends."""

from __future__ import annotations

import pytest

from keeper.chain import (
    ChainIdMismatchError,
    NoEndpointAvailableError,
    RpcClient,
    RpcError,
    SendErrorKind,
    SendRejectedError,
    anvil_account,
)
from keeper.devchain import AnvilNode, AnvilOptions, PortLease, lease_port

pytestmark = pytest.mark.chain


def _dead_url() -> tuple[str, PortLease]:
    lease = lease_port()  # leased and never listened on: connection refused
    return f"http://127.0.0.1:{lease.port}", lease


async def test_reads_fail_over_past_a_dead_endpoint(chain: AnvilNode) -> None:
    dead, lease = _dead_url()
    async with RpcClient([dead, chain.http_url], chain_id=31337, timeout_s=5) as rpc:
        assert rpc.url == chain.http_url  # the dead one never answered the chain-id check
        assert int(await rpc.request("eth_chainId", []), 16) == 31337
    lease.release()


async def test_fails_over_when_the_current_endpoint_dies() -> None:
    with AnvilNode(AnvilOptions()) as first, AnvilNode(AnvilOptions()) as second:
        async with RpcClient([first.http_url, second.ws_url], chain_id=31337, timeout_s=5) as rpc:
            assert rpc.url == first.http_url
            first.stop()
            assert int(await rpc.request("eth_blockNumber", []), 16) == 0
            assert rpc.url == second.ws_url
            assert rpc.failovers == 1


async def test_refuses_an_endpoint_on_another_chain(chain: AnvilNode) -> None:
    with AnvilNode(AnvilOptions(chain_id=999)) as other, pytest.raises(ChainIdMismatchError, match="999"):
        await RpcClient([chain.http_url, other.http_url], chain_id=31337).connect()


async def test_no_endpoint_is_a_clear_error() -> None:
    dead, lease = _dead_url()
    with pytest.raises(NoEndpointAvailableError, match=r"127\.0\.0\.1"):
        await RpcClient([dead], chain_id=1, timeout_s=2).connect()
    lease.release()


async def test_node_errors_are_rpc_errors_not_failovers(chain: AnvilNode) -> None:
    async with RpcClient([chain.http_url], chain_id=31337) as rpc:
        with pytest.raises(RpcError) as caught:
            await rpc.request("eth_noSuchMethod", [])
        assert caught.value.code != 0
        assert rpc.failovers == 0


async def test_send_refusals_are_classified_over_http_and_ws(chain: AnvilNode) -> None:
    account = anvil_account(7)
    tx = {
        "type": 2,
        "chainId": 31337,
        "nonce": 0,
        "to": account.address,
        "value": 0,
        "gas": 21_000,
        "maxFeePerGas": 1,  # under any base fee
        "maxPriorityFeePerGas": 1,
    }
    raw = bytes(account.sign_transaction(tx).raw_transaction)
    for url in (chain.http_url, chain.ws_url):
        async with RpcClient([url], chain_id=31337) as rpc:
            with pytest.raises(SendRejectedError) as caught:
                await rpc.send_raw_transaction(raw)
            assert caught.value.kind is SendErrorKind.FEE_TOO_LOW
            [result] = await rpc.send_raw_transactions([raw])
            assert isinstance(result, SendRejectedError)
