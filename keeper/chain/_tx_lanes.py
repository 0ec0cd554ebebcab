"""A key's lane: its signer, nonce allocator, live transactions and the writer that broadcasts in order.

The writer is the only place raw transactions leave the process, one at a time in queue order, which
the manager keeps equal to nonce order for first sends. Each broadcast is attempted exactly once; its
result (hash, refusal or unknown outcome) goes back to the manager.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from keeper.chain._keys import Signer
from keeper.chain._nonce import LaneState, NonceLane
from keeper.chain._outage import describe
from keeper.chain._rpc import RpcClient, SendOutcomeUnknownError
from keeper.chain._tx_state import Attempt, TxHandle, TxStatus

log = logging.getLogger("keeper.chain.tx")

MAX_BATCH = 200
BroadcastResult = Callable[["Lane", TxHandle, Attempt, Exception | None], Awaitable[None]]


class Lane:
    """Everything the manager keeps per key."""

    def __init__(self, signer: Signer, rpc: RpcClient) -> None:
        self.signer = signer
        self.nonces = NonceLane(signer.address, signer.name)
        self.live: dict[int, TxHandle] = {}  # nonce -> the handle that owns it
        self.queue: asyncio.Queue[tuple[TxHandle, Attempt]] = asyncio.Queue()
        self.writer: asyncio.Task[None] | None = None
        self._rpc = rpc
        self.broadcasts = 0

    @property
    def state(self) -> LaneState:
        return self.nonces.state

    def __repr__(self) -> str:
        return f"Lane({self.signer}, {self.state.value}, live={len(self.live)})"

    def start_writer(self, on_result: BroadcastResult) -> None:
        self.writer = asyncio.create_task(self._write(on_result), name=f"tx-writer-{self.signer.name}")

    async def _write(self, on_result: BroadcastResult) -> None:
        while True:
            # Take everything queued (up to a batch): one JSON-RPC batch keeps nonce order and costs
            # one round trip instead of one per transaction.
            batch = [await self.queue.get()]
            while not self.queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self.queue.get_nowait())
            batch = [(h, a) for h, a in batch if not h.done and a in h.attempts]  # drop superseded ones
            if not batch:
                continue
            for handle, _ in batch:
                if handle.status is TxStatus.BUILT:
                    handle.move(TxStatus.SENT)
            outcomes: list[Exception | None]
            try:
                results = await self._rpc.send_raw_transactions([a.raw for _, a in batch])
                outcomes = [r if isinstance(r, Exception) else None for r in results]
            except SendOutcomeUnknownError as exc:
                outcomes = [exc] * len(batch)
            except Exception as exc:  # anything else: the writer must live, and these may have gone out
                unknown = SendOutcomeUnknownError(f"broadcast failed: {describe(exc)}")
                outcomes = [unknown] * len(batch)
            self.broadcasts += len(batch)
            for (handle, attempt), outcome in zip(batch, outcomes, strict=True):
                try:
                    await on_result(self, handle, attempt, outcome)
                except Exception:  # the writer must outlive any one bad result
                    log.exception("handling the broadcast result of %r failed", handle)
