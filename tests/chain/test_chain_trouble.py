"""Chain trouble degrades, never kills: sockets that die, a node killed and restarted, reorgs.

A scripted WS node (loopback, leased port) closes every connection abruptly, alternately with close
code 1011 and by dropping the TCP connection; anvil is killed with SIGKILL and restarted on the same
port; `anvil_reorg` replaces the last blocks. The watchers must keep going, report what happened as
typed notices, and never let an exception out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import websockets

from keeper.chain import (
    BlockHeader,
    ChainNotice,
    ChainReset,
    GasOracle,
    HeadWatcher,
    MempoolWatcher,
    Reorg,
    RpcClient,
    RpcTransportError,
    Signer,
    TxManager,
    TxStatus,
    anvil_account,
)
from keeper.devchain import AnvilNode, AnvilOptions, lease_port
from tests.fee_policies import fee_policy

ALICE = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
SINK = "0x000000000000000000000000000000000000dEaD"


async def until(condition: Callable[[], bool], timeout_s: float, state: Callable[[], object] = str) -> None:
    """Wait for `condition`; on timeout fail with `state()` (what the watchers saw)."""
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():  # noqa: ASYNC110 - polling the watchers' plain attributes
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {timeout_s} s: {state()}") from None


class Follower:
    """Consumes a HeadWatcher's heads (into a gas oracle, if given) and notices; the task's failure is the
    test's failure."""

    def __init__(self, watcher: HeadWatcher, oracle: GasOracle | None = None) -> None:
        self.watcher = watcher
        self.oracle = oracle
        self.heads: list[BlockHeader] = []
        self.notices: list[ChainNotice] = []
        watcher.add_notice_listener(self.notices.append)

    def __repr__(self) -> str:
        w = self.watcher
        return (f"Follower(heads={[h.number for h in self.heads[-5:]]}, notices={self.notices}, "
                f"connected={w.connected}, outages={w.outages}, unverified={w.unverified})")  # fmt: skip

    async def run(self) -> None:
        async for head in self.watcher.heads():
            self.heads.append(head)
            if self.oracle is not None:
                await self.oracle.on_head(head)


@contextlib.asynccontextmanager
async def running(*jobs: Awaitable[None]) -> Any:
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        yield tasks
        for task in tasks:
            assert not task.done(), f"a watcher stopped: {task.exception() if not task.cancelled() else task}"
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results), results


# --- a scripted node whose sockets die -----------------------------------------------------------------
def block(n: int) -> dict[str, str]:
    return {
        "number": hex(n),
        "hash": f"0x{n:064x}",
        "parentHash": f"0x{n - 1:064x}" if n else "0x" + "00" * 32,
        "timestamp": hex(1_700_000_000 + n),
        "gasUsed": "0x0",
        "gasLimit": "0x1c9c380",
        "baseFeePerGas": "0x3b9aca00",
    }


class ScriptedChain:
    """One linear chain shared by the socket script and the RPC double (so no reorg is ever seen)."""

    def __init__(self) -> None:
        self.head = 100
        self.txs = itertools.count(1)

    async def request(self, method: str, params: Any) -> Any:
        if method == "eth_getBlockByNumber":
            n = self.head if params[0] == "latest" else int(params[0], 16)
            return block(n)
        raise AssertionError(method)


def push(subscription: str, result: dict[str, Any]) -> str:
    params = {"subscription": subscription, "result": result}
    return json.dumps({"jsonrpc": "2.0", "method": "eth_subscription", "params": params})


def tx(n: int) -> dict[str, str]:
    fees = {"maxFeePerGas": "0x77359400", "maxPriorityFeePerGas": "0x1", "gas": "0x5208"}
    return {"type": "0x2", "hash": f"0x{n:064x}", "from": ALICE, "to": ALICE, "nonce": hex(n), "input": "0x",
            "value": "0x0", **fees}  # fmt: skip


