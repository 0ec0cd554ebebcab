"""The venue's event stream: WS events mapped to core events, market data guarded, on a bounded queue.

The WS reader calls :meth:`VenueEventStream.on_ws_event`; nothing here awaits the consumer, so a
slow consumer cannot stall the reader (and with it the heartbeat). When the queue is full events
are dropped and counted, and a ``StreamGap`` goes in as soon as there is room again: the consumer
reconciles, exactly as after a reconnect.

Every ``BookTop`` and ``MarketContext`` passes the :class:`MarketDataGuard` first: a rejected one is
never queued and never sets the price step (``last_px``), and is logged at most once per reason per
``log_interval_ms``. The guard also keeps the receive time of the last valid book and context per
market (staleness by content). Venue timestamps of live frames feed the clock-offset estimate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

from keeper.adapters._clock import NowMs
from keeper.codecs.hyperliquid import Bbo, Fill, L2Book, OrderUpdates, UserEvents, UserFills, WsError, WsEvent
from keeper.codecs.hyperliquid.venue_events import VenueEventMapper
from keeper.core.md_guard import ClockOffsetEstimator, MarketDataGuard, Verdict
from keeper.core.venue import BookTop, MarketContext, StreamGap, VenueEvent

_log = logging.getLogger(__name__)


def server_times(event: WsEvent) -> Iterable[int]:
    """Venue timestamps of a live frame that say when it was sent (about): book times, order status
    times, fill times. Snapshot fills (history) and frames without a time give none."""
    if isinstance(event, Bbo | L2Book):
        return (event.time,)
    if isinstance(event, OrderUpdates):
        return (u.status_timestamp for u in event.updates)
    fills: list[Fill] = []
    if (isinstance(event, UserFills) and not event.is_snapshot) or isinstance(event, UserEvents):
        fills = event.fills
    return (f.time for f in fills)


class VenueEventStream:
    """Bounded queue of core events fed by the WS handler; :meth:`events` drains it until closed."""

    def __init__(
        self,
        mapper: VenueEventMapper,
        now_ms: NowMs,
        *,
        max_queue: int = 10_000,
        guard: MarketDataGuard | None = None,
        clock_offset: ClockOffsetEstimator | None = None,
    ) -> None:
        if max_queue < 2:
            raise ValueError("max_queue must leave room for a gap notice and an event")
        self.mapper = mapper
        self.guard = guard if guard is not None else MarketDataGuard()
        self.clock_offset = clock_offset if clock_offset is not None else ClockOffsetEstimator()
        self._now_ms = now_ms
        self._queue: asyncio.Queue[VenueEvent | None] = asyncio.Queue(max_queue)  # None: closed
        self._lost = 0  # dropped since the last gap notice
        self._closed = False
        self._gap_reason: str | None = None  # why the next reconnect happens, when we caused it
        self.dropped = 0
        self.gaps = 0
        self.last_px: dict[str, Decimal] = {}  # latest valid mid (or mark) per market: sets the price tick

    async def on_ws_event(self, event: WsEvent) -> None:
        """WS client handler: sample the clock offset, map, guard and enqueue (never blocks)."""
        now = self._now_ms()
        if isinstance(event, WsError):
            _log.warning("hyperliquid WS error frame: %.300s", event.message)  # bounded: venue text
        for server_ms in server_times(event):
            self.clock_offset.add(now, server_ms)
        for mapped in self.mapper.map(event, now):
            if isinstance(mapped, BookTop):
                if not self._admit(self.guard.check_book(mapped, now), mapped.market, now):
                    continue
                if mapped.bid is not None and mapped.ask is not None:
                    self.last_px[mapped.market] = (mapped.bid + mapped.ask) / 2
            elif isinstance(mapped, MarketContext):
                if not self._admit(self.guard.check_context(mapped, now), mapped.market, now):
                    continue
                self.last_px.setdefault(mapped.market, mapped.mark)
            self.push(mapped)

    def seed_mid(self, market: str, mid: Decimal) -> bool:
        """A mid read over REST (allMids at connect): the first price step and the guard's reference,
        if it passes the guard (else it is counted and logged, and the market has no price yet)."""
        now = self._now_ms()
        if not self._admit(self.guard.check_mid(market, mid, now), market, now):
            return False
        self.last_px.setdefault(market, mid)
        return True

    def _admit(self, verdict: Verdict, market: str, now_ms: int) -> bool:
        """Log a rejection (once per reason per interval) or a rebase; True when accepted."""
        if verdict.rebased and self.guard.report_due("rebase", now_ms) is not None:
            _log.warning(
                "%s market data: new reference level accepted after persisting (%d rebases)",
                market,
                self.guard.stats.rebases,
            )
        if verdict.reason is None:
            return True
        count = self.guard.report_due(verdict.reason, now_ms)
        if count is not None:
            _log.warning(
                "%s market data rejected (%s): %.200s; %d such rejection(s) since the last report",
                market,
                verdict.reason,
                verdict.detail,
                count,
            )
        return False

    def expect_reconnect(self, reason: str | None) -> None:
        """The next reconnect was asked for: its StreamGap names ``reason`` (None: forget it)."""
        self._gap_reason = reason

    async def on_reconnected(self) -> None:
        """WS client hook: events may have been missed while the socket was down."""
        reason, self._gap_reason = self._gap_reason, None
        self.gaps += 1
        self.push(StreamGap(reason=reason or "websocket reconnected", ts_ms=self._now_ms()))

    def push(self, event: VenueEvent) -> None:
        if self._closed:
            return
        if self._lost:
            if self._queue.full():
                self._drop()
                return
            lost, self._lost = self._lost, 0
            self.gaps += 1
            self._queue.put_nowait(
                StreamGap(reason=f"{lost} events dropped: queue full", ts_ms=self._now_ms())
            )
        if self._queue.full():
            self._drop()
            return
        self._queue.put_nowait(event)

    def _drop(self) -> None:
        if not self._lost:
            _log.warning("venue event queue full: dropping events until the consumer catches up")
        self._lost += 1
        self.dropped += 1

    def close(self) -> None:
        """End :meth:`events` once what is queued has been read (nothing queued is dropped)."""
        if self._closed:
            return
        self._closed = True
        if not self._queue.full():
            self._queue.put_nowait(None)  # wakes a waiting reader; a full queue ends on its own

    async def events(self) -> AsyncIterator[VenueEvent]:
        """Queued events in arrival order; ends once the stream is closed and drained."""
        while not (self._closed and self._queue.empty()):
            event = await self._queue.get()
            if event is None:
                return
            yield event
