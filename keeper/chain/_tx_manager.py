"""The transaction manager: fill, sign, send in nonce order, escalate, confirm, survive reorgs.

One lane per key. `submit()` fills a request (chain id, gas limit, fees, nonce — in that order, so an
unestimatable call never takes a nonce), signs it locally with eth-account and queues it on its lane's
writer, which broadcasts in nonce order exactly once. A background loop (every `tick_s`, plus each
head it polls) then:

- matches mined blocks against our hashes (one block fetch per block), confirms after the policy's
  confirmations, and sends a mined tx back to pending when its block leaves the canonical chain;
- resolves UNKNOWN sends by lookups and re-broadcasting the same bytes (same hash: never a double send);
- replaces stuck txs by fee after `replace_after_s`, under the cap; at the cap it waits or cancels by a
  same-nonce self-send, as the policy says; re-broadcasts txs that fell out of the pool;
- fills any hole a refused tx left behind later nonces; retires drained lanes of rotated-out keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable

from keeper.chain._canonical import CanonicalChain
from keeper.chain._fillers import (
    ChainIdFiller,
    FeeFiller,
    Filler,
    GasLimitFiller,
    NonceFiller,
    TxRequest,
    fetch_gas_state,
    fill_transaction,
)
from keeper.chain._heads_codec import MalformedMessageError
from keeper.chain._keys import Signer
from keeper.chain._nonce import LaneState, NonceLane
from keeper.chain._outage import Outage, describe
from keeper.chain._rpc import (
    JsonRpc,
    RpcClient,
    RpcError,
    RpcTransportError,
    SendErrorKind,
    SendOutcomeUnknownError,
    SendRejectedError,
)
from keeper.chain._tx_lanes import Lane
from keeper.chain._tx_state import Attempt, Receipt, TxHandle, TxStatus
from keeper.chain._tx_tracking import follow_blocks, service_lane
from keeper.core.fees import (
    SELF_SEND_GAS,
    FeePolicy,
    Fees,
    TxUrgency,
    initial_fees,
)
from keeper.core.gas import GasState

log = logging.getLogger("keeper.chain.tx")

LIVE = frozenset({TxStatus.BUILT, TxStatus.SENT, TxStatus.PENDING, TxStatus.UNKNOWN, TxStatus.DROPPED})
_MAX_REPRICE_ON_FEE_TOO_LOW = 3


class TxManager:
    """Sends transactions for one or more keys on one chain. Use as an async context manager."""

    def __init__(
        self,
        rpc: RpcClient,
        chain_id: int,
        policy: FeePolicy,
        *,
        gas_state: Callable[[], GasState | None] = lambda: None,
        tick_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rpc = rpc
        self.chain_id = chain_id
        self._policy = policy
        self._gas_state = gas_state
        self._tick_s = tick_s
        self._clock = clock
        self._lanes: dict[str, Lane] = {}
        self._active: Lane | None = None
        self._by_hash: dict[str, TxHandle] = {}
        self._mined: dict[int, TxHandle] = {}  # handle id -> mined, awaiting confirmations
        self._ids = itertools.count(1)
        self._canonical = CanonicalChain()
        self.processed_block: int | None = None
        self.own_gas_state: GasState | None = None  # from the heads the loop polls (no oracle needed)
        self._loop_task: asyncio.Task[None] | None = None
        self._health = Outage(log, "tx manager block scan")
        self._wake = asyncio.Event()
        self.reorgs = 0  # rewinds of the block scan (a reorg, or a chain reset)
        self.replacements = 0
        self.rebroadcasts = 0
        self._fillers: list[Filler] = [
            ChainIdFiller(chain_id),
            GasLimitFiller(lambda: self._policy),
            FeeFiller(self.gas_state_now, lambda: self._policy),
            NonceFiller(self._nonce_lane),
        ]

    # ---------------------------------------------------------------- configuration
    @property
    def policy(self) -> FeePolicy:
        return self._policy

    def set_policy(self, policy: FeePolicy) -> None:
        """Apply a reloaded gas policy to new sends and to every pending one from the next tick."""
        self._policy = policy
        self._wake.set()
        log.info("gas policy applied: cap %d wei, bump %d bps, replace after %.2fs, at cap %s",
                 policy.cap_wei, policy.bump_bps, policy.replace_after_s, policy.at_cap)  # fmt: skip

    def set_active_signer(self, signer: Signer) -> None:
        """Make `signer` the key for new sends (rotation: the previous key's lane drains, then retires)."""
        key = signer.address.lower()
        lane = self._lanes.get(key)
        if lane is None or lane.state is LaneState.RETIRED:
            lane = Lane(signer, self._rpc)
            self._lanes[key] = lane
            lane.start_writer(self._on_broadcast_result)
        previous = self._active
        self._active = lane
        lane.nonces.state = LaneState.ACTIVE
        if previous is not None and previous is not lane:
            previous.nonces.state = LaneState.DRAINING
            log.info("key rotation: %s active; %s draining %d pending tx(s)",
                     signer, previous.signer, len(previous.live))  # fmt: skip
        self._wake.set()

    @property
    def active_address(self) -> str | None:
        return None if self._active is None else self._active.signer.address

    def lane_state(self, address: str) -> LaneState | None:
        lane = self._lanes.get(address.lower())
        return None if lane is None else lane.nonces.state

    def lane(self, address: str) -> NonceLane:
        return self._lanes[address.lower()].nonces

    def live_handles(self) -> list[TxHandle]:
        return [h for lane in self._lanes.values() for h in lane.live.values()]

    # ---------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> TxManager:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="tx-manager")

    async def stop(self) -> None:
        """Stop the loop and the writers; pending txs stay in the mempool (a restart resyncs)."""
        tasks = [self._loop_task] if self._loop_task else []
        tasks += [lane.writer for lane in self._lanes.values() if lane.writer is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=5)
            for task in stuck:
                log.error("tx manager task %s ignored cancellation", task.get_name())
        self._loop_task = None

    # ---------------------------------------------------------------- sending
    async def submit(
        self,
        to: str | None,
        data: bytes = b"",
        *,
        value: int = 0,
        urgency: TxUrgency = TxUrgency.NORMAL,
        gas: int | None = None,
        label: str = "",
    ) -> TxHandle:
        """Fill, sign and queue a transaction from the active key; returns its handle at BUILT.

        Raises:
            GasEstimateError: the call would revert; nothing was sent and no nonce was used.
        """
        if self._active is None:
            raise RuntimeError("TxManager has no active signer")
        lane = self._active
        request = TxRequest(
            sender=lane.signer.address, to=to, data=data, value=value, urgency=urgency, gas=gas
        )
        await fill_transaction(self._fillers, self._rpc, request)
        # From here to the queue there is no await: nonce order is queue order.
        assert request.nonce is not None
        return self.send_filled(lane, request, label or "tx")

    def send_filled(self, lane: Lane, request: TxRequest, label: str) -> TxHandle:
        """Sign a fully filled request and queue it; the request's nonce must be the lane's to use."""
        handle = TxHandle(next(self._ids), request, label)
        lane.live[handle.nonce] = handle
        self._queue(lane, handle, self._sign(lane, request))
        return handle

    def cancel(self, handle: TxHandle) -> None:
        """Ask for `handle`'s nonce to be taken by a zero-value self-send at the next tick."""
        if handle.status in LIVE:
            handle.cancel_requested = True
            self._wake.set()

    def _sign(self, lane: Lane, request: TxRequest, *, cancel: bool = False) -> Attempt:
        signed = lane.signer.account.sign_transaction(request.to_eth_account())
        return Attempt(
            tx_hash="0x" + bytes(signed.hash).hex(),
            raw=bytes(signed.raw_transaction),
            fees=request.fees(),
            sent_at=self._clock(),
            is_cancel=cancel,
        )

    def _queue(self, lane: Lane, handle: TxHandle, attempt: Attempt) -> None:
        handle.attempts.append(attempt)
        self._by_hash[attempt.tx_hash] = handle
        lane.queue.put_nowait((handle, attempt))

    async def _on_broadcast_result(
        self, lane: Lane, handle: TxHandle, attempt: Attempt, error: Exception | None
    ) -> None:
        """The writer's report on one broadcast; decides the handle's next state."""
        if error is None:
            if handle.status in (TxStatus.SENT, TxStatus.UNKNOWN, TxStatus.DROPPED):
                handle.move(TxStatus.PENDING)
            return
        if isinstance(error, SendOutcomeUnknownError):
            log.warning("%r: send outcome unknown (%s); will resolve by lookup", handle, error)
            if handle.status in (TxStatus.SENT, TxStatus.PENDING, TxStatus.DROPPED):
                handle.move(TxStatus.UNKNOWN, str(error))
            return
        assert isinstance(error, SendRejectedError)
        kind = error.kind
        if kind is SendErrorKind.ALREADY_KNOWN:
            if handle.status in (TxStatus.SENT, TxStatus.UNKNOWN, TxStatus.DROPPED):
                handle.move(TxStatus.PENDING)
            return
        first_broadcast = len(handle.attempts) == 1 and handle.status is TxStatus.SENT
        if not first_broadcast:
            # A replacement or re-broadcast was refused; the earlier attempt still stands (or was mined).
            log.info("%r: replacement refused (%s)", handle, error.message)
            if handle.status is TxStatus.SENT:
                # Under the base fee the node holds nothing for this nonce; otherwise the earlier
                # attempt still stands (or was mined, which the next block scan will show).
                handle.move(TxStatus.DROPPED if kind is SendErrorKind.FEE_TOO_LOW else TxStatus.PENDING)
            return
        if kind in (SendErrorKind.NONCE_TOO_LOW, SendErrorKind.REPLACEMENT_UNDERPRICED):
            # Someone else (another process on this key) holds the nonce: move past it and re-send.
            try:
                count = int(
                    await self._rpc.request("eth_getTransactionCount", [lane.signer.address, "pending"]), 16
                )
            except Exception as exc:  # the node is gone again: at least this nonce is taken
                log.warning("%r: nonce count unavailable (%s); moving past nonce %d", handle, describe(exc),
                            handle.nonce)  # fmt: skip
                count = handle.nonce + 1
            lane.nonces.sync(max(count, handle.nonce + 1))
            self._renonce(lane, handle)
            return
        if kind is SendErrorKind.FEE_TOO_LOW and handle.reprices < _MAX_REPRICE_ON_FEE_TOO_LOW:
            handle.reprices += 1
            try:
                state = await fetch_gas_state(self._rpc)
            except Exception as exc:  # no fresh price: the loop re-prices it like any dropped tx
                log.warning("%r: gas state unavailable (%s); left for the loop", handle, describe(exc))
                handle.move(TxStatus.DROPPED, "under the base fee; no fresh gas price")
                return
            self.resign(lane, handle, initial_fees(state, self._policy, handle.urgency))
            return
        if kind is SendErrorKind.NONCE_TOO_HIGH:
            handle.move(TxStatus.DROPPED, error.message)  # the loop re-broadcasts lower nonces first
            return
        lane.live.pop(handle.nonce, None)
        handle.move(TxStatus.REJECTED, error.message)
        lane.nonces.release(handle.nonce)
        log.warning("%r rejected: %s", handle, error.message)

    def _renonce(self, lane: Lane, handle: TxHandle) -> None:
        lane.live.pop(handle.nonce, None)
        request = handle.request
        request.nonce = lane.nonces.allocate()
        handle.nonce = request.nonce
        lane.live[handle.nonce] = handle
        handle.attempts.clear()
        self._queue(lane, handle, self._sign(lane, request))

    def resign(self, lane: Lane, handle: TxHandle, fees: Fees, *, cancel: bool = False) -> None:
        """Queue a same-nonce attempt at `fees` (a cancel is a zero-value self-send)."""
        request = handle.request
        if cancel:
            request = TxRequest(sender=lane.signer.address, to=lane.signer.address, chain_id=request.chain_id,
                                gas=SELF_SEND_GAS, nonce=handle.nonce)  # fmt: skip
        request.max_fee_per_gas = fees.max_fee_per_gas
        request.max_priority_fee_per_gas = fees.max_priority_fee_per_gas
        if handle.status is TxStatus.DROPPED or handle.status is TxStatus.PENDING:
            handle.move(TxStatus.SENT)
        self._queue(lane, handle, self._sign(lane, request, cancel=cancel))

    # ---------------------------------------------------------------- the loop
    @property
    def outages(self) -> int:
        """Outages of the background loop begun (node unreachable, or anything unexpected)."""
        return self._health.outages

    def _nonce_lane(self, address: str) -> NonceLane:
        return self._lanes[address.lower()].nonces

    async def _run(self) -> None:
        # Never ends but by cancellation: a failing node is an outage (logged when it starts and ends,
        # ticks keep retrying), and so is anything unexpected (its traceback logged once per outage).
        while True:
            try:
                await self._tick()
            except (RpcTransportError, RpcError, MalformedMessageError) as exc:
                self._health.fail(exc, then="retrying every tick")
            except Exception as exc:
                if self._health.fail(exc, then="retrying every tick"):
                    log.exception("tx manager tick crashed; continuing")
            else:
                self._health.ok()
            self._wake.clear()
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow the cancellation stop() sends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick_s):
                    await self._wake.wait()

    async def _tick(self) -> None:
        await follow_blocks(self)
        for lane in list(self._lanes.values()):
            await service_lane(self, lane)

    # Accessors the tracking helpers use (kept explicit rather than reaching into privates).
    @property
    def rpc(self) -> JsonRpc:
        return self._rpc

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @property
    def canonical(self) -> CanonicalChain:
        return self._canonical

    @property
    def lanes(self) -> dict[str, Lane]:
        return self._lanes

    @property
    def by_hash(self) -> dict[str, TxHandle]:
        return self._by_hash

    @property
    def mined(self) -> dict[int, TxHandle]:
        return self._mined

    def gas_state_now(self) -> GasState | None:
        """The oracle's view when there is one; else what this manager saw at its last head."""
        return self._gas_state() or self.own_gas_state

    def rebroadcast(self, lane: Lane, handle: TxHandle) -> None:
        """Send the latest attempt's exact bytes again (same hash: safe however often)."""
        self.rebroadcasts += 1
        attempt = handle.attempts[-1]
        handle.attempts[-1] = Attempt(
            attempt.tx_hash, attempt.raw, attempt.fees, self._clock(), attempt.is_cancel
        )
        lane.queue.put_nowait((handle, handle.attempts[-1]))

    def settle(self, handle: TxHandle, receipt: Receipt) -> None:
        """Record a receipt for one of `handle`'s attempts."""
        handle.receipt = receipt
        attempt = next(a for a in handle.attempts if a.tx_hash == receipt.tx_hash)
        lane = self._lanes[handle.sender.lower()]
        if attempt.is_cancel:
            lane.live.pop(handle.nonce, None)
            handle.move(TxStatus.REPLACED, "cancelled by a same-nonce self-send")
            self._forget(handle)
            return
        handle.move(TxStatus.MINED)
        lane.live.pop(handle.nonce, None)
        self._mined[handle.id] = handle

    def unsettle(self, handle: TxHandle) -> None:
        """Its block left the canonical chain: back to pending (the loop re-broadcasts if it vanished)."""
        handle.receipt = None
        handle.move(TxStatus.PENDING)
        self._mined.pop(handle.id, None)
        lane = self._lanes[handle.sender.lower()]
        lane.live[handle.nonce] = handle
        for h in handle.hashes:
            self._by_hash[h] = handle
        handle.recheck_pool = True

    def confirm(self, handle: TxHandle) -> None:
        handle.move(TxStatus.CONFIRMED)
        self._mined.pop(handle.id, None)
        self._forget(handle)

    def lose(self, handle: TxHandle, why: str) -> None:
        """Another transaction took the nonce."""
        self._lanes[handle.sender.lower()].live.pop(handle.nonce, None)
        handle.move(TxStatus.REPLACED, why)
        self._forget(handle)

    def _forget(self, handle: TxHandle) -> None:
        for h in handle.hashes:
            self._by_hash.pop(h, None)