async def test_watchers_reconnect_when_the_node_kills_their_sockets() -> None:
    chain, endings = ScriptedChain(), []
    connections = itertools.count()

    async def script(ws: websockets.ServerConnection) -> None:
        request = json.loads(await ws.recv())
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0xabc"}))
        for _ in range(2):
            if request["params"][0] == "newHeads":
                chain.head += 1
                await ws.send(push("0xabc", block(chain.head)))
            else:
                await ws.send(push("0xabc", tx(next(chain.txs))))
        await asyncio.sleep(0.05)
        if next(connections) % 2:
            endings.append("drop")
            ws.transport.abort()  # no close frame: the TCP connection just goes
        else:
            endings.append("1011")
            await ws.close(1011, "internal error")

    lease = lease_port()
    try:
        async with websockets.serve(script, "127.0.0.1", lease.port):
            url = f"ws://127.0.0.1:{lease.port}"
            heads = Follower(HeadWatcher(chain, url, poll_interval_s=0.05, max_backoff_s=0.3))  # type: ignore[arg-type]
            mempool = MempoolWatcher(None, url, max_backoff_s=0.3)
            mempool.track_own([ALICE])
            async with running(heads.run(), mempool.run()):
                await until(lambda: len(heads.heads) >= 10 and mempool.decoded >= 10, 20)
    finally:
        lease.release()
    numbers = [h.number for h in heads.heads]
    assert numbers == list(range(101, 101 + len(numbers)))  # every head once, in order, none lost
    assert heads.watcher.reconnects >= 4
    assert heads.watcher.outages >= 4
    assert (heads.watcher.resets, heads.watcher.reorgs, heads.notices) == (0, 0, [])
    assert mempool.reconnects >= 4
    assert mempool.malformed == 0
    assert {"1011", "drop"} <= set(endings)


async def test_rpc_client_reopens_a_websocket_the_node_closed(caplog: pytest.LogCaptureFixture) -> None:
    served = itertools.count()

    async def script(ws: websockets.ServerConnection) -> None:
        async for raw in ws:
            request = json.loads(raw)
            result = "0x7a69" if request["method"] == "eth_chainId" else "0x2a"
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}))
            if next(served) == 1:  # the first connection dies right after its second reply
                await ws.close(1011, "internal error")

    lease = lease_port()
    try:
        async with websockets.serve(script, "127.0.0.1", lease.port):
            url = f"ws://127.0.0.1:{lease.port}/v2/AbCdEf0123456789SECRET"  # an API key in the path
            caplog.set_level(logging.INFO)
            async with RpcClient([url], 31337, timeout_s=2) as rpc:
                assert await rpc.request("eth_blockNumber", []) == "0x2a"
                listener = rpc._w3[url].provider._message_listener_task  # type: ignore[attr-defined]
                await until(listener.done, 5)  # it ends: no hot loop on a dead socket
                with pytest.raises(RpcTransportError, match="eth_blockNumber") as failed:
                    await rpc.request("eth_blockNumber", [])  # the library's ConnectionClosedError, wrapped
                assert "SECRET" not in str(failed.value)
                assert await rpc.request("eth_blockNumber", []) == "0x2a"  # reopened
                assert (rpc.reconnects, rpc.outages) == (1, 1)
    finally:
        lease.release()
    assert "Connecting to: ws://127.0.0.1" in caplog.text  # web3.py's own line, masked
    assert "SECRET" not in caplog.text


