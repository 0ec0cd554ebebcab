"""Pending-transaction decoding (pure): WS push and txpool_content shapes, fee fields, malformed input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from keeper.chain._heads_codec import MalformedMessageError
from keeper.chain._pending_codec import (
    PendingTx,
    decode_block_tx_hashes,
    decode_pending_push,
    decode_pending_tx,
    decode_txpool_content,
)

# Shapes as anvil 1.7.1 sends them (eth_subscribe ["newPendingTransactions", true]).
TX_1559: dict[str, Any] = {
    "type": "0x2",
    "chainId": "0x7a69",
    "nonce": "0xa",
    "gas": "0x186a0",
    "maxFeePerGas": "0x4d79d2a6",
    "maxPriorityFeePerGas": "0x3b9aca00",
    "to": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
    "value": "0x0",
    "accessList": [],
    "input": "0x1234",
    "r": "0xfa0089457318e19e68aaa4d88ebcb1ba8a484d032824bd703250cfa2c1ed9c85",
    "s": "0x6289b17ce731c6d2425b788548c9b51270a33c3b1e930c24972573275dab98e8",
    "yParity": "0x0",
    "v": "0x0",
    "hash": "0xeb163b009abfdc8d12d390953a05fb8cfd8d775b6b586ad551d3b7dd2d4657ef",
    "blockHash": None,
    "blockNumber": None,
    "transactionIndex": None,
    "from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "gasPrice": "0x4d79d2a6",
}
TX_LEGACY: dict[str, Any] = {
    "type": "0x0",
    "chainId": "0x7a69",
    "nonce": "0x0",
    "gasPrice": "0x12a05f200",
    "gas": "0x186a0",
    "to": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
    "value": "0x1",
    "input": "0x",
    "v": "0xf4f6",
    "hash": "0x41d3070e9aa7c3111bdea6278e6f0c154bb1c8e93c0aacf14d3a2b777174f6a5",
    "blockHash": None,
    "blockNumber": None,
    "transactionIndex": None,
    "from": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
}


def push(tx: object, sub: str = "0x4d34") -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": sub, "result": tx}}
    )


def test_decode_1559_push() -> None:
    sub, tx = decode_pending_push(push(TX_1559))
    assert sub == "0x4d34"
    assert tx == PendingTx(
        hash=TX_1559["hash"],
        sender="0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
        to="0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
        nonce=10,
        input=b"\x12\x34",
        value=0,
        gas=100_000,
        tx_type=2,
        max_fee_per_gas=0x4D79D2A6,
        max_priority_fee_per_gas=10**9,
        gas_price=None,  # the node's effective gasPrice is not a field of a type-2 tx
    )
    assert tx.selector == b"\x12\x34"
    assert tx.fee_cap == 0x4D79D2A6


def test_decode_legacy_push() -> None:
    _, tx = decode_pending_push(push(TX_LEGACY).encode())
    assert (tx.tx_type, tx.gas_price, tx.max_fee_per_gas, tx.max_priority_fee_per_gas) == (
        0,
        5 * 10**9,
        None,
        None,
    )
    assert (tx.value, tx.input, tx.nonce) == (1, b"", 0)
    assert tx.fee_cap == 5 * 10**9


def test_effective_tip() -> None:
    _, eip1559 = decode_pending_push(push(TX_1559))
    cap, tip = 0x4D79D2A6, 10**9
    assert eip1559.effective_tip(0) == tip
    assert eip1559.effective_tip(cap - tip // 2) == tip // 2  # capped by max fee - base fee
    assert eip1559.effective_tip(cap + 1) == -1  # not includable at that base fee
    _, legacy = decode_pending_push(push(TX_LEGACY))
    assert legacy.effective_tip(10**9) == 4 * 10**9


def test_addresses_and_hash_are_lower_cased_and_creation_has_no_to() -> None:
    body = {
        **TX_1559,
        "to": None,
        "from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "hash": TX_1559["hash"].upper().replace("0X", "0x"),
    }
    tx = decode_pending_tx(json.dumps(body))
    assert tx.to is None
    assert tx.sender == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
    assert tx.hash == TX_1559["hash"]


def test_missing_type_is_legacy() -> None:
    body = {k: v for k, v in TX_LEGACY.items() if k != "type"}
    assert decode_pending_tx(json.dumps(body)).tx_type == 0


@pytest.mark.parametrize(
    "message",
    [
        b"not json",
        b'{"method": "eth_subscription", "params": {"subscription": "0x1"}}',
        push(TX_1559["hash"]),  # a hash-only push: the watcher subscribes for full bodies
        push({k: v for k, v in TX_1559.items() if k != "from"}),
        push({**TX_1559, "nonce": "0xzz"}),
        push({**TX_1559, "nonce": 10}),
        push({**TX_1559, "input": "1234"}),
        push({**TX_1559, "input": "0x123"}),
        push({**TX_1559, "hash": "0x1234"}),
        push({**TX_1559, "to": "0x12"}),
        push({k: v for k, v in TX_1559.items() if k != "maxPriorityFeePerGas"}),
        push({k: v for k, v in TX_LEGACY.items() if k != "gasPrice"}),
    ],
)
def test_malformed_pushes_raise_malformed_message(message: bytes | str) -> None:
    with pytest.raises(MalformedMessageError):
        decode_pending_push(message)


def test_txpool_content_pending_and_queued_with_a_malformed_entry_skipped() -> None:
    queued = {**TX_LEGACY, "nonce": "0x5", "hash": "0x" + "77" * 32}
    result = {
        "pending": {
            TX_1559["from"]: {"10": TX_1559, "11": {**TX_1559, "nonce": "0xzz"}},
            TX_LEGACY["from"]: {"0": TX_LEGACY},
        },
        "queued": {TX_LEGACY["from"]: {"5": queued}},
    }
    content = decode_txpool_content(json.loads(json.dumps(result)))
    assert [tx.hash for tx in content.pending] == [TX_1559["hash"], TX_LEGACY["hash"]]
    assert [tx.nonce for tx in content.queued] == [5]
    assert content.malformed == 1


def test_txpool_content_empty_and_malformed() -> None:
    empty = decode_txpool_content({"pending": {}, "queued": {}})
    assert (empty.pending, empty.queued, empty.malformed) == ((), (), 0)
    for bad in (None, [], {"pending": []}, {"pending": {"0xab": []}}):
        with pytest.raises(MalformedMessageError):
            decode_txpool_content(bad)


def test_block_tx_hashes() -> None:
    block = {"number": "0x10", "hash": "0x" + "aa" * 32, "transactions": ["0x" + "AB" * 32]}
    assert decode_block_tx_hashes(block) == (16, ["0x" + "ab" * 32])
    assert decode_block_tx_hashes(None) is None
    with pytest.raises(MalformedMessageError):
        decode_block_tx_hashes({"number": "0x10", "transactions": [{"hash": "0x"}]})
