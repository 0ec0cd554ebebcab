"""The venue's event stream: WS events mapped to core events on a bounded queue.

The WS reader calls :meth:`VenueEventStream.on_ws_event`; nothing here awaits the consumer, so a
slow consumer cannot stall the reader (and with it the heartbeat). When the queue is full events
are dropped and counted, and a ``StreamGap`` goes in as soon as there is room again: the consumer
reconciles, exactly as after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

from keeper.adapters.hyperliquid._clock import NowMs
from keeper.codecs.hyperliquid import WsError, WsEvent
from keeper.codecs.hyperliquid.venue_events import VenueEventMapper
from keeper.core.venue import BookTop, MarketContext, StreamGap, VenueEvent

_log = logging.getLogger(__name__)


class VenueEventStream:
    """Bounded queue of core events fed by the WS handler; :meth:`events` drains it until closed."""

    def __init__(self, mapper: VenueEventMapper, now_ms: NowMs, *, max_queue: int = 10_000) -> None:
        if max_queue < 2:
            raise ValueError("max_queue must leave room for a gap notice and an event")
        self.mapper = mapper
        self._now_ms = now_ms
        self._queue: asyncio.Queue[VenueEvent | None] = asyncio.Queue(max_queue)  # None: closed
        self._lost = 0  # dropped since the last gap notice
        self._closed = False
        self.dropped = 0
        self.gaps = 0
        self.last_px: dict[str, Decimal] = {}  # latest mid (or mark) per market: sets the price tick

    async def on_ws_event(self, event: WsEvent) -> None:
        """WS client handler: map and enqueue (never blocks)."""
        if isinstance(event, WsError):
            _log.warning("hyperliquid WS error frame: %s", event.message)
        for mapped in self.mapper.map(event, self._now_ms()):
            if isinstance(mapped, BookTop) and mapped.bid is not None and mapped.ask is not None:
                self.last_px[mapped.market] = (mapped.bid + mapped.ask) / 2
            elif isinstance(mapped, MarketContext):
                self.last_px.setdefault(mapped.market, mapped.mark)
            self.push(mapped)

    async def on_reconnected(self) -> None:
        """WS client hook: events may have been missed while the socket was down."""
        self.gaps += 1
        self.push(StreamGap(reason="websocket reconnected", ts_ms=self._now_ms()))

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
