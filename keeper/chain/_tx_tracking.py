"""The manager's loop work: follow blocks (mined, confirmed, reorged) and service each lane's live txs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from keeper.chain._canonical import CanonicalChain
from keeper.chain._fillers import TxRequest, fetch_gas_state, fetch_tip
from keeper.chain._heads_codec import MalformedMessageError
from keeper.chain._nonce import LaneState
from keeper.chain._rpc import JsonRpc, RpcError
from keeper.chain._tx_state import Receipt, TxHandle, TxStatus
from keeper.core.fees import (
    GWEI,
    SELF_SEND_GAS,
    FeePolicy,
    Fees,
    TxUrgency,
    cancel_fees,
    initial_fees,
    replacement_fees,
)
from keeper.core.gas import GasState, next_base_fee, plain_gas_state

if TYPE_CHECKING:
    from keeper.chain._tx_lanes import Lane


class TrackedManager(Protocol):
    """What the tracking helpers use of the transaction manager (it is one; a protocol here keeps the
    import graph one-way: the manager imports these helpers, never the reverse)."""

    chain_id: int
    own_gas_state: GasState | None
    processed_block: int | None
    reorgs: int
    replacements: int

    @property
    def rpc(self) -> JsonRpc: ...
    @property
    def clock(self) -> Callable[[], float]: ...
    @property
    def canonical(self) -> CanonicalChain: ...
    @property
    def by_hash(self) -> dict[str, TxHandle]: ...
    @property
    def mined(self) -> dict[int, TxHandle]: ...
    @property
    def policy(self) -> FeePolicy: ...
    def gas_state_now(self) -> GasState | None: ...
    def rebroadcast(self, lane: Lane, handle: TxHandle) -> None: ...
    def resign(self, lane: Lane, handle: TxHandle, fees: Fees, *, cancel: bool = False) -> None: ...
    def send_filled(self, lane: Lane, request: TxRequest, label: str) -> TxHandle: ...
    def settle(self, handle: TxHandle, receipt: Receipt) -> None: ...
    def unsettle(self, handle: TxHandle) -> None: ...
    def confirm(self, handle: TxHandle) -> None: ...
    def lose(self, handle: TxHandle, why: str) -> None: ...


log = logging.getLogger("keeper.chain.tx")

MAX_BLOCKS_PER_TICK = 64


class _Block(msgspec.Struct):
    number: str
    hash: str
    parentHash: str  # noqa: N815 - JSON-RPC field name
    transactions: list[str] = []
    baseFeePerGas: str = "0x0"  # noqa: N815
    gasUsed: str = "0x0"  # noqa: N815
    gasLimit: str = "0x0"  # noqa: N815


class _WireReceipt(msgspec.Struct):
    transactionHash: str  # noqa: N815
    blockNumber: str  # noqa: N815
    blockHash: str  # noqa: N815
    status: str = "0x1"
    gasUsed: str = "0x0"  # noqa: N815
    effectiveGasPrice: str = "0x0"  # noqa: N815


def _receipt(wire: _WireReceipt) -> Receipt:
    return Receipt(
        tx_hash=wire.transactionHash,
        block_number=int(wire.blockNumber, 16),
        block_hash=wire.blockHash,
        status=int(wire.status, 16),
        gas_used=int(wire.gasUsed, 16),
        effective_gas_price=int(wire.effectiveGasPrice, 16),
    )


async def _block(m: TrackedManager, tag: str | int) -> _Block | None:
    result = await m.rpc.request("eth_getBlockByNumber", [tag if isinstance(tag, str) else hex(tag), False])
    if result is None:
        return None
    try:
        return msgspec.convert(result, _Block)
    except msgspec.ValidationError as exc:
        raise MalformedMessageError(f"eth_getBlockByNumber: {exc}") from exc


async def _node_hash_at(m: TrackedManager, number: int) -> str | None:
    block = await _block(m, number)
    return None if block is None else block.hash


async def follow_blocks(m: TrackedManager) -> None:
    """Scan every block since the last tick for our hashes; notice reorgs; confirm deep-enough txs."""
    latest = await _block(m, "latest")
    if latest is None:
        return
    top = int(latest.number, 16)
    if m.own_gas_state is None or m.own_gas_state.block_number != top:
        await _refresh_gas_state(m, top, latest)
    if m.processed_block is None:
        m.processed_block = top - 1
    # Does the node still agree with what we recorded at our last processed height?
    mark = min(m.processed_block, top)
    recorded = m.canonical.hash_at(mark)
    if recorded is not None:
        node_hash = latest.hash if mark == top else await _node_hash_at(m, mark)
        if node_hash != recorded:
            await _rewind(m, top)
    for number in range(m.processed_block + 1, min(top, m.processed_block + MAX_BLOCKS_PER_TICK) + 1):
        block = latest if number == top else await _block(m, number)
        if block is None:
            break
        parent = m.canonical.hash_at(number - 1)
        if parent is not None and parent != block.parentHash:
            await _rewind(m, top)  # the chain moved under us mid-scan; the next tick rescans
            return
        await _scan(m, number, block)
        m.canonical.record(number, block.hash)
        m.processed_block = number
    depth = max(1, m.policy.confirmations)
    for handle in list(m.mined.values()):
        receipt = handle.receipt
        assert receipt is not None
        if m.processed_block - receipt.block_number + 1 < depth:
            continue
        if m.canonical.is_canonical(receipt.block_number, receipt.block_hash) is False:
            m.unsettle(handle)
        else:
            m.confirm(handle)


async def _refresh_gas_state(m: TrackedManager, number: int, block: _Block) -> None:
    """A plain gas state from the head itself, for managers that run without a gas oracle."""
    base_fee = int(block.baseFeePerGas, 16)
    nxt = next_base_fee(base_fee, int(block.gasUsed, 16), int(block.gasLimit, 16))
    tip = await fetch_tip(m.rpc, m.own_gas_state.priority_fee if m.own_gas_state else GWEI)
    m.own_gas_state = plain_gas_state(number, base_fee, nxt, tip)


async def _rewind(m: TrackedManager, top: int) -> None:
    fork = await m.canonical.find_fork_point(lambda n: _node_hash_at(m, n))
    base = fork if fork is not None else top - 1
    m.reorgs += 1
    moved = [h for h in list(m.mined.values()) if h.receipt is not None and h.receipt.block_number > base]
    log.warning("reorg: fork point %s, head %d; %d mined tx(s) back to pending", fork, top, len(moved))
    for handle in moved:
        m.unsettle(handle)
    m.canonical.truncate_above(base)
    m.processed_block = base


async def _scan(m: TrackedManager, number: int, block: _Block) -> None:
    ours = [h for h in block.transactions if h in m.by_hash]
    if not ours:
        return
    receipts: dict[str, Receipt] = {}
    try:
        result = await m.rpc.request("eth_getBlockReceipts", [hex(number)])
        for wire in msgspec.convert(result or [], list[_WireReceipt]):
            receipts[wire.transactionHash] = _receipt(wire)
    except (RpcError, msgspec.ValidationError):
        for tx_hash in ours:
            found = await _fetch_receipt(m, tx_hash)
            if found is not None:
                receipts[tx_hash] = found
    for tx_hash in ours:
        handle = m.by_hash.get(tx_hash)
        receipt = receipts.get(tx_hash)
        if handle is not None and receipt is not None and handle.status not in (TxStatus.MINED, *_DONE):
            m.settle(handle, receipt)


_DONE = (TxStatus.CONFIRMED, TxStatus.REPLACED, TxStatus.REJECTED)


async def _fetch_receipt(m: TrackedManager, tx_hash: str) -> Receipt | None:
    result: Any = await m.rpc.request("eth_getTransactionReceipt", [tx_hash])
    if result is None or result.get("blockNumber") is None:
        return None
    return _receipt(msgspec.convert(result, _WireReceipt))


async def service_lane(m: TrackedManager, lane: Lane) -> None:
    """Resolve unknowns, escalate stuck txs, notice taken nonces, fill holes, retire a drained lane."""
    if not lane.live:
        if lane.state is LaneState.DRAINING:
            lane.nonces.state = LaneState.RETIRED
            if lane.writer is not None:
                lane.writer.cancel()
            log.info("key rotation: %s drained and retired", lane.signer)
        return
    address = lane.signer.address
    # As of the last scanned block: a tx mined after it is the next scan's job, not a lookup's.
    at = "latest" if m.processed_block is None else hex(m.processed_block)
    mined_count = int(await m.rpc.request("eth_getTransactionCount", [address, at]), 16)
    for nonce in sorted(lane.live):
        handle = lane.live.get(nonce)
        if handle is None or handle.status in (TxStatus.BUILT, TxStatus.SENT):
            continue  # the writer has it
        if nonce < mined_count:
            await _nonce_taken(m, handle)
        elif handle.status is TxStatus.UNKNOWN:
            await _resolve_unknown(m, lane, handle)
        else:
            await _escalate(m, lane, handle)
    await _fill_holes(m, lane)


async def _nonce_taken(m: TrackedManager, handle: TxHandle) -> None:
    for tx_hash in reversed(handle.hashes):
        receipt = await _fetch_receipt(m, tx_hash)
        if receipt is not None:
            m.settle(handle, receipt)
            return
    m.lose(handle, "another transaction took the nonce")
    log.warning("%r: nonce %d was taken by a transaction we did not send", handle, handle.nonce)


async def _resolve_unknown(m: TrackedManager, lane: Lane, handle: TxHandle) -> None:
    for tx_hash in reversed(handle.hashes):
        if await m.rpc.request("eth_getTransactionByHash", [tx_hash]) is not None:
            handle.move(TxStatus.PENDING)  # the node has it; a block will show it mined
            return
    m.rebroadcast(lane, handle)  # same bytes, same hash: cannot execute twice


async def _escalate(m: TrackedManager, lane: Lane, handle: TxHandle) -> None:
    now = m.clock()
    policy = m.policy
    last = handle.attempts[-1]
    if handle.recheck_pool:
        # Back from a reorged-out block: if the node forgot it, put the same bytes back right away.
        handle.recheck_pool = False
        if await m.rpc.request("eth_getTransactionByHash", [last.tx_hash]) is None:
            handle.move(TxStatus.DROPPED, "its block was reorged out and the node forgot it")
            m.rebroadcast(lane, handle)
        return
    stuck = now - last.sent_at >= policy.replace_after_s
    if now < handle.next_check_at or not (stuck or (handle.cancel_requested and not last.is_cancel)):
        return
    if await m.rpc.request("eth_getTransactionByHash", [last.tx_hash]) is None and (
        handle.status is TxStatus.PENDING
    ):
        handle.move(TxStatus.DROPPED, "no longer in the node's pool")
    state = m.gas_state_now() or await fetch_gas_state(m.rpc)
    if handle.cancel_requested or last.is_cancel:
        fees = cancel_fees(last.fees, policy)
        cancel = True
    else:
        fees = replacement_fees(last.fees, initial_fees(state, policy, handle.urgency), policy)
        cancel = False
        if fees is None and policy.at_cap == "cancel":
            fees = cancel_fees(last.fees, policy)
            cancel = True
            log.warning("%r: at the gas cap; cancelling it with a same-nonce self-send", handle)
    if fees is not None:
        m.replacements += 1
        m.resign(lane, handle, fees, cancel=cancel)
        return
    # At the cap and told to wait: keep the last attempt alive, look again after another interval.
    handle.next_check_at = now + policy.replace_after_s
    if handle.status is TxStatus.DROPPED:
        m.rebroadcast(lane, handle)


async def _fill_holes(m: TrackedManager, lane: Lane) -> None:
    for hole in lane.nonces.holes:
        if not any(n > hole for n in lane.live) or not lane.nonces.take_hole(hole):
            continue
        state = m.gas_state_now() or await fetch_gas_state(m.rpc)
        fees = initial_fees(state, m.policy, TxUrgency.NORMAL)
        request = TxRequest(
            sender=lane.signer.address,
            to=lane.signer.address,
            chain_id=m.chain_id,
            gas=SELF_SEND_GAS,
            max_fee_per_gas=fees.max_fee_per_gas,
            max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
            nonce=hole,
        )
        log.warning("filling nonce hole %d of %s with a self-send", hole, lane.signer)
        m.send_filled(lane, request, "gap-fill")
