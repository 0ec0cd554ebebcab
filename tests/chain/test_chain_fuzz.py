"""Fuzzed node messages through the decoders the chain watchers use (hypothesis, 12,000+ examples).

Shapes start from valid `eth_subscription` pushes (newHeads, newPendingTransactions) and replies
(`eth_getBlockByNumber`, `eth_feeHistory`, `txpool_content`, JSON-RPC envelopes) and mutate them:
fields dropped, replaced by random JSON, extra keys, whole messages replaced, raw bytes and text. No
exception may escape but the decoders' documented `MalformedMessageError`, and the watchers' own
entry points count and skip even those.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeper.chain import (
    HeadWatcher,
    MalformedMessageError,
    MempoolWatcher,
    RpcClient,
    RpcError,
    RpcTransportError,
    decode_block_result,
    decode_fee_history,
    decode_head_push,
)
from keeper.chain._mempool import _head_number
from keeper.chain._pending_codec import (
    decode_block_tx_hashes,
    decode_pending_push,
    decode_pending_tx,
    decode_txpool_content,
)

BATCH = 4  # messages per example: one draw of entropy feeds several (hypothesis overhead dominates)
EXAMPLES = 350  # x 4 messages x 9 tests: 12,600 messages
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

HEADER = {
    "number": "0x1b4",
    "hash": "0x" + "ab" * 32,
    "parentHash": "0x" + "cd" * 32,
    "timestamp": "0x6553f100",
    "gasUsed": "0x5208",
    "gasLimit": "0x1c9c380",
    "baseFeePerGas": "0x3b9aca00",
    "transactions": ["0x" + "ee" * 32],
}
TX = {
    "type": "0x2",
    "hash": "0x" + "01" * 32,
    "from": "0x" + "70" * 20,
    "to": "0x" + "5f" * 20,
    "nonce": "0x7",
    "gas": "0x30d40",
    "input": "0xa9059cbb",
    "value": "0x0",
    "maxFeePerGas": "0xb2d05e00",
    "maxPriorityFeePerGas": "0x3b9aca00",
    "gasPrice": "0x1",
}
FEE_HISTORY = {
    "oldestBlock": "0xa",
    "baseFeePerGas": ["0x3b9aca00", "0x3b9aca01", "0x3b9aca02"],
    "gasUsedRatio": [0.5, 0.25],
    "reward": [["0x1"], ["0x2"]],
}


def push(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "eth_subscription",
        "params": {"subscription": "0x9", "result": result},
    }


# Hostile values, drawn in one step each (a sampled pool is far cheaper to generate than composed
# strategies, which keeps 13,000 examples within seconds): wrong types, bad quantities (negative,
# non-hex, underscores, spaces, huge), wrong hash/address lengths, odd unicode, nested shapes.
NASTY: list[Any] = [
    None, True, False, 0, -1, 1, 2**64, 2**300, -(2**70), 1.5, -0.0, float("nan"), float("inf"),
    "", "0x", "0X1", "0x0", "0x-1", "-0x5", "+0x5", "0x_1", " 0x1", "0x1 ", "0xzz", "1b4", "0x" + "f" * 80,
    "0x" + "ab" * 32, "0x" + "AB" * 20, "0x" + "ab" * 31, "0x" + "ab" * 21, "0xg" + "a" * 63, "\x00", "é",
    "\ud800", "null", "[]", [], {}, [1], [None], ["0x1"], [["0x1"]], {"a": 1}, {"number": "0x1"}, [[], {}],
    {"result": None}, {"0x1": {"0x2": None}}, "0x9", "eth_subscription",
]  # fmt: skip
nasty = st.sampled_from(NASTY)
EXTRA_KEYS = ["extra", "id", "error", "result", "method", "params", "subscription"]


class Entropy:
    """Hypothesis-drawn bytes read as a stream of choices (cheap: one draw per message, and it shrinks)."""

    def __init__(self, data: bytes) -> None:
        self._data = data or b"\0"
        self._i = 0

    def byte(self) -> int:
        b = self._data[self._i % len(self._data)]
        self._i += 1
        return b

    def pick(self, values: list[Any]) -> Any:
        return values[(self.byte() * 256 + self.byte()) % len(values)]


def mutate(template: Any, e: Entropy) -> Any:
    """`template` with fields kept, dropped, replaced by a hostile value, or mutated recursively."""
    c = e.byte()
    if c < 8:
        return e.pick(NASTY)  # the whole value replaced
    if isinstance(template, list):
        items = [mutate(item, e) for item in template if e.byte() >= 24]
        return [*items, e.pick(NASTY)] if c < 32 else items
    if not isinstance(template, dict):
        return e.pick(NASTY) if c < 48 else template
    out: dict[str, Any] = {}
    for key, value in template.items():
        what = e.byte()
        if what < 24:
            continue  # dropped
        out[key] = e.pick(NASTY) if what < 56 else mutate(value, e)
    if c < 64:
        out[e.pick(EXTRA_KEYS)] = e.pick(NASTY)
    return out


def mutated(template: Any) -> st.SearchStrategy[list[Any]]:
    """BATCH mutations of `template`."""
    return st.binary(min_size=64 * BATCH, max_size=64 * BATCH).map(
        lambda data: [mutate(template, Entropy(data[i * 64 : (i + 1) * 64])) for i in range(BATCH)]
    )


def wire(template: Any) -> st.SearchStrategy[list[bytes | str]]:
    """BATCH messages as a socket delivers them: JSON text or bytes of a mutated `template`, or junk."""

    def render(data: bytes) -> bytes | str:
        kind = data[0] % 8 if data else 0
        if kind == 0:
            return data[1:]  # raw bytes
        text = json.dumps(mutate(template, Entropy(data[1:])), allow_nan=True)
        return text.encode("utf-8", "surrogatepass") if kind == 1 else text

    return st.binary(min_size=65 * BATCH, max_size=65 * BATCH).map(
        lambda data: [render(data[i * 65 : (i + 1) * 65]) for i in range(BATCH)]
    )


def only_malformed(decode: Callable[[Any], object], message: object) -> bool:
    """Run a decoder; True when it refused the message the documented way."""
    try:
        decode(message)
    except MalformedMessageError:
        return True
    return False


@FUZZ
@given(wire(push(HEADER)))
def test_head_pushes(messages: list[bytes | str]) -> None:
    watcher = HeadWatcher(rpc=None, ws_url=None)  # type: ignore[arg-type]  # on_push needs no I/O
    refused = 0
    for message in messages:
        refused += only_malformed(decode_head_push, message)
        watcher.on_push(message)  # never raises
    assert watcher.malformed == refused


@FUZZ
@given(wire(push(TX)))
def test_pending_tx_pushes(messages: list[bytes | str]) -> None:
    watcher = MempoolWatcher()
    watcher.track_own(["0x" + "70" * 20])
    refused = 0
    for message in messages:
        refused += only_malformed(decode_pending_push, message)
        only_malformed(decode_pending_tx, message)
        watcher.on_message(message)  # never raises
    assert watcher.malformed == refused


@FUZZ
@given(mutated(HEADER))
def test_block_replies(results: list[Any]) -> None:
    for result in results:
        only_malformed(decode_block_result, result)
        only_malformed(decode_block_tx_hashes, result)


@FUZZ
@given(mutated(FEE_HISTORY))
def test_fee_history_replies(results: list[Any]) -> None:
    for result in results:
        only_malformed(decode_fee_history, result)


@FUZZ
@given(mutated({"pending": {TX["from"]: {"7": TX}}, "queued": {TX["from"]: {"9": TX}}}))
def test_txpool_replies(results: list[Any]) -> None:
    watcher = MempoolWatcher()
    for result in results:
        only_malformed(decode_txpool_content, result)
        watcher.on_txpool(result)  # never raises: malformed entries are counted


@FUZZ
@given(
    mutated({"jsonrpc": "2.0", "id": 1, "result": HEADER})
    | mutated({"id": 1, "error": {"code": -32000, "message": "x", "data": "0x"}})
)
def test_json_rpc_envelopes(replies: list[Any]) -> None:
    # What RpcClient makes of a reply: a result, a node refusal, or no usable reply; nothing else.
    for reply in replies:
        with contextlib.suppress(RpcError, RpcTransportError):
            RpcClient._result("eth_getBlockByNumber", reply)


junk = (
    st.binary(max_size=120)
    | st.binary(max_size=60).map(lambda b: b.decode("latin-1"))
    | nasty.map(json.dumps)
)


@FUZZ
@given(st.lists(junk, min_size=BATCH, max_size=BATCH))
def test_raw_junk_everywhere(messages: list[bytes | str]) -> None:
    for message in messages:
        for decode in (decode_head_push, decode_pending_push, decode_pending_tx):
            only_malformed(decode, message)


results = (
    nasty | st.lists(nasty, max_size=3) | st.dictionaries(st.sampled_from(list(HEADER)), nasty, max_size=4)
)


@FUZZ
@given(st.lists(results, min_size=BATCH, max_size=BATCH))
def test_random_results(values: list[Any]) -> None:
    for value in values:
        for decode in (
            decode_block_result,
            decode_block_tx_hashes,
            decode_fee_history,
            decode_txpool_content,
        ):
            only_malformed(decode, value)


@FUZZ
@given(wire(push({"number": "0x5", "hash": "0x" + "ab" * 32, "parentHash": "0x" + "cd" * 32})))
def test_heads_on_the_mempool_socket(messages: list[bytes | str]) -> None:
    # The mempool tells head pushes from pending-tx pushes by subscription id: neither path raises.
    watcher = MempoolWatcher()
    for message in messages:
        _head_number(message, "0x9")
        watcher.on_message(message)
