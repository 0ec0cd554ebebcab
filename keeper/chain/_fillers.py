"""Fillers: each owns one field of a transaction request (after alloy's `TxFiller`).

A filler leaves a field the caller already set alone, says which fields it needs first, does its RPC
work in `prepare` and its mutation in `fill` (so filling is testable without a node). Order matters
only through those declared needs: nonce comes last among the fillers, after gas estimation, so a
transaction that cannot even be estimated never consumes a nonce (pymaker's rule).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from keeper.chain._nonce import NonceLane
from keeper.chain._rpc import JsonRpc, RpcError
from keeper.core.fees import GWEI, FeePolicy, Fees, TxUrgency, initial_fees, with_gas_buffer
from keeper.core.gas import GasState, plain_gas_state


class TxRequest(msgspec.Struct, kw_only=True):
    """An unsigned EIP-1559 transaction being filled. None means "a filler will set it"."""

    sender: str
    to: str | None
    data: bytes = b""
    value: int = 0
    urgency: TxUrgency = TxUrgency.NORMAL
    chain_id: int | None = None
    gas: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    nonce: int | None = None

    def fees(self) -> Fees:
        assert self.max_fee_per_gas is not None
        assert self.max_priority_fee_per_gas is not None
        return Fees(self.max_fee_per_gas, self.max_priority_fee_per_gas)

    def to_eth_account(self) -> dict[str, Any]:
        """The dict eth-account signs; every field must be filled."""
        missing = [f for f in ("chain_id", "gas", "max_fee_per_gas", "max_priority_fee_per_gas", "nonce")
                   if getattr(self, f) is None]  # fmt: skip
        if missing:
            raise MissingFieldsError(missing)
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": self.nonce,
            "gas": self.gas,
            "maxFeePerGas": self.max_fee_per_gas,
            "maxPriorityFeePerGas": self.max_priority_fee_per_gas,
            "value": self.value,
            "data": self.data,
        }
        if self.to is not None:
            tx["to"] = self.to
        return tx


class MissingFieldsError(ValueError):
    """A filler needs fields that nothing filled; names them."""

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__("transaction is missing " + ", ".join(fields))
        self.fields = tuple(fields)


class GasEstimateError(RuntimeError):
    """`eth_estimateGas` refused the call (it would revert): nothing is sent, no nonce is used."""

    def __init__(self, message: str, data: object = None) -> None:
        super().__init__(message)
        self.data = data


class Filler(Protocol):
    """Owns `field` of a TxRequest."""

    field: str
    needs: tuple[str, ...]

    async def prepare(self, rpc: JsonRpc, tx: TxRequest) -> Any: ...

    def fill(self, tx: TxRequest, value: Any) -> None: ...


class ChainIdFiller:
    field = "chain_id"
    needs: tuple[str, ...] = ()

    def __init__(self, chain_id: int) -> None:
        self._chain_id = chain_id

    async def prepare(self, rpc: JsonRpc, tx: TxRequest) -> int:
        return self._chain_id

    def fill(self, tx: TxRequest, value: int) -> None:
        tx.chain_id = value


class GasLimitFiller:
    """Gas limit = `eth_estimateGas` × (1 + buffer). A revert in estimation stops the send."""

    field = "gas"
    needs: tuple[str, ...] = ()

    def __init__(self, policy: Callable[[], FeePolicy]) -> None:
        self._policy = policy

    async def prepare(self, rpc: JsonRpc, tx: TxRequest) -> int:
        call: dict[str, str] = {"from": tx.sender, "data": "0x" + tx.data.hex(), "value": hex(tx.value)}
        if tx.to is not None:
            call["to"] = tx.to
        try:
            estimate = int(await rpc.request("eth_estimateGas", [call, "pending"]), 16)
        except RpcError as exc:
            raise GasEstimateError(f"gas estimate failed: {exc.message}", exc.data) from None
        return with_gas_buffer(estimate, self._policy().gas_limit_buffer_bps)

    def fill(self, tx: TxRequest, value: int) -> None:
        tx.gas = value


class FeeFiller:
    """EIP-1559 fees from the gas oracle's latest state under the current policy (no RPC when warm).

    Before the first state exists, concurrent fills share one fetch instead of one each.
    """

    field = "max_fee_per_gas"
    needs: tuple[str, ...] = ()

    def __init__(self, gas_state: Callable[[], GasState | None], policy: Callable[[], FeePolicy]) -> None:
        self._gas_state = gas_state
        self._policy = policy
        self._fetch: asyncio.Task[GasState] | None = None

    async def prepare(self, rpc: JsonRpc, tx: TxRequest) -> Fees:
        state = self._gas_state()
        if state is None:
            if self._fetch is None or (self._fetch.done() and self._fetch.exception() is not None):
                self._fetch = asyncio.ensure_future(fetch_gas_state(rpc))
            state = await asyncio.shield(self._fetch)
        return initial_fees(state, self._policy(), tx.urgency)

    def fill(self, tx: TxRequest, value: Fees) -> None:
        tx.max_fee_per_gas = value.max_fee_per_gas
        if tx.max_priority_fee_per_gas is None:
            tx.max_priority_fee_per_gas = value.max_priority_fee_per_gas


class NonceFiller:
    """The lane's next nonce; local, so concurrent sends get consecutive nonces without RPC.

    The first sync of a lane is shared by every fill waiting on it (one RPC, not one per send).
    """

    field = "nonce"
    needs: tuple[str, ...] = ("chain_id", "gas", "max_fee_per_gas")

    def __init__(self, lane: Callable[[str], NonceLane]) -> None:
        self._lane = lane
        self._syncing: dict[str, asyncio.Task[int]] = {}

    async def prepare(self, rpc: JsonRpc, tx: TxRequest) -> NonceLane:
        lane = self._lane(tx.sender)
        if not lane.synced:
            task = self._syncing.get(tx.sender)
            if task is None or (task.done() and task.exception() is not None):
                task = asyncio.ensure_future(_pending_count(rpc, tx.sender))
                self._syncing[tx.sender] = task
            count = await asyncio.shield(task)
            if not lane.synced:
                lane.sync(count)
        return lane

    def fill(self, tx: TxRequest, value: NonceLane) -> None:
        tx.nonce = value.allocate()  # synchronous: no await between read and increment


async def _pending_count(rpc: JsonRpc, address: str) -> int:
    return int(await rpc.request("eth_getTransactionCount", [address, "pending"]), 16)


async def fill_transaction(fillers: Sequence[Filler], rpc: JsonRpc, tx: TxRequest) -> TxRequest:
    """Run each filler whose field is unset, in order; fails naming missing fields."""
    for filler in fillers:
        if getattr(tx, filler.field) is not None:
            continue
        missing = [name for name in filler.needs if getattr(tx, name) is None]
        if missing:
            raise MissingFieldsError(missing)
        filler.fill(tx, await filler.prepare(rpc, tx))
    return tx


async def fetch_tip(rpc: JsonRpc, fallback: int = GWEI) -> int:
    """The node's suggested priority fee, or `fallback` if it has no such method."""
    try:
        return int(await rpc.request("eth_maxPriorityFeePerGas", []), 16)
    except RpcError:
        return fallback


async def fetch_gas_state(rpc: JsonRpc) -> GasState:
    """A one-off gas state from the pending block, for senders that run before the oracle's first head.

    The pending block's base fee is what the next block charges (and honours anvil's
    `anvil_setNextBlockBaseFeePerGas`, which the EIP-1559 rule applied to the latest block would miss).
    """
    block = await rpc.request("eth_getBlockByNumber", ["pending", False])
    base_fee = int(block.get("baseFeePerGas", "0x0"), 16) if isinstance(block, dict) else 0
    number = int(block["number"], 16) if isinstance(block, dict) and block.get("number") else 0
    return plain_gas_state(number, base_fee, base_fee, await fetch_tip(rpc))
