"""Benchmark: pending transactions decoded per second by the mempool watcher (goal >= 5,000/s).

A no-mining anvil gets the reference DEX and a realistic mix of pending transactions (oracle
updates by the updater, post-only placements, IOC takers, replaces and cancels by funded traders).
The raw `newPendingTransactions` push frames are captured from a WS subscription while a live
watcher decodes the same stream; the frames are then replayed through `MempoolWatcher.on_message`
with the DEX decoder registered, a fresh watcher per pass so every frame is decoded (not deduped).
Replay excludes the node and the socket: it measures our decode path (JSON, fields, calldata, event).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from typing import Any

import websockets
from web3 import Web3

from keeper.adapters.dex import DexPendingDecoder, exchange_abi, load_abi, price_to_units, usd_to_units
from keeper.app._deploy import Deployment, deploy
from keeper.chain._keys import anvil_account
from keeper.chain._mempool import MempoolWatcher
from keeper.chain._pending_codec import PendingEvent, decode_pending_push
from keeper.chain._rpc import RpcClient
from keeper.devchain import AnvilNode, AnvilOptions, DevRpc

_TRADERS = 5
_GAS = hex(600_000)  # explicit: no estimation against a pending state that is never mined here
_ETH_MARKET, _ETH_FEED, _BTC_FEED = 0, 1, 2


def run_bench(txs: int = 400, passes: int = 25, seed: int = 7) -> dict[str, float]:
    """Capture `txs` live pending-tx pushes from anvil, then replay them `passes` times.

    Keys: ``mempool_decoded_per_s`` and ``mempool_decode_us`` (all passes), ``mempool_decode_us_best``
    (best pass), ``mempool_codec_us`` (push -> PendingTx only), ``mempool_frames``, and from the live
    run ``mempool_live_events`` and ``mempool_live_send_to_event_ms_p50`` (send request to event,
    including anvil's HTTP reply and push).
    """
    if txs < 1 or passes < 1:
        raise ValueError("txs and passes must be >= 1")
    with AnvilNode(AnvilOptions(mining="manual", accounts=_TRADERS + 1)) as node:
        # Deploy and fund with automine on, then stop mining so everything after stays pending.
        node.rpc.set_automine(True)
        deployment = deploy(node.http_url, anvil_account(0))
        accounts: list[str] = [Web3.to_checksum_address(a) for a in node.rpc.accounts()]
        _fund(node.rpc, deployment, accounts[1 : _TRADERS + 1])
        node.rpc.set_automine(False)
        requests = _tx_mix(node, deployment, accounts, txs, random.Random(seed))
        frames, live = asyncio.run(_capture(node, deployment, requests))
    result = _replay(frames, deployment, passes)
    return result | live


def _fund(rpc: DevRpc, deployment: Deployment, traders: list[str]) -> None:
    w3 = Web3()
    token = w3.eth.contract(abi=load_abi("USDToken"))
    exchange = w3.eth.contract(abi=exchange_abi())
    amount = usd_to_units(1_000_000)
    for trader in traders:
        for sender, to, data in (
            (deployment.deployer, deployment.collateral, token.encode_abi("mint", [trader, amount])),
            (trader, deployment.collateral, token.encode_abi("approve", [deployment.exchange, amount])),
            (trader, deployment.exchange, exchange.encode_abi("deposit", [amount])),
        ):
            receipt = rpc.wait_receipt(rpc.send_transaction({"from": sender, "to": to, "data": data}))
            if int(receipt["status"], 16) != 1:
                raise RuntimeError(f"funding {trader} failed at a call to {to}")


def _tx_mix(
    node: AnvilNode, deployment: Deployment, accounts: list[str], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """The pending transactions to send: ~15% oracle updates, 45% places, 20% IOC, 20% requotes."""
    w3 = Web3()
    oracle = w3.eth.contract(abi=load_abi("PushOracle"))
    exchange = w3.eth.contract(abi=exchange_abi())
    now = int(node.rpc.get_block("latest")["timestamp"], 16)
    rounds = {_ETH_FEED: 1, _BTC_FEED: 1}  # the deployment posted round 1 of each feed
    mark = 3000 * 100  # ETH-USD in cents (tick 0.01)
    requests: list[dict[str, Any]] = []
    for index in range(count):
        trader = accounts[1 + index % _TRADERS]
        roll = rng.random()
        mark += rng.randint(-50, 50)
        if roll < 0.15:
            feed = _ETH_FEED if rng.random() < 0.7 else _BTC_FEED
            rounds[feed] += 1
            price = (
                price_to_units(mark) // 100
                if feed == _ETH_FEED
                else price_to_units(60_000 + rng.randint(-500, 500))
            )
            data = oracle.encode_abi("postPrice", [feed, price, now, rounds[feed]])
            requests.append({"from": deployment.deployer, "to": deployment.oracle, "data": data, "gas": _GAS})
            continue
        is_buy = rng.random() < 0.5
        side = 0 if is_buy else 1
        offset = rng.randint(1, 40) * (-1 if is_buy else 1)
        price = price_to_units(mark + offset) // 100
        size = rng.randint(1, 500) * 10**5  # lots of 0.001 ETH
        if roll < 0.60:
            args: list[object] = [_ETH_MARKET, side, price, size, True, False, 0, index]
            data = exchange.encode_abi("place", args)
        elif roll < 0.80:
            data = exchange.encode_abi("placeIOC", [_ETH_MARKET, side, price, size, False, index])
        elif roll < 0.92:
            data = exchange.encode_abi("replace", [rng.randint(1, 1000), price, size])
        else:
            data = exchange.encode_abi("cancel", [rng.randint(1, 1000)])
        requests.append({"from": trader, "to": deployment.exchange, "data": data, "gas": _GAS})
    return requests


async def _capture(
    node: AnvilNode, deployment: Deployment, requests: list[dict[str, Any]]
) -> tuple[list[str | bytes], dict[str, float]]:
    """Send `requests` while both a raw subscription and a live watcher listen; return raw frames."""
    decoder = DexPendingDecoder(deployment.exchange, deployment.oracle)
    sent_at: dict[str, float] = {}
    event_at: dict[str, float] = {}
    done = asyncio.Event()

    def on_event(event: PendingEvent) -> None:
        event_at.setdefault(event.tx_hash, time.perf_counter())
        if len(event_at) >= len(requests):
            done.set()

    def send_all() -> None:
        with DevRpc(node.http_url) as rpc:
            for request in requests:
                started = time.perf_counter()
                sent_at[rpc.send_transaction(request).lower()] = started

    frames: list[str | bytes] = []
    async with (
        RpcClient([node.http_url], node.options.chain_id) as rpc,
        websockets.connect(node.ws_url, max_size=2**24) as ws,
    ):
        watcher = MempoolWatcher(rpc, node.ws_url)
        decoder.attach(watcher)
        watcher.subscribe(on_event)
        live = asyncio.create_task(watcher.run())
        try:
            request = ["newPendingTransactions", True]
            await ws.send(
                json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": request})
            )
            ack = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            if "result" not in ack:
                raise RuntimeError(f"eth_subscribe newPendingTransactions refused: {ack}")
            await asyncio.wait_for(watcher.subscribed.wait(), timeout=10)
            # Sends block on HTTP: run them in a thread so both listeners keep reading meanwhile.
            await asyncio.to_thread(send_all)
            async with asyncio.timeout(60):
                while len(frames) < len(requests):
                    frames.append(await ws.recv())
                await done.wait()
        finally:
            live.cancel()
            await asyncio.gather(live, return_exceptions=True)
    latencies = [event_at[h] - sent_at[h] for h in sent_at if h in event_at]
    return frames, {
        "mempool_live_events": float(len(event_at)),
        "mempool_live_send_to_event_ms_p50": statistics.median(latencies) * 1e3
        if latencies
        else float("nan"),
    }


def _replay(frames: list[str | bytes], deployment: Deployment, passes: int) -> dict[str, float]:
    decoder = DexPendingDecoder(deployment.exchange, deployment.oracle)
    events: list[PendingEvent] = []
    elapsed: list[float] = []
    for _ in range(passes):
        watcher = MempoolWatcher(capacity=len(frames) + 1)
        decoder.attach(watcher)
        watcher.subscribe(events.append)
        events.clear()
        started = time.perf_counter()
        for frame in frames:
            watcher.on_message(frame)
        elapsed.append(time.perf_counter() - started)
        if watcher.decoded != len(frames) or len(events) != len(frames) or watcher.malformed:
            raise AssertionError(f"replay decoded {watcher.decoded}/{len(frames)}: {watcher.stats()}")
    started = time.perf_counter()
    for _ in range(passes):
        for frame in frames:
            decode_pending_push(frame)
    codec_s = time.perf_counter() - started
    total = len(frames) * passes
    peer_s = _web3_peer(frames, deployment, passes)
    return {
        "web3_decode_us": peer_s / total * 1e6,
        "web3_over_keeper": peer_s / sum(elapsed),
        "mempool_decoded_per_s": total / sum(elapsed),
        "mempool_decode_us": sum(elapsed) / total * 1e6,
        "mempool_decode_us_best": min(elapsed) / len(frames) * 1e6,
        "mempool_codec_us": codec_s / total * 1e6,
        "mempool_frames": float(len(frames)),
    }


def _web3_peer(frames: list[str | bytes], deployment: Deployment, passes: int) -> float:
    """The same frames the way a web3.py bot decodes them: json.loads, then `decode_function_input`."""
    w3 = Web3()
    contracts = {
        deployment.exchange.lower(): w3.eth.contract(
            address=Web3.to_checksum_address(deployment.exchange), abi=list(exchange_abi())
        ),
        deployment.oracle.lower(): w3.eth.contract(
            address=Web3.to_checksum_address(deployment.oracle), abi=list(load_abi("PushOracle"))
        ),
    }
    started = time.perf_counter()
    for _ in range(passes):
        for frame in frames:
            tx = json.loads(frame)["params"]["result"]
            contract = contracts.get(str(tx.get("to", "")).lower())
            if contract is not None:
                contract.decode_function_input(tx["input"])
    return time.perf_counter() - started