# --- anvil ------------------------------------------------------------------------------------------------
@pytest.mark.chain
async def test_anvil_killed_and_restarted_is_a_reset_and_nothing_dies() -> None:
    with AnvilNode(AnvilOptions(mining="interval", block_time_s=0.25)) as node:
        # Both endpoints, as `keeper run` has them: reads fail over to the WebSocket one mid-outage.
        async with RpcClient([node.http_url, node.ws_url], 31337, timeout_s=2) as rpc:
            oracle = GasOracle(rpc, priority_percentile=50, window_blocks=5)
            over_ws = Follower(HeadWatcher(rpc, node.ws_url, poll_interval_s=0.1, max_backoff_s=1.0), oracle)
            polled = Follower(HeadWatcher(rpc, None, poll_interval_s=0.1, max_backoff_s=1.0))
            mempool = MempoolWatcher(rpc, node.ws_url, poll_interval_s=0.1, max_backoff_s=1.0)
            followers = (over_ws, polled)
            manager = TxManager(rpc, 31337, fee_policy(), gas_state=lambda: oracle.latest, tick_s=0.1)
            manager.set_active_signer(Signer("dev9", anvil_account(9)))
            async with manager, running(over_ws.run(), polled.run(), mempool.run()):
                await until(
                    lambda: all(len(f.heads) >= 3 for f in followers) and mempool.subscribed.is_set(), 10
                )
                os.kill(node.pid, signal.SIGKILL)
                await until(lambda: not any(f.watcher.connected for f in followers), 10, lambda: followers)
                await until(lambda: manager.outages >= 1, 10)
                seen = [len(f.heads) for f in followers]
                await asyncio.to_thread(node.restart)
                # Within 10 s of the restart: the reset is named and heads flow again, on every watcher.
                await until(
                    lambda: (
                        all(
                            any(isinstance(n, ChainReset) for n in f.notices) and len(f.heads) >= k + 2
                            for f, k in zip(followers, seen, strict=True)
                        )
                        and mempool.subscribed.is_set()
                    ),
                    10,
                    lambda: (followers, mempool.stats()),
                )
                for follower in followers:
                    [reset] = [n for n in follower.notices if isinstance(n, ChainReset)]
                    # A new genesis, unless anvil restarted within its first second (same genesis block).
                    assert reset.reason in ("genesis_changed", "diverged_after_reconnect")
                    assert node.rpc.get_block(reset.head.number)["hash"] == reset.head.hash  # the new chain
                    assert follower.watcher.outages >= 1
                    assert follower.watcher.healthy
                    assert follower.watcher.clock_offset_s is not None
                assert mempool.reconnects >= 1
                # The transaction manager lived through it and sends on the new chain.
                handle = await manager.submit(SINK, value=1)
                assert await handle.wait({TxStatus.CONFIRMED}, timeout_s=10) is TxStatus.CONFIRMED
                assert oracle.latest is not None
                assert oracle.latest.block_number > reset.head.number - 1


@pytest.mark.chain
async def test_anvil_reorgs_are_reported_with_their_depth() -> None:
    with AnvilNode(AnvilOptions(mining="manual")) as node:
        node.rpc.mine(8)
        async with RpcClient([node.http_url], 31337, timeout_s=2) as rpc:
            followers = (
                Follower(HeadWatcher(rpc, node.ws_url, poll_interval_s=0.05)),
                Follower(HeadWatcher(rpc, None, poll_interval_s=0.05)),
            )

            def synced() -> bool:
                latest = node.rpc.get_block()["hash"]
                return all(f.heads and f.heads[-1].hash == latest for f in followers)

            async with running(*(f.run() for f in followers)):
                await until(lambda: followers[0].watcher.connected, 10)
                node.rpc.mine(1)  # a first push for the socket
                await until(synced, 10, lambda: followers)
                for count, depth in enumerate((1, 2, 3), start=1):
                    top = node.rpc.block_number()
                    node.rpc.request("anvil_reorg", [depth, []])
                    await until(
                        lambda n=count: all(len(f.notices) == n for f in followers), 10, lambda: followers
                    )
                    for follower in followers:
                        notice = follower.notices[-1]
                        assert isinstance(notice, Reorg), notice
                        assert (notice.number, notice.depth) == (top - depth + 1, depth)
                        assert notice.previous.number == top
                    node.rpc.mine(1)
                    await until(synced, 10)
            for follower in followers:
                assert follower.watcher.reorgs == 3
                assert follower.watcher.resets == 0
