"""Sans-I/O decoding of block headers from `eth_subscribe newHeads` pushes and `eth_getBlockByNumber`."""

from __future__ import annotations

import msgspec


class BlockHeader(msgspec.Struct, frozen=True):
    """The fields of a block header the keeper uses; quantities are ints, hashes 0x-hex.

    `timestamp` is the block's own time (unix seconds): against the local receive time it gives the
    chain's clock offset (`HeadWatcher.clock_offset_s`).
    """

    number: int
    hash: str
    parent_hash: str
    timestamp: int
    base_fee_per_gas: int | None
    gas_used: int
    gas_limit: int


class _WireHeader(msgspec.Struct):
    number: str
    hash: str
    parentHash: str  # noqa: N815 - JSON-RPC field name
    timestamp: str
    gasUsed: str  # noqa: N815
    gasLimit: str  # noqa: N815
    baseFeePerGas: str | None = None  # noqa: N815


class _SubscriptionParams(msgspec.Struct):
    subscription: str
    result: _WireHeader


class _SubscriptionPush(msgspec.Struct):
    method: str
    params: _SubscriptionParams


_push_decoder = msgspec.json.Decoder(_SubscriptionPush)


class MalformedMessageError(ValueError):
    """A node message that does not have the expected shape; callers count and skip it."""


def quantity(value: str) -> int:
    """A JSON-RPC quantity ("0x"-prefixed hex) as a non-negative int; ValueError otherwise."""
    if value[:2] not in ("0x", "0X"):
        raise ValueError(f"not a 0x quantity: {value[:20]!r}")
    return int(value, 16)


def decode_head_push(message: bytes | str) -> tuple[str, BlockHeader]:
    """Decode an `eth_subscription` push into (subscription id, header)."""
    try:
        push = _push_decoder.decode(message)
        return push.params.subscription, _to_header(push.params.result)
    except (msgspec.DecodeError, ValueError) as exc:
        raise MalformedMessageError(str(exc)) from exc


def decode_block_result(result: object) -> BlockHeader | None:
    """Decode the parsed `result` of `eth_getBlockByNumber`; None when the node has no such block."""
    if result is None:
        return None
    try:
        return _to_header(msgspec.convert(result, _WireHeader))
    except (msgspec.ValidationError, ValueError) as exc:
        raise MalformedMessageError(str(exc)) from exc


def _to_header(w: _WireHeader) -> BlockHeader:
    return BlockHeader(
        number=quantity(w.number),
        hash=w.hash,
        parent_hash=w.parentHash,
        timestamp=quantity(w.timestamp),
        base_fee_per_gas=None if w.baseFeePerGas is None else quantity(w.baseFeePerGas),
        gas_used=quantity(w.gasUsed),
        gas_limit=quantity(w.gasLimit),
    )
