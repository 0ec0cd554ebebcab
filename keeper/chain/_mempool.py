"""Watch the mempool: decode pending transactions into typed events for the rest of the keeper.

Input: a WS `eth_subscribe ["newPendingTransactions", true]` subscription (full bodies) plus `newHeads`
on the same socket; while the socket is down (or without a WS URL) `txpool_content` and the latest block
are polled through the `JsonRpc` client (which fails over between endpoints). Every transaction is
decoded once: repeats (WS and poll, or poll after poll) only refresh it. Memory is bounded: mined
transactions are evicted when their block arrives, ones that left the pool (missing from consecutive
polls, or unseen for `ttl_s`) as dropped, a replacement (same sender and nonce) evicts the one it
replaces, and beyond `capacity` the least recently seen is evicted. Mined, replaced and capacity-evicted
hashes are remembered (bounded by `capacity`) so that a late sighting does not publish them again. A
node that refuses full-body pending subscriptions is polled instead (the socket is retried with
backoff).

Chain trouble degrades, never kills: `run()` never raises for a node's failure (reconnects with capped,
jittered backoff, polls meanwhile, logs an outage's start and end, counts and skips malformed messages).
A head below the last block seen, or `on_chain_notice(Reorg | ChainReset)`, restarts block bookkeeping.

Events: a decoder registered for the transaction's `to` address turns it into a typed event (e.g. the
DEX's pending oracle update). Transactions from tracked own addresses that no decoder claims produce a
generic `PendingTxEvent`; other undecoded transactions produce nothing. `PendingTxGone` follows any
transaction an event was published for once it is mined, dropped or replaced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Literal

import msgspec
import websockets

from keeper.chain._head_tracker import ChainNotice, Reorg
from keeper.chain._heads_codec import MalformedMessageError, decode_head_push
from keeper.chain._outage import Backoff, Outage, count_malformed
from keeper.chain._pending_codec import (
    PendingEvent,
    PendingTx,
    PendingTxEvent,
    PendingTxGone,
    decode_block_tx_hashes,
    decode_pending_push,
    decode_txpool_content,
)
from keeper.chain._rpc import JsonRpc
from keeper.chain._subscriptions import subscribe
from keeper.core.redact import mask_url

log = logging.getLogger("keeper.chain.mempool")

PendingDecoder = Callable[[PendingTx], PendingEvent | None]
PendingListener = Callable[[PendingEvent], None]
_COUNTERS = (
    "seen",
    "decoded",
    "duplicates",
    "malformed",
    "emitted",
    "decoder_errors",
    "listener_errors",
    "evicted_mined",
    "evicted_dropped",
    "evicted_replaced",
    "evicted_capacity",
    "reconnects",
    "outages",
    "resets",
)
_MAX_BLOCK_CATCH_UP = 32  # blocks fetched after a gap; older mined txs fall to the poll/TTL eviction


class _Entry:
    __slots__ = ("emitted", "last_seen", "missing", "own", "seq", "tx")

    def __init__(self, tx: PendingTx, own: bool, last_seen: float, seq: int) -> None:
        self.tx = tx
        self.own = own
        self.last_seen = last_seen
        self.seq = seq
        self.emitted = False
        self.missing = 0  # consecutive txpool polls the tx was absent from


class MempoolWatcher:
    """Decodes pending transactions once each and publishes typed events to sync listeners.

    `on_message`, `on_txpool` and `on_block` are the synchronous, I/O-free ingestion points; `run()`
    feeds them from the node (needs `rpc` or `ws_url`; without `rpc` nothing is polled and
    mined transactions are only evicted by TTL).
    """

    def __init__(
        self,
        rpc: JsonRpc | None = None,
        ws_url: str | None = None,
        *,
        capacity: int = 50_000,
        ttl_s: float = 600.0,
        drop_after_polls: int = 2,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or drop_after_polls < 1:
            raise ValueError("capacity and drop_after_polls must be >= 1")
        self._rpc = rpc
        self._ws_url = ws_url
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.drop_after_polls = drop_after_polls
        self._poll_interval_s = poll_interval_s
        self._backoff = Backoff(min(0.25, max_backoff_s), max_backoff_s)
        self._poll_backoff = Backoff(min(0.25, max_backoff_s), max_backoff_s)  # polls while the node is down
        self._ws_health = Outage(log, f"pending-tx socket {mask_url(ws_url or '')}")
        self._rpc_health = Outage(log, "mempool over RPC")
        self._clock = clock
        # Least recently seen first: both capacity and TTL eviction pop from the front.
        self._txs: OrderedDict[str, _Entry] = OrderedDict()
        self._by_nonce: dict[tuple[str, int], str] = {}
        # Mined, replaced or capacity-evicted hashes: a late sighting must not publish them again.
        self._gone: OrderedDict[str, None] = OrderedDict()
        self._own_addresses: set[str] = set()
        self._own_txs: dict[str, PendingTx] = {}
        self._decoders: dict[str, PendingDecoder] = {}
        self._listeners: list[PendingListener] = []
        self._seq = 0
        self._last_block: int | None = None
        self._next_sweep = 0.0
        self.subscribed = asyncio.Event()  # set while the WS subscription is live
        self.seen = 0
        self.decoded = 0
        self.duplicates = 0
        self.malformed = 0
        self.emitted = 0
        self.decoder_errors = 0
        self.listener_errors = 0
        self.evicted_mined = 0
        self.evicted_dropped = 0
        self.evicted_replaced = 0
        self.evicted_capacity = 0
        self.reconnects = 0  # subscriptions re-established after a loss
        self.resets = 0  # the chain went back: block bookkeeping restarted

    # --- registration ------------------------------------------------------------------------------
    def register_decoder(self, address: str, decoder: PendingDecoder) -> None:
        """Decode transactions sent to `address` with `decoder` (returning None: not interesting)."""
        self._decoders[address.lower()] = decoder

    def subscribe(self, listener: PendingListener) -> None:
        """Call `listener` synchronously with every published event; its exceptions are logged."""
        self._listeners.append(listener)

    def track_own(self, addresses: Iterable[str]) -> None:
        """Flag transactions from these addresses `own=True` (already tracked ones included)."""
        new = {a.lower() for a in addresses}
        self._own_addresses |= new
        for entry in self._txs.values():
            if entry.tx.sender in new and not entry.own:
                entry.own = True
                self._own_txs[entry.tx.hash] = entry.tx

    def own_pending(self) -> list[PendingTx]:
        """Our own transactions currently in the mempool, oldest sighting first."""
        return list(self._own_txs.values())

    def pending(self, tx_hash: str) -> PendingTx | None:
        entry = self._txs.get(tx_hash.lower())
        return None if entry is None else entry.tx

    def __len__(self) -> int:
        return len(self._txs)

    @property
    def outages(self) -> int:
        """Outages begun: of the socket, and of the RPC reads (polls, block fetches)."""
        return self._ws_health.outages + self._rpc_health.outages

    def on_chain_notice(self, notice: ChainNotice) -> None:
        """A reorg: blocks from its first replaced height are fetched again and mined-and-forgotten
        hashes may be news again. A reset: everything tracked belongs to another chain (dropped)."""
        self._gone.clear()
        if isinstance(notice, Reorg):
            if self._last_block is not None:
                self._last_block = min(self._last_block, notice.number - 1)
            return
        self.resets += 1
        self._last_block = None
        for tx_hash in list(self._txs):
            self._evict(tx_hash, "dropped")

    def stats(self) -> dict[str, int]:
        """Counters, plus how many transactions are tracked now."""
        return {name: int(getattr(self, name)) for name in _COUNTERS} | {"tracked": len(self._txs)}

    # --- ingestion (sync, no I/O) ------------------------------------------------------------------
    def on_message(self, raw: bytes | str) -> PendingEvent | None:
        """Ingest one `newPendingTransactions` push; returns the event published for it, if any."""
        try:
            _, tx = decode_pending_push(raw)
        except MalformedMessageError as exc:
            self.malformed += 1
            count_malformed(log, "pending-tx push", self.malformed, exc)
            return None
        return self._ingest(tx, self._clock())

    def on_txpool(self, result: object, seq_at_request: int | None = None) -> list[PendingEvent]:
        """Ingest a `txpool_content` result; returns the events published for new transactions.

        Tracked transactions absent from it (both sections) for `drop_after_polls` polls in a row are
        evicted as dropped. Pass `seq_at_request` (`self.seq` read before sending the request) so that
        transactions that arrived over WS meanwhile are not counted absent.
        """
        try:
            content = decode_txpool_content(result)
        except MalformedMessageError as exc:
            self.malformed += 1
            count_malformed(log, "txpool_content", self.malformed, exc)
            return []
        self.malformed += content.malformed
        now = self._clock()
        events: list[PendingEvent] = []
        present: set[str] = set()
        for tx in content.pending:
            present.add(tx.hash)
            event = self._ingest(tx, now)
            if event is not None:
                events.append(event)
        # Queued txs (nonce gaps) cannot be mined yet: they keep a tracked tx alive but publish nothing.
        for tx in content.queued:
            present.add(tx.hash)
            if tx.hash in self._txs:
                self._refresh(tx.hash, now)
        limit = self._seq if seq_at_request is None else seq_at_request
        dropped = []
        for tx_hash, entry in self._txs.items():
            if tx_hash in present:
                entry.missing = 0
            elif entry.seq <= limit:
                entry.missing += 1
                if entry.missing >= self.drop_after_polls:
                    dropped.append(tx_hash)
        for tx_hash in dropped:
            self._evict(tx_hash, "dropped")
        self.sweep(now)
        return events

    def on_block(self, tx_hashes: Iterable[str], number: int | None = None) -> int:
        """A block was mined with these transactions: evict them; returns how many were tracked."""
        if number is not None:
            self._last_block = number if self._last_block is None else max(self._last_block, number)
        evicted = self.evict_mined(tx_hashes)
        self.sweep()
        return evicted

    def evict_mined(self, tx_hashes: Iterable[str]) -> int:
        evicted = 0
        for tx_hash in tx_hashes:
            key = tx_hash.lower()
            if self._evict(key, "mined"):
                evicted += 1
            else:
                self._remember_gone(key)  # a late sighting of it is not pending any more
        return evicted

    def sweep(self, now: float | None = None) -> int:
        """Evict as dropped whatever has not been seen for `ttl_s`; returns how many."""
        cutoff = (self._clock() if now is None else now) - self.ttl_s
        evicted = 0
        while self._txs:
            tx_hash, entry = next(iter(self._txs.items()))
            if entry.last_seen > cutoff:
                break
            self._evict(tx_hash, "dropped")
            evicted += 1
        return evicted

    @property
    def seq(self) -> int:
        """Ingestion sequence number: read before a txpool request, pass to `on_txpool`."""
        return self._seq

    def _ingest(self, tx: PendingTx, now: float) -> PendingEvent | None:
        self.seen += 1
        tx_hash = tx.hash
        if tx_hash in self._txs:
            self.duplicates += 1
            self._refresh(tx_hash, now)
            return None
        if tx_hash in self._gone:
            self.duplicates += 1
            return None
        self.decoded += 1
        self._seq += 1
        own = tx.sender in self._own_addresses
        replaced = self._by_nonce.get((tx.sender, tx.nonce))
        if replaced is not None:
            self._evict(replaced, "replaced")
        if len(self._txs) >= self.capacity:
            self._evict(next(iter(self._txs)), "capacity")
        entry = _Entry(tx, own, now, self._seq)
        self._txs[tx_hash] = entry
        self._by_nonce[(tx.sender, tx.nonce)] = tx_hash
        if own:
            self._own_txs[tx_hash] = tx
        event = self._decode(tx, own)
        if event is not None:
            entry.emitted = True
            self._publish(event)
        return event

    def _decode(self, tx: PendingTx, own: bool) -> PendingEvent | None:
        decoder = None if tx.to is None else self._decoders.get(tx.to)
        event = None
        if decoder is not None:
            try:
                event = decoder(tx)
            except Exception as exc:
                # A decoder bug must not stop the stream; the tx still counts as tracked.
                self.decoder_errors += 1
                log.warning("decoder for %s failed on %s: %r", tx.to, tx.hash, exc)
        if event is None:
            return PendingTxEvent(tx=tx, own=True) if own else None
        return msgspec.structs.replace(event, own=True) if own else event

    def _refresh(self, tx_hash: str, now: float) -> None:
        self._txs[tx_hash].last_seen = now
        self._txs.move_to_end(tx_hash)

    def _evict(self, tx_hash: str, reason: Literal["mined", "dropped", "replaced", "capacity"]) -> bool:
        entry = self._txs.pop(tx_hash, None)
        if entry is None:
            return False
        key = (entry.tx.sender, entry.tx.nonce)
        if self._by_nonce.get(key) == tx_hash:
            del self._by_nonce[key]
        self._own_txs.pop(tx_hash, None)
        if reason == "mined":
            self.evicted_mined += 1
        elif reason == "dropped":
            self.evicted_dropped += 1
        elif reason == "replaced":
            self.evicted_replaced += 1
        else:
            self.evicted_capacity += 1
        if reason != "dropped":  # a dropped tx may be re-broadcast and is then news again
            self._remember_gone(tx_hash)
        if entry.emitted and reason != "capacity":
            self._publish(PendingTxGone(tx=entry.tx, own=entry.own, reason=reason))
        return True

    def _remember_gone(self, tx_hash: str) -> None:
        self._gone[tx_hash] = None
        if len(self._gone) > self.capacity:
            self._gone.popitem(last=False)

    def _publish(self, event: PendingEvent) -> None:
        self.emitted += 1
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                self.listener_errors += 1
                log.exception("mempool listener failed on %s", type(event).__name__)

    # --- I/O ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Follow the node until cancelled: WS when available, polling `rpc` while it is not."""
        if self._ws_url is None and self._rpc is None:
            raise ValueError("MempoolWatcher.run needs a ws_url or an rpc client")
        while True:
            if self._ws_url is not None:
                try:
                    await self._subscribe(self._ws_url)
                    self._ws_health.fail(
                        "the node closed the subscription", then="polling while reconnecting"
                    )
                except Exception as exc:  # every transport failure, and anything unexpected: degrade
                    then = "polling txpool while reconnecting" if self._rpc else "reconnecting"
                    self._ws_health.fail(exc, then=then)
                finally:
                    self.subscribed.clear()
            # Poll until the next reconnect attempt (or forever without a WS endpoint).
            deadline = asyncio.get_running_loop().time() + (
                self._backoff.next() if self._ws_url else float("inf")
            )
            await self._poll_until(deadline)

    async def poll_once(self) -> list[PendingEvent]:
        """One poll round: new blocks first (so mined txs are not taken for dropped), then the pool."""
        if self._rpc is None:
            raise ValueError("polling needs an rpc client")
        try:
            latest = decode_block_tx_hashes(
                await self._rpc.request("eth_getBlockByNumber", ["latest", False])
            )
            if latest is not None:
                await self._catch_up_blocks(latest[0], latest)
            seq = self._seq
            result = await self._rpc.request("txpool_content", [])
        except MalformedMessageError as exc:
            self.malformed += 1
            count_malformed(log, "poll reply", self.malformed, exc)
            return []
        except Exception as exc:  # no endpoint answered, the node refused, or anything unexpected
            self._rpc_health.fail(exc)
            return []
        self._rpc_health.ok()
        return self.on_txpool(result, seq)

    def _poll_delay(self) -> float:
        """The poll interval, backing off (capped, jittered) while polls fail."""
        if not self._rpc_health.down:
            self._poll_backoff.reset()
            return self._poll_interval_s
        return max(self._poll_interval_s, self._poll_backoff.next())

    async def _poll_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            if self._rpc is not None:
                await self.poll_once()
            await asyncio.sleep(min(self._poll_delay(), max(0.0, deadline - loop.time())))

    async def _subscribe(self, url: str) -> None:
        async with websockets.connect(url, ping_interval=20, ping_timeout=20, max_size=2**24) as ws:
            requests: dict[int, list[object]] = {1: ["newPendingTransactions", True]}
            # Heads tell us which txs were mined; without `rpc` we cannot fetch blocks, so TTL decides.
            if self._rpc is not None:
                requests[2] = ["newHeads"]
            subscriptions, early = await subscribe(ws, requests)
            heads_sub = subscriptions.get(2)  # other pushes are pending txs (one subscription each)
            self.subscribed.set()
            if self._ws_health.ok():
                self.reconnects += 1
            else:
                log.info("subscribed to pending transactions at %s", mask_url(url))
            for message in early:
                await self._route(message, heads_sub)
            async for message in ws:
                self._backoff.reset()
                await self._route(message, heads_sub)

    async def _route(self, message: str | bytes, heads_sub: str | None) -> None:
        try:
            await self._route_one(message, heads_sub)
        except Exception as exc:  # one bad message must not cost the subscription
            self.malformed += 1
            count_malformed(log, "pending-tx socket message", self.malformed, exc)

    async def _route_one(self, message: str | bytes, heads_sub: str | None) -> None:
        text = message if isinstance(message, str) else message.decode(errors="replace")
        now = self._clock()
        if now >= self._next_sweep:  # without heads (no rpc) nothing else applies the TTL
            self.sweep(now)
            self._next_sweep = now + min(self.ttl_s / 4, 30.0)
        if heads_sub is not None and heads_sub in text:
            number = _head_number(text, heads_sub)
            if number is not None:
                await self._catch_up_blocks(number)
                return
        self.on_message(text)

    async def _catch_up_blocks(self, head: int, head_block: tuple[int, list[str]] | None = None) -> None:
        assert self._rpc is not None
        if self._last_block is not None and head < self._last_block:
            # The chain went back below blocks we saw (a reset, or a reorg to a shorter chain).
            self.resets += 1
            log.warning("mempool: head %d below the last block seen (%d); block bookkeeping restarted",
                        head, self._last_block)  # fmt: skip
            self._last_block = None
            self._gone.clear()
        first = head if self._last_block is None else max(self._last_block + 1, head - _MAX_BLOCK_CATCH_UP)
        for number in range(first, head + 1):
            if head_block is not None and number == head_block[0]:
                block: tuple[int, list[str]] | None = head_block
            else:
                try:
                    result = await self._rpc.request("eth_getBlockByNumber", [hex(number), False])
                    block = decode_block_tx_hashes(result)
                except MalformedMessageError as exc:
                    self.malformed += 1
                    count_malformed(log, "block reply", self.malformed, exc)
                    return  # retried from the next head
                except Exception as exc:
                    self._rpc_health.fail(exc)
                    return  # retried from the next head
                self._rpc_health.ok()
            if block is None:
                return
            self.on_block(block[1], number)


def _head_number(message: str | bytes, subscription: str) -> int | None:
    try:
        sub, head = decode_head_push(message)
    except MalformedMessageError:
        return None
    return head.number if sub == subscription else None
