"""Follow new block headers: WS `newHeads` subscription, falling back to polling over the RPC client.

Chain trouble degrades, never kills: `heads()` never raises for a node's failure. A lost socket (closed,
reset, refused, a failed handshake, silence) is reconnected with capped exponential backoff and
jitter, and while it is down the watcher polls through the `JsonRpc` client (which fails over
between endpoints). An outage is logged when it starts and when it ends, retries are only counted.
Malformed pushes and replies are counted and skipped.

Continuity (see `HeadTracker`): a reorg or a chain reset is logged in one line ("reorg at 118,
depth 2", "chain reset: head 812 -> 3 (genesis_changed)") and delivered as a typed notice, `Reorg`
or `ChainReset`, to every listener added with `add_notice_listener` (called synchronously, before
the head that revealed it is yielded).

Health for the app: `last_head` (with the block's own `timestamp`), `last_head_ms` (local wall-clock
receive time), `clock_offset_s` (receive time minus block time of the last head), `connected` and
`healthy` (connected and a head within `stale_after_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable

import websockets

from keeper.chain._head_tracker import ChainNotice, ChainReset, HeadTracker
from keeper.chain._heads_codec import (
    BlockHeader,
    MalformedMessageError,
    decode_block_result,
    decode_head_push,
)
from keeper.chain._outage import Backoff, Outage, count_malformed
from keeper.chain._rpc import JsonRpc
from keeper.chain._subscriptions import subscribe
from keeper.core.redact import mask_url

log = logging.getLogger("keeper.chain.heads")

NoticeListener = Callable[[ChainNotice], None]


class HeadWatcher:
    """Yields each new canonical head once, in order of arrival (after a reorg or a reset the numbers
    may repeat or go back; a notice says which)."""

    def __init__(
        self,
        rpc: JsonRpc,
        ws_url: str | None,
        poll_interval_s: float = 1.0,
        max_backoff_s: float = 5.0,
        *,
        stale_after_s: float = 30.0,
        window_blocks: int = 128,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._rpc = rpc
        self._ws_url = ws_url
        self._poll_interval_s = poll_interval_s
        self._backoff = Backoff(min(0.25, max_backoff_s), max_backoff_s)
        self._poll_backoff = Backoff(min(0.25, max_backoff_s), max_backoff_s)  # polls while the node is down
        self.stale_after_s = stale_after_s
        self._wall_clock = wall_clock
        self._tracker = HeadTracker(window_blocks)
        self._listeners: list[NoticeListener] = []
        self._last_yielded: str | None = None
        shown = mask_url(ws_url) if ws_url is not None else ""
        self._ws_health = Outage(log, f"newHeads socket {shown}")
        self._rpc_health = Outage(log, "heads over RPC")
        self._subscribed = False
        self._poll_ok = False
        self.last_head: BlockHeader | None = None
        self.last_head_ms: float | None = None
        self.last_notice: ChainNotice | None = None
        self.malformed = 0
        self.reconnects = 0  # subscriptions re-established after a loss
        self.resets = 0
        self.reorgs = 0
        self.unverified = 0  # heads passed on while the node could not be asked about continuity
        self.listener_errors = 0

    # --- the app's view ------------------------------------------------------------------------------
    def add_notice_listener(self, listener: NoticeListener) -> None:
        """Call `listener(notice)` for every `Reorg` / `ChainReset`; its exceptions are logged, not raised."""
        self._listeners.append(listener)

    @property
    def outages(self) -> int:
        """Outages begun: of the socket, and of polling."""
        return self._ws_health.outages + self._rpc_health.outages

    @property
    def connected(self) -> bool:
        """The subscription is live, or (without it) the last poll got an answer."""
        return self._subscribed or self._poll_ok

    @property
    def healthy(self) -> bool:
        """Connected, and the last new head arrived within `stale_after_s`."""
        age = self.head_age_s()
        return self.connected and age is not None and age <= self.stale_after_s

    def head_age_s(self) -> float | None:
        """Seconds since the last new head was received (None before the first)."""
        if self.last_head_ms is None:
            return None
        return max(0.0, self._wall_clock() - self.last_head_ms / 1000)

    @property
    def clock_offset_s(self) -> float | None:
        """Local receive time minus the block's timestamp, for the last head (block time is whole seconds)."""
        if self.last_head is None or self.last_head_ms is None:
            return None
        return self.last_head_ms / 1000 - self.last_head.timestamp

    # --- the stream ----------------------------------------------------------------------------------
    async def heads(self) -> AsyncIterator[BlockHeader]:
        while True:
            if self._ws_url is not None:
                try:
                    async with contextlib.aclosing(self._subscribe(self._ws_url)) as pushes:
                        async for head in pushes:
                            if await self._accept(head):
                                yield head
                    self._ws_lost("the node closed the subscription")
                except Exception as exc:  # every transport failure, and anything unexpected: degrade
                    self._ws_lost(exc)
            # Poll until the next reconnect attempt (or forever without a WS endpoint).
            loop = asyncio.get_running_loop()
            deadline = loop.time() + (self._backoff.next() if self._ws_url else float("inf"))
            async with contextlib.aclosing(self._poll(deadline)) as polled:
                async for head in polled:
                    yield head

    def on_push(self, message: bytes | str) -> BlockHeader | None:
        """Decode one `newHeads` push; a malformed one is counted and skipped (None). No I/O."""
        try:
            return decode_head_push(message)[1]
        except MalformedMessageError as exc:
            self.malformed += 1
            count_malformed(log, "newHeads push", self.malformed, exc)
            return None

    async def _subscribe(self, url: str) -> AsyncGenerator[BlockHeader, None]:
        async with websockets.connect(
            url, ping_interval=20, ping_timeout=20, open_timeout=10, max_size=2**22
        ) as ws:
            _, early = await subscribe(ws, {1: ["newHeads"]})
            self._subscribed, self._poll_ok = True, False  # the socket is the source now
            if self._ws_health.ok():
                self.reconnects += 1
                self._tracker.verify_next = True  # the chain may have changed while we were away
            for message in early:  # only junk can come before the one ack: counted as malformed
                head = self.on_push(message)
                if head is not None:
                    yield head
            async for message in ws:
                head = self.on_push(message)
                if head is not None:
                    self._backoff.reset()
                    yield head

    def _ws_lost(self, why: BaseException | str) -> None:
        self._subscribed = self._poll_ok = False  # until a poll answers
        self._ws_health.fail(why, then="polling while reconnecting")

    def _poll_delay(self) -> float:
        """The poll interval, backing off (capped, jittered) while polls fail."""
        if not self._rpc_health.down:
            self._poll_backoff.reset()
            return self._poll_interval_s
        return max(self._poll_interval_s, self._poll_backoff.next())

    async def _poll(self, deadline: float) -> AsyncGenerator[BlockHeader, None]:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            head: BlockHeader | None = None
            try:
                head = decode_block_result(await self._rpc.request("eth_getBlockByNumber", ["latest", False]))
            except MalformedMessageError as exc:
                self.malformed += 1
                count_malformed(log, "block reply", self.malformed, exc)
            except Exception as exc:  # no endpoint answered, the node refused, or anything unexpected
                self._poll_ok = False
                self._rpc_health.fail(exc)
            else:
                self._poll_ok = True
                if self._rpc_health.ok():
                    self._tracker.verify_next = True
            if head is not None and await self._accept(head):
                yield head
            await asyncio.sleep(min(self._poll_delay(), max(0.0, deadline - loop.time())))

    async def _accept(self, head: BlockHeader) -> bool:
        """Classify `head` against what we saw; notify on a reorg or reset. True: pass it on."""
        try:
            is_new, notice = await self._tracker.accept(head, self._hash_at)
        except Exception as exc:  # the node could not be asked: pass the head on, check the next one
            self.unverified += 1
            self._tracker.verify_next = True
            self._rpc_health.fail(exc, then="passing heads on unchecked")
            is_new, notice = head.hash != self._last_yielded, None
        if notice is not None:
            self._notify(notice)
        if not is_new:
            return False
        self._last_yielded = head.hash
        self.last_head = head
        self.last_head_ms = self._wall_clock() * 1000
        return True

    async def _hash_at(self, number: int) -> str | None:
        block = decode_block_result(await self._rpc.request("eth_getBlockByNumber", [hex(number), False]))
        self._rpc_health.ok()
        return None if block is None else block.hash

    def _notify(self, notice: ChainNotice) -> None:
        if isinstance(notice, ChainReset):
            self.resets += 1
        else:
            self.reorgs += 1
        self.last_notice = notice
        log.warning("%s", notice.describe())
        for listener in self._listeners:
            try:
                listener(notice)
            except Exception:
                self.listener_errors += 1
                log.exception("chain notice listener failed on %s", type(notice).__name__)
