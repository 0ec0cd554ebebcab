"""Mempool watcher: dedup and eviction (pure), DEX calldata decoding (pure), and against a no-mining anvil.

The anvil here mines only on `evm_mine`, so a transaction stays pending until the test mines it: the
watcher must publish the decoded event (e.g. the oracle's next price) while it is still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
import websockets
from web3 import Web3

from keeper.adapters.dex import (
    DexPendingDecoder,
    PendingBatch,
    PendingContractCall,
    PendingFundingSettle,
    PendingLiquidation,
    PendingOracleUpdate,
    PendingOracleUpdates,
    PendingOrderCancel,
    PendingOrderPlace,
    PendingOrderReplace,
    PendingTakerOrder,
    exchange_abi,
    load_abi,
    price_to_units,
)
from keeper.app._deploy import Deployment, deploy
from keeper.bench.mempool import run_bench
from keeper.chain import RpcClient, anvil_account
from keeper.chain._mempool import MempoolWatcher
from keeper.chain._pending_codec import PendingEvent, PendingTx, PendingTxEvent, PendingTxGone
from keeper.devchain import AnvilNode, AnvilOptions

E = TypeVar("E", bound=PendingEvent)
EXCHANGE = "0x5fc8d32690cc91d4c39d9d3abcbd16989f875707"
ORACLE = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
ALICE = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
BOB = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
W3 = Web3()
ORACLE_ABI = W3.eth.contract(abi=load_abi("PushOracle"))
EXCHANGE_ABI = W3.eth.contract(abi=exchange_abi())


def tx_body(
    n: int, sender: str = ALICE, to: str | None = EXCHANGE, data: str = "0x", nonce: int | None = None
) -> dict[str, Any]:
    return {
        "type": "0x2",
        "hash": f"0x{n:064x}",
        "from": sender,
        "to": to,
        "nonce": hex(n if nonce is None else nonce),
        "gas": "0x30d40",
        "input": data,
        "value": "0x0",
        "maxFeePerGas": hex(3 * 10**9),
        "maxPriorityFeePerGas": hex(10**9),
    }


def frame(body: dict[str, Any]) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "method": "eth_subscription", "params": {"subscription": "0x1", "result": body}}
    )


def pending_tx(data: str, to: str = EXCHANGE) -> PendingTx:
    return PendingTx(
        hash="0x" + "ab" * 32,
        sender=ALICE,
        to=to,
        nonce=3,
        input=bytes.fromhex(data[2:]),
        value=0,
        gas=500_000,
        tx_type=2,
        max_fee_per_gas=3 * 10**9,
        max_priority_fee_per_gas=10**9,
        gas_price=None,
    )


class Recorder:
    def __init__(self, watcher: MempoolWatcher) -> None:
        self.events: list[PendingEvent] = []
        watcher.subscribe(self.events.append)


def own_watcher(**kwargs: Any) -> tuple[MempoolWatcher, Recorder]:
    watcher = MempoolWatcher(**kwargs)
    watcher.track_own([ALICE])  # undecoded own txs are published, so each new tx is an event
    return watcher, Recorder(watcher)


# --- pure: dedup, eviction, robustness -------------------------------------------------------------
def test_same_tx_twice_is_one_event() -> None:
    watcher, rec = own_watcher()
    assert isinstance(watcher.on_message(frame(tx_body(1))), PendingTxEvent)
    assert watcher.on_message(frame(tx_body(1))) is None
    assert watcher.on_txpool({"pending": {ALICE: {"1": tx_body(1)}}, "queued": {}}) == []
    assert len(rec.events) == 1
    assert (watcher.seen, watcher.decoded, watcher.duplicates) == (3, 1, 2)


def test_capacity_evicts_least_recently_seen_and_does_not_republish_it() -> None:
    watcher, rec = own_watcher(capacity=3)
    for n in range(1, 6):
        watcher.on_message(frame(tx_body(n)))
    assert len(watcher) == 3
    assert watcher.evicted_capacity == 2
    assert watcher.pending(f"0x{1:064x}") is None
    assert watcher.pending(f"0x{5:064x}") is not None
    watcher.on_message(frame(tx_body(1)))  # still in someone's pool: known, not news
    assert len(rec.events) == 5
    assert not any(isinstance(e, PendingTxGone) for e in rec.events)  # capacity is not "left the pool"


def test_ttl_sweep_evicts_unseen_as_dropped() -> None:
    now = [100.0]
    watcher, rec = own_watcher(ttl_s=10.0, clock=lambda: now[0])
    watcher.on_message(frame(tx_body(1)))
    now[0] = 105.0
    watcher.on_message(frame(tx_body(2)))
    now[0] = 111.0
    assert watcher.sweep() == 1
    assert [t.hash for t in watcher.own_pending()] == [f"0x{2:064x}"]
    gone = rec.events[-1]
    assert isinstance(gone, PendingTxGone)
    assert (gone.reason, gone.tx_hash, watcher.evicted_dropped) == ("dropped", f"0x{1:064x}", 1)


def test_txs_absent_from_consecutive_polls_are_dropped_but_new_arrivals_are_kept() -> None:
    watcher, _ = own_watcher(drop_after_polls=2)
    watcher.on_message(frame(tx_body(1)))
    seq = watcher.seq
    watcher.on_message(frame(tx_body(2)))  # arrived over WS while the poll was in flight
    empty = {"pending": {}, "queued": {}}
    watcher.on_txpool(empty, seq)
    assert len(watcher) == 2
    watcher.on_txpool(empty, seq)
    assert watcher.pending(f"0x{1:064x}") is None
    assert watcher.pending(f"0x{2:064x}") is not None
    queued = {"pending": {}, "queued": {ALICE: {"2": tx_body(2)}}}
    watcher.on_txpool(queued)
    watcher.on_txpool(queued)
    assert watcher.pending(f"0x{2:064x}") is not None  # queued still counts as in the pool
    assert watcher.evicted_dropped == 1


def test_replacement_with_same_nonce_evicts_the_replaced_tx() -> None:
    watcher, rec = own_watcher()
    watcher.on_message(frame(tx_body(1, nonce=7)))
    watcher.on_message(frame(tx_body(2, nonce=7)))
    assert [t.hash for t in watcher.own_pending()] == [f"0x{2:064x}"]
    gone = [e for e in rec.events if isinstance(e, PendingTxGone)]
    assert [(g.tx_hash, g.reason) for g in gone] == [(f"0x{1:064x}", "replaced")]
    assert watcher.evicted_replaced == 1


def test_mined_txs_are_evicted_and_not_republished() -> None:
    watcher, rec = own_watcher()
    watcher.on_message(frame(tx_body(1)))
    assert watcher.on_block([f"0x{1:064X}".replace("0X", "0x"), "0x" + "ee" * 32], number=5) == 1
    assert watcher.own_pending() == []
    watcher.on_txpool({"pending": {ALICE: {"1": tx_body(1)}}})  # a poll answered before the block
    watcher.on_message(frame(tx_body(2**200)))  # never seen before: still news
    kinds = [type(e).__name__ for e in rec.events]
    assert kinds == ["PendingTxEvent", "PendingTxGone", "PendingTxEvent"]
    assert watcher.evicted_mined == 1


def test_malformed_push_is_counted_and_the_stream_continues() -> None:
    watcher, rec = own_watcher()
    assert watcher.on_message(b"\x00garbage") is None
    assert watcher.on_message(frame({**tx_body(1), "nonce": "0xzz"})) is None
    assert watcher.on_txpool({"pending": "nope"}) == []
    watcher.on_message(frame(tx_body(2)))
    assert watcher.malformed == 3
    assert len(rec.events) == 1


def test_failing_decoder_and_listener_do_not_stop_the_stream() -> None:
    watcher = MempoolWatcher()

    def bad_decoder(tx: PendingTx) -> PendingEvent | None:
        raise KeyError("bug")

    def bad_listener(event: PendingEvent) -> None:
        raise RuntimeError("bug")

    watcher.register_decoder(EXCHANGE.upper().replace("0X", "0x"), bad_decoder)
    watcher.track_own([ALICE])
    watcher.subscribe(bad_listener)
    rec = Recorder(watcher)
    watcher.on_message(frame(tx_body(1)))
    assert isinstance(rec.events[0], PendingTxEvent)  # own tx: published generically
    assert (watcher.decoder_errors, watcher.listener_errors) == (1, 1)


def test_foreign_undecoded_txs_publish_nothing_but_are_tracked() -> None:
    watcher = MempoolWatcher()
    rec = Recorder(watcher)
    watcher.on_message(frame(tx_body(1, sender=BOB, to="0x" + "99" * 20)))
    assert rec.events == []
    assert len(watcher) == 1
    watcher.track_own([BOB])  # tracked later: flagged from now on
    assert [t.sender for t in watcher.own_pending()] == [BOB]


# --- pure: DEX calldata ----------------------------------------------------------------------------
DECODER = DexPendingDecoder(EXCHANGE, ORACLE)


def decode(data: str, to: str = EXCHANGE) -> PendingEvent | None:
    return DECODER(pending_tx(data, to))


def test_decode_oracle_updates() -> None:
    event = decode(ORACLE_ABI.encode_abi("postPrice", [1, 312_345_678_901, 1_700_000_000, 9]), ORACLE)
    assert isinstance(event, PendingOracleUpdate)
    assert (event.feed_id, event.answer, event.timestamp, event.round_id) == (
        1,
        312_345_678_901,
        1_700_000_000,
        9,
    )
    assert event.price == Decimal("3123.45678901")
    assert (event.tx_hash, event.sender, event.nonce, event.tx.max_priority_fee_per_gas) == (
        "0x" + "ab" * 32,
        ALICE,
        3,
        10**9,
    )
    many = decode(ORACLE_ABI.encode_abi("postPrices", [[1, 2], [2**111, 5], [7, 8], [3, 4]]), ORACLE)
    assert isinstance(many, PendingOracleUpdates)
    assert [(p.feed_id, p.price) for p in many.prices] == [
        (1, Decimal("25961484292674138142652481.64610048")),
        (2, Decimal("5E-8")),
    ]
    assert decode(ORACLE_ABI.encode_abi("postPrices", [[1, 2], [5], [7, 8], [3, 4]]), ORACLE) is None


def test_decode_orders() -> None:
    place = decode(EXCHANGE_ABI.encode_abi("place", [0, 1, 3_000 * 10**8, 10**7, True, False, 99, 42]))
    assert isinstance(place, PendingOrderPlace)
    assert (place.order.is_buy, place.order.price, place.order.size, place.order.post_only) == (
        False,
        3_000 * 10**8,
        10**7,
        True,
    )
    assert (place.order.expiry, place.order.client_order_id) == (99, 42)
    ioc = decode(EXCHANGE_ABI.encode_abi("placeIOC", [1, 0, 61_000 * 10**8, 10**5, True, 7]))
    assert ioc == PendingTakerOrder(
        tx=ioc.tx if ioc else pending_tx("0x"),
        market=1,
        is_buy=True,
        limit_price=61_000 * 10**8,
        size=10**5,
        reduce_only=True,
        client_order_id=7,
    )
    cancel = decode(EXCHANGE_ABI.encode_abi("cancel", [5]))
    assert isinstance(cancel, PendingOrderCancel)
    assert cancel.order_id == 5
    replace = decode(EXCHANGE_ABI.encode_abi("replace", [5, 6, 7]))
    assert isinstance(replace, PendingOrderReplace)
    assert (replace.replacement.order_id, replace.replacement.new_price, replace.replacement.new_size) == (
        5,
        6,
        7,
    )
    batch = decode(
        EXCHANGE_ABI.encode_abi(
            "batch",
            [[1, 2], [(3, 4, 5)], [(0, 0, 100, 200, False, True, 0, 1), (1, 1, 9, 8, True, False, 5, 2)]],
        )
    )
    assert isinstance(batch, PendingBatch)
    assert batch.cancels == (1, 2)
    assert [r.new_size for r in batch.replaces] == [5]
    assert [(p.market, p.is_buy, p.reduce_only) for p in batch.places] == [(0, True, True), (1, False, False)]


def test_decode_keeper_calls_and_others() -> None:
    liq = decode(EXCHANGE_ABI.encode_abi("liquidate", [Web3.to_checksum_address(BOB), 0, 10**6]))
    assert isinstance(liq, PendingLiquidation)
    assert (liq.account, liq.market, liq.size) == (BOB, 0, 10**6)
    settle, poke = (decode(EXCHANGE_ABI.encode_abi(name, [1])) for name in ("settleFunding", "pokeFunding"))
    assert settle == PendingFundingSettle(
        tx=pending_tx(EXCHANGE_ABI.encode_abi("settleFunding", [1])), market=1, settle=True
    )
    assert isinstance(poke, PendingFundingSettle)
    assert not poke.settle
    deposit = decode(EXCHANGE_ABI.encode_abi("deposit", [10**6]))
    assert isinstance(deposit, PendingContractCall)
    assert (deposit.name, deposit.selector) == ("deposit", bytes.fromhex("b6b55f25"))


@pytest.mark.parametrize(
    ("data", "to"),
    [
        (EXCHANGE_ABI.encode_abi("cancel", [5]), ORACLE),  # exchange selector at the oracle
        (EXCHANGE_ABI.encode_abi("cancel", [5]), "0x" + "99" * 20),  # not a DEX address
        ("0xdeadbeef" + "00" * 32, EXCHANGE),  # unknown selector
        (EXCHANGE_ABI.encode_abi("cancel", [5])[:-2], EXCHANGE),  # truncated
        (
            EXCHANGE_ABI.encode_abi("placeIOC", [0, 1, 1, 1, False, 0]).replace(
                "0" * 63 + "1", "0" * 63 + "2", 1
            ),
            EXCHANGE,
        ),
        ("0x", EXCHANGE),  # plain transfer
    ],
)
def test_undecodable_calls_yield_no_event(data: str, to: str) -> None:
    assert decode(data, to) is None


def test_decoded_event_of_an_own_tx_is_flagged() -> None:
    watcher, rec = own_watcher()
    DECODER.attach(watcher)
    data = EXCHANGE_ABI.encode_abi("cancel", [5])
    watcher.on_message(frame(tx_body(1, data=data)))
    watcher.on_message(frame(tx_body(2, sender=BOB, data=data)))
    assert [(type(e).__name__, e.own) for e in rec.events] == [
        ("PendingOrderCancel", True),
        ("PendingOrderCancel", False),
    ]


# --- the socket path with a scripted server ----------------------------------------------------------
async def test_malformed_push_on_the_socket_is_skipped_and_a_lost_socket_reconnects() -> None:
    connections = 0

    async def script(ws: websockets.ServerConnection) -> None:
        nonlocal connections
        connections += 1
        request = json.loads(await ws.recv())
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": "0x1"}))
        if connections == 1:
            await ws.send("not json at all")
            await ws.send(frame({**tx_body(1), "gas": None}))
            await ws.send(frame(tx_body(2)))
            return  # the server drops the socket
        await ws.send(frame(tx_body(2)))  # a node re-announcing on the new subscription
        await ws.send(frame(tx_body(3)))
        await ws.wait_closed()

    async with websockets.serve(script, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        watcher, _ = own_watcher(ws_url=f"ws://127.0.0.1:{port}")
        events = Events(watcher)
        async with running(watcher):
            first = await events.next(PendingTxEvent)
            second = await events.next(PendingTxEvent)
    assert [first.tx_hash, second.tx_hash] == [f"0x{2:064x}", f"0x{3:064x}"]
    assert (watcher.malformed, watcher.duplicates, watcher.reconnects, connections) == (2, 1, 1, 2)


# --- against a no-mining anvil ---------------------------------------------------------------------
class Devnet:
    def __init__(self, node: AnvilNode, deployment: Deployment) -> None:
        self.node = node
        self.deployment = deployment
        self.w3 = Web3(Web3.HTTPProvider(node.http_url))
        self.accounts = [a.lower() for a in node.rpc.accounts()]
        self.oracle = self.w3.eth.contract(
            address=Web3.to_checksum_address(deployment.oracle), abi=load_abi("PushOracle")
        )

    def send(self, sender: str, to: str, data: str = "0x") -> str:
        # Explicit gas: estimation would run against a pending state that is never mined.
        return self.node.rpc.send_transaction(
            {"from": sender, "to": to, "data": data, "gas": hex(500_000)}
        ).lower()

    def post_price(self, feed_id: int, price: str) -> tuple[str, int]:
        now = int(self.node.rpc.get_block("latest")["timestamp"], 16)
        round_id = int(self.oracle.functions.latestRoundData(feed_id).call()[0]) + 1
        answer = price_to_units(price)
        data = ORACLE_ABI.encode_abi("postPrice", [feed_id, answer, now, round_id])
        return self.send(self.deployment.deployer.lower(), self.deployment.oracle, data), answer

    def exchange_call(self, sender: str, name: str, args: list[Any]) -> str:
        return self.send(sender, self.deployment.exchange, EXCHANGE_ABI.encode_abi(name, args))


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    """Mines only on request; the DEX is deployed with automine on, which is then switched off."""
    with AnvilNode(AnvilOptions(mining="manual")) as node:
        node.rpc.set_automine(True)
        deployment = deploy(node.http_url, anvil_account(0))
        node.rpc.set_automine(False)
        yield Devnet(node, deployment)


class Events:
    def __init__(self, watcher: MempoolWatcher) -> None:
        self.queue: asyncio.Queue[PendingEvent] = asyncio.Queue()
        watcher.subscribe(self.queue.put_nowait)

    async def next(self, kind: type[E], tx_hash: str | None = None, timeout_s: float = 10.0) -> E:
        async with asyncio.timeout(timeout_s):
            while True:
                event = await self.queue.get()
                if isinstance(event, kind) and (tx_hash is None or event.tx_hash == tx_hash):
                    return event


@contextlib.asynccontextmanager
async def running(watcher: MempoolWatcher, wait_subscribed: bool = True) -> AsyncIterator[None]:
    task = asyncio.create_task(watcher.run())
    subscribed = asyncio.create_task(watcher.subscribed.wait())
    try:
        if wait_subscribed:
            await asyncio.wait([task, subscribed], timeout=10, return_when=asyncio.FIRST_COMPLETED)
            assert subscribed.done(), (  # it may already be lost again: the event was set
                f"no subscription: {task.exception() if task.done() else 'timeout'}"
            )
        yield
    finally:
        for t in (task, subscribed):
            t.cancel()
        await asyncio.gather(task, subscribed, return_exceptions=True)


def dex_watcher(rpc: RpcClient, devnet: Devnet, ws: bool = True, **kwargs: Any) -> MempoolWatcher:
    watcher = MempoolWatcher(rpc, devnet.node.ws_url if ws else None, **kwargs)
    DexPendingDecoder(devnet.deployment.exchange, devnet.deployment.oracle).attach(watcher)
    return watcher


@pytest.mark.chain
async def test_pending_oracle_price_is_decoded_before_it_is_mined(devnet: Devnet) -> None:
    async with RpcClient([devnet.node.http_url], chain_id=31337) as rpc:
        watcher = dex_watcher(rpc, devnet)
        events = Events(watcher)
        async with running(watcher):
            tx_hash, answer = devnet.post_price(1, "3123.45")
            update = await events.next(PendingOracleUpdate, tx_hash)
            assert devnet.node.rpc.receipt(tx_hash) is None  # still pending: no mining in this anvil
            assert (update.feed_id, update.answer, update.price) == (1, answer, Decimal("3123.45"))
            assert update.sender == devnet.deployment.deployer.lower()
            assert update.tx.max_fee_per_gas is not None
            assert watcher.pending(tx_hash) is not None

            devnet.node.rpc.mine(1)
            gone = await events.next(PendingTxGone, tx_hash)
            assert gone.reason == "mined"
            assert watcher.pending(tx_hash) is None
            assert (watcher.evicted_mined, watcher.evicted_dropped, watcher.malformed) == (1, 0, 0)
    assert devnet.oracle.functions.latestRoundData(1).call()[1] == answer


@pytest.mark.chain
async def test_taker_order_and_liquidation_are_decoded(devnet: Devnet) -> None:
    trader, victim = devnet.accounts[1], devnet.accounts[2]
    async with RpcClient([devnet.node.http_url], chain_id=31337) as rpc:
        watcher = dex_watcher(rpc, devnet)
        events = Events(watcher)
        async with running(watcher):
            ioc_hash = devnet.exchange_call(trader, "placeIOC", [0, 0, 3_100 * 10**8, 2 * 10**6, False, 77])
            liq_hash = devnet.exchange_call(trader, "liquidate", [Web3.to_checksum_address(victim), 0, 10**6])
            ioc = await events.next(PendingTakerOrder, ioc_hash)
            liq = await events.next(PendingLiquidation, liq_hash)
            devnet.node.rpc.mine(1)
            await events.next(PendingTxGone, liq_hash)
    assert (ioc.market, ioc.is_buy, ioc.limit_price, ioc.size, ioc.client_order_id) == (
        0,
        True,
        3_100 * 10**8,
        2 * 10**6,
        77,
    )
    assert (ioc.sender, ioc.nonce + 1) == (trader, liq.nonce)
    assert (liq.account, liq.market, liq.size) == (victim, 0, 10**6)
    assert len(watcher) == 0


@pytest.mark.chain
async def test_same_tx_over_ws_and_txpool_poll_is_one_event(devnet: Devnet) -> None:
    async with RpcClient([devnet.node.http_url], chain_id=31337) as rpc:
        watcher = dex_watcher(rpc, devnet)
        events = Events(watcher)
        async with running(watcher):
            tx_hash, _ = devnet.post_price(2, "61000")
            await events.next(PendingOracleUpdate, tx_hash)
            assert await watcher.poll_once() == []
            assert watcher.duplicates == 1
            assert (watcher.decoded, watcher.emitted) == (1, 1)
            devnet.node.rpc.mine(1)
            await events.next(PendingTxGone, tx_hash)
            assert await watcher.poll_once() == []  # mined: a late sighting would not publish again


@pytest.mark.chain
async def test_own_transactions_are_flagged_and_listed(devnet: Devnet) -> None:
    me, other = devnet.accounts[3], devnet.accounts[4]
    async with RpcClient([devnet.node.http_url], chain_id=31337) as rpc:
        watcher = dex_watcher(rpc, devnet)
        watcher.track_own([Web3.to_checksum_address(me)])
        events = Events(watcher)
        async with running(watcher):
            foreign = devnet.send(other, "0x" + "42" * 20)
            transfer = devnet.send(me, "0x" + "42" * 20)
            order = devnet.exchange_call(me, "place", [0, 0, 2_000 * 10**8, 10**6, True, False, 0, 1])
            first = await events.next(PendingEvent)
            second = await events.next(PendingEvent)
            assert (type(first), first.tx_hash, first.own) == (PendingTxEvent, transfer, True)
            assert (type(second), second.tx_hash, second.own) == (PendingOrderPlace, order, True)
            assert [t.hash for t in watcher.own_pending()] == [transfer, order]
            assert watcher.pending(foreign) is not None  # tracked, but nobody asked about it
            devnet.node.rpc.mine(1)
            await events.next(PendingTxGone, order)
            assert watcher.own_pending() == []


@pytest.mark.chain
async def test_txpool_polling_without_ws(devnet: Devnet) -> None:
    async with RpcClient([devnet.node.http_url], chain_id=31337) as rpc:
        watcher = dex_watcher(rpc, devnet, ws=False, poll_interval_s=0.05)
        events = Events(watcher)
        async with running(watcher, wait_subscribed=False):
            tx_hash, answer = devnet.post_price(1, "2999.99")
            update = await events.next(PendingOracleUpdate, tx_hash)
            assert update.answer == answer
            assert devnet.node.rpc.receipt(tx_hash) is None
            devnet.node.rpc.mine(1)
            gone = await events.next(PendingTxGone, tx_hash)
    assert gone.reason == "mined"
    assert not watcher.subscribed.is_set()
    assert (watcher.evicted_mined, watcher.evicted_dropped) == (1, 0)


@pytest.mark.chain
@pytest.mark.slow
def test_bench_replays_captured_frames() -> None:
    result = run_bench(txs=40, passes=2)
    assert result["mempool_frames"] == 40
    assert result["mempool_live_events"] == 40
    assert result["mempool_decoded_per_s"] > 0
