"""Every way a node can fail, thrown at each long-running chain loop with a scripted RPC double: the
loops keep going, count, and log one line when an outage starts and one when it ends."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
import websockets
from websockets.frames import Close

from keeper.chain import (
    BlockHeader,
    ChainReset,
    GasOracle,
    HeadWatcher,
    MempoolWatcher,
    Reorg,
    RpcError,
    RpcTransportError,
    SendOutcomeUnknownError,
    Signer,
    TxHandle,
    TxStatus,
    anvil_account,
    decode_block_result,
)
from keeper.chain._fillers import TxRequest
from keeper.chain._tx_lanes import Lane
from keeper.chain._tx_state import Attempt
from keeper.core.fees import Fees

FAILURES: list[Callable[[], BaseException]] = [
    lambda: websockets.ConnectionClosedError(Close(1011, "internal error"), None),
    lambda: websockets.ConnectionClosedOK(Close(1000, "bye"), None),
    lambda: websockets.InvalidURI("ws://x", "bad"),
    lambda: ConnectionRefusedError(111, "refused"),
    TimeoutError,
    aiohttp.ServerDisconnectedError,
    lambda: json.JSONDecodeError("not JSON", "<html>", 0),
    lambda: RpcTransportError("no endpoint answered"),
    lambda: RpcError("eth_getBlockByNumber", -32000, "header not found"),
    lambda: KeyError("anything unexpected"),
]


def block(n: int) -> dict[str, Any]:
    fees = {"gasUsed": "0x0", "gasLimit": "0x1c9c380", "baseFeePerGas": "0x3b9aca00"}
    return {"number": hex(n), "hash": f"0x{n:064x}", "parentHash": f"0x{n - 1:064x}", "timestamp": hex(n),
            "transactions": [], **fees}  # fmt: skip


class FlakyNode:
    """Answers like a node while `failing` is empty; otherwise raises the next failure (cycling)."""

    def __init__(self) -> None:
        self.head = 10
        self.failing: list[Callable[[], BaseException]] = []
        self.calls = 0

    async def request(self, method: str, params: Any) -> Any:
        self.calls += 1
        if self.failing:
            raise self.failing[self.calls % len(self.failing)]()
        if method == "eth_getBlockByNumber":
            return block(self.head if params[0] == "latest" else int(params[0], 16))
        if method == "txpool_content":
            return {"pending": {}, "queued": {}}
        if method == "eth_feeHistory":
            return {
                "oldestBlock": params[1],
                "baseFeePerGas": ["0x1", "0x1"],
                "gasUsedRatio": [0.5],
                "reward": [["0x1"]],
            }
        raise AssertionError(method)


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - polling plain attributes
            await asyncio.sleep(0.01)


async def test_polling_heads_ride_out_every_kind_of_failure(caplog: pytest.LogCaptureFixture) -> None:
    node = FlakyNode()
    watcher = HeadWatcher(node, None, poll_interval_s=0.01, max_backoff_s=0.02)
    seen: list[int] = []

    async def follow() -> None:
        async for head in watcher.heads():
            seen.append(head.number)

    task = asyncio.create_task(follow())
    with caplog.at_level(logging.INFO, logger="keeper.chain.heads"):
        await until(lambda: seen == [10])
        node.failing = FAILURES
        await until(lambda: node.calls > 60 and not watcher.connected)
        assert not watcher.healthy
        node.failing = []
        node.head = 11
        await until(lambda: seen == [10, 11])
        assert watcher.connected
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines  # down, back: not one line per failed poll
    assert "down" in lines[0]
    assert "back after" in lines[1]
    assert watcher.outages == 1


async def test_mempool_polling_rides_out_every_kind_of_failure() -> None:
    node = FlakyNode()
    watcher = MempoolWatcher(node, None, poll_interval_s=0.01, max_backoff_s=0.02)
    task = asyncio.create_task(watcher.run())
    node.failing = FAILURES
    await until(lambda: node.calls > 60)
    node.failing = []
    calls = node.calls
    await until(lambda: node.calls > calls + 4)
    assert not task.done()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert watcher.outages == 1


async def test_gas_oracle_skips_heads_it_cannot_price() -> None:
    node = FlakyNode()
    oracle = GasOracle(node, priority_percentile=50, window_blocks=2)
    oracle.add_listener(lambda state: print(1 / 0))  # a broken listener does not stop it either
    node.failing = FAILURES
    for n in range(1, 21):
        assert await oracle.on_head(header(n)) is None
    node.failing = []
    state = await oracle.on_head(header(30))
    assert state is not None
    assert state.block_number == 30
    assert (oracle.outages, oracle.failures, oracle.listener_errors) == (1, 20, 1)


def header(n: int) -> BlockHeader:
    head = decode_block_result(block(n))
    assert head is not None
    return head


class ExplodingRpc:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def send_raw_transactions(self, raws: list[bytes]) -> list[str]:
        raise self.error


@pytest.mark.parametrize("make_error", FAILURES)
async def test_the_lane_writer_outlives_any_broadcast_failure(
    make_error: Callable[[], BaseException],
) -> None:
    signer = Signer("dev1", anvil_account(1))
    lane = Lane(signer, ExplodingRpc(make_error()))  # type: ignore[arg-type]
    outcomes: list[Exception | None] = []

    async def on_result(lane: Lane, handle: TxHandle, attempt: Attempt, error: Exception | None) -> None:
        outcomes.append(error)

    lane.start_writer(on_result)
    request = TxRequest(sender=signer.address, to=signer.address, chain_id=1, gas=21000, nonce=0,
                        max_fee_per_gas=2, max_priority_fee_per_gas=1)  # fmt: skip
    for n in range(2):
        handle = TxHandle(n, request, "t")
        attempt = Attempt(f"0x{n:064x}", b"\x01", Fees(2, 1), 0.0)
        handle.attempts.append(attempt)
        lane.queue.put_nowait((handle, attempt))
        await until(lambda n=n: len(outcomes) == n + 1)
        assert handle.status is TxStatus.SENT
    assert lane.writer is not None
    assert not lane.writer.done()
    assert all(isinstance(o, SendOutcomeUnknownError) for o in outcomes)
    lane.writer.cancel()
    await asyncio.gather(lane.writer, return_exceptions=True)


async def test_notices_reset_the_oracle_window_and_the_mempool() -> None:
    node = FlakyNode()
    oracle = GasOracle(node, priority_percentile=50, window_blocks=4)
    for n in range(1, 5):
        await oracle.on_head(header(n))
    assert [b.number for b in oracle._window] == [1, 2, 3, 4]
    oracle.on_chain_notice(Reorg(number=3, depth=2, previous=header(4), head=header(4)))
    assert [b.number for b in oracle._window] == [1, 2]
    oracle.on_chain_notice(ChainReset(previous=header(4), head=header(1), reason="genesis_changed"))
    assert list(oracle._window) == []

    mempool = MempoolWatcher()
    mempool.track_own([ALICE])
    gone: list[object] = []
    mempool.subscribe(gone.append)
    mempool.on_message(pending_push(1))
    mempool.on_chain_notice(ChainReset(previous=header(9), head=header(1), reason="no_common_block"))
    assert len(mempool) == 0
    assert [type(e).__name__ for e in gone] == ["PendingTxEvent", "PendingTxGone"]
    mempool.on_message(pending_push(1))  # on the new chain it is news again
    assert len(mempool) == 1


ALICE = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"


def pending_push(n: int) -> str:
    tx = {"type": "0x2", "hash": f"0x{n:064x}", "from": ALICE, "to": ALICE, "nonce": hex(n), "gas": "0x5208",
          "input": "0x", "value": "0x0", "maxFeePerGas": "0x2", "maxPriorityFeePerGas": "0x1"}  # fmt: skip
    return json.dumps({"method": "eth_subscription", "params": {"subscription": "0x1", "result": tx}})
