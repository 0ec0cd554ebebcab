"""Sans-I/O decoding of pending transactions and the typed events the mempool watcher publishes.

Sources: `eth_subscribe ["newPendingTransactions", true]` pushes (full transaction bodies; anvil, geth
and reth send the `eth_getTransactionByHash` shape with null block fields) and `txpool_content`
results (`{"pending"|"queued": {sender: {nonce: tx}}}`). Hashes and addresses are lower-cased 0x-hex;
quantities are ints. Anything without the expected shape raises `MalformedMessageError`.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from keeper.chain._heads_codec import MalformedMessageError, quantity

_HASH_LEN = 66  # "0x" + 32 bytes
_ADDRESS_LEN = 42


class PendingTx(msgspec.Struct, frozen=True, gc=False):
    """A transaction waiting in the mempool.

    Fees: types 2, 3 and 4 (EIP-1559 and later) carry `max_fee_per_gas` / `max_priority_fee_per_gas`
    and `gas_price` is None (nodes report an effective gasPrice there that is not part of the
    transaction); types 0 and 1 carry `gas_price` only.
    """

    hash: str
    sender: str
    to: str | None  # None: contract creation
    nonce: int
    input: bytes
    value: int
    gas: int
    tx_type: int
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    gas_price: int | None

    @property
    def fee_cap(self) -> int:
        """The most the sender pays per gas, base fee included."""
        cap = self.max_fee_per_gas if self.max_fee_per_gas is not None else self.gas_price
        return cap or 0

    @property
    def selector(self) -> bytes:
        """The first four bytes of the input (empty for a plain transfer)."""
        return self.input[:4]

    def effective_tip(self, base_fee: int) -> int:
        """Priority fee per gas a block with `base_fee` would pay; negative: not includable at that fee."""
        if self.max_fee_per_gas is not None and self.max_priority_fee_per_gas is not None:
            return min(self.max_priority_fee_per_gas, self.max_fee_per_gas - base_fee)
        return (self.gas_price or 0) - base_fee


class PendingEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Base of everything the mempool watcher publishes: the transaction and whether it is ours."""

    tx: PendingTx
    own: bool = False

    @property
    def tx_hash(self) -> str:
        return self.tx.hash

    @property
    def sender(self) -> str:
        return self.tx.sender

    @property
    def nonce(self) -> int:
        return self.tx.nonce


class PendingTxEvent(PendingEvent, frozen=True, kw_only=True):
    """An own transaction no registered decoder turned into something more specific."""


class PendingTxGone(PendingEvent, frozen=True, kw_only=True):
    """A transaction an event was published for left the mempool (mined, dropped, or replaced)."""

    reason: Literal["mined", "dropped", "replaced"]


class TxpoolContent(msgspec.Struct, frozen=True):
    """A decoded `txpool_content` result; `malformed` counts entries skipped for their shape."""

    pending: tuple[PendingTx, ...]
    queued: tuple[PendingTx, ...]
    malformed: int


class _WireTx(msgspec.Struct):
    hash: str
    sender: str = msgspec.field(name="from")
    nonce: str
    gas: str
    input: str
    to: str | None = None
    value: str = "0x0"
    type: str = "0x0"
    gasPrice: str | None = None  # noqa: N815 - JSON-RPC field names
    maxFeePerGas: str | None = None  # noqa: N815
    maxPriorityFeePerGas: str | None = None  # noqa: N815


class _PushParams(msgspec.Struct):
    subscription: str
    result: _WireTx


class _Push(msgspec.Struct):
    params: _PushParams


class _WireTxpool(msgspec.Struct):
    pending: dict[str, dict[str, Any]] = {}
    queued: dict[str, dict[str, Any]] = {}


class _WireBlockTxs(msgspec.Struct):
    number: str
    transactions: list[str]


_push_decoder = msgspec.json.Decoder(_Push)
_tx_decoder = msgspec.json.Decoder(_WireTx)


def decode_pending_push(message: bytes | str) -> tuple[str, PendingTx]:
    """Decode a full-body `newPendingTransactions` push into (subscription id, transaction)."""
    try:
        push = _push_decoder.decode(message)
        return push.params.subscription, _to_tx(push.params.result)
    except (msgspec.DecodeError, ValueError) as exc:
        raise MalformedMessageError(str(exc)) from exc


def decode_pending_tx(raw: bytes | str) -> PendingTx:
    """Decode one JSON transaction object (`eth_getTransactionByHash` shape)."""
    try:
        return _to_tx(_tx_decoder.decode(raw))
    except (msgspec.DecodeError, ValueError) as exc:
        raise MalformedMessageError(str(exc)) from exc


def decode_txpool_content(result: object) -> TxpoolContent:
    """Decode the parsed `result` of `txpool_content`; malformed entries are counted and skipped.

    Raises MalformedMessageError only when the result as a whole lacks the pending/queued maps.
    """
    try:
        pool = msgspec.convert(result, _WireTxpool)
    except (msgspec.ValidationError, ValueError) as exc:  # ValueError: e.g. a lone surrogate in a str
        raise MalformedMessageError(str(exc)) from exc
    malformed = 0

    def section(by_sender: dict[str, dict[str, Any]]) -> tuple[PendingTx, ...]:
        nonlocal malformed
        txs: list[PendingTx] = []
        for by_nonce in by_sender.values():
            for body in by_nonce.values():
                try:
                    txs.append(_to_tx(msgspec.convert(body, _WireTx)))
                except (msgspec.ValidationError, ValueError):
                    malformed += 1
        return tuple(txs)

    pending = section(pool.pending)
    queued = section(pool.queued)
    return TxpoolContent(pending=pending, queued=queued, malformed=malformed)


def decode_block_tx_hashes(result: object) -> tuple[int, list[str]] | None:
    """(number, lower-cased tx hashes) from `eth_getBlockByNumber(n, false)`; None when no such block."""
    if result is None:
        return None
    try:
        block = msgspec.convert(result, _WireBlockTxs)
        return quantity(block.number), [h.lower() for h in block.transactions]
    except (msgspec.ValidationError, ValueError) as exc:
        raise MalformedMessageError(str(exc)) from exc


def _to_tx(w: _WireTx) -> PendingTx:
    if len(w.hash) != _HASH_LEN or len(w.sender) != _ADDRESS_LEN:
        raise ValueError(f"bad hash or sender length: {w.hash!r} {w.sender!r}")
    if w.to is not None and len(w.to) != _ADDRESS_LEN:
        raise ValueError(f"bad to address: {w.to!r}")
    if w.input[:2] != "0x":
        raise ValueError(f"input is not 0x-hex: {w.input[:16]!r}")
    tx_type = quantity(w.type)
    if w.maxFeePerGas is not None or tx_type >= 2:
        if w.maxFeePerGas is None or w.maxPriorityFeePerGas is None:
            raise ValueError(f"type {tx_type} transaction without EIP-1559 fee fields")
        max_fee: int | None = quantity(w.maxFeePerGas)
        max_tip: int | None = quantity(w.maxPriorityFeePerGas)
        gas_price = None
    else:
        if w.gasPrice is None:
            raise ValueError(f"type {tx_type} transaction without gasPrice")
        max_fee = max_tip = None
        gas_price = quantity(w.gasPrice)
    return PendingTx(
        hash=w.hash.lower(),
        sender=w.sender.lower(),
        to=None if w.to is None else w.to.lower(),
        nonce=quantity(w.nonce),
        input=bytes.fromhex(w.input[2:]),
        value=quantity(w.value),
        gas=quantity(w.gas),
        tx_type=tx_type,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=max_tip,
        gas_price=gas_price,
    )
