"""Clocks for the venue adapters: wall time in production, a hand-driven clock in tests.

Everything time-dependent takes ``now_ms`` (a callable returning Unix ms) and, where it waits,
``sleep`` (an async callable taking seconds). :class:`ManualClock` supplies both, so a test can jump
an hour ahead and see funding, dead-man switches and re-arm loops react without waiting for it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

NowMs = Callable[[], int]
Sleep = Callable[[float], Awaitable[None]]
TimeListener = Callable[[int], None]


def wall_ms() -> int:
    """Unix time in ms (what the venue compares nonces and scheduleCancel times against)."""
    return time.time_ns() // 1_000_000


class Clock(Protocol):
    """A source of Unix-ms time that can also wait."""

    def now_ms(self) -> int:
        """Current time, Unix ms."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class WallClock:
    """Real time: ``time.time_ns`` and ``asyncio.sleep``."""

    def now_ms(self) -> int:
        """Current wall time, Unix ms."""
        return wall_ms()

    async def sleep(self, seconds: float) -> None:
        """Real-time sleep."""
        await asyncio.sleep(seconds)


class ManualClock:
    """Time that moves only when a test calls :meth:`advance` or :meth:`set`.

    Listeners run synchronously on every move (the local server advances its engine there), then
    sleepers whose deadline passed are woken. Time never goes backwards.
    """

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []  # heap: (deadline, seq, future)
        self._seq = itertools.count()
        self._listeners: list[TimeListener] = []

    def now_ms(self) -> int:
        """Current manual time, Unix ms."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been moved ``seconds`` past now (0 or less: just yield)."""
        deadline = self._now + max(0, math.ceil(seconds * 1000))
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), future))
        try:
            await future
        finally:
            if not future.done():  # cancelled sleeper: left in the heap, skipped when popped
                future.cancel()

    def add_listener(self, listener: TimeListener) -> None:
        """Call ``listener(now_ms)`` after every move of the clock."""
        self._listeners.append(listener)

    def remove_listener(self, listener: TimeListener) -> None:
        """Stop calling ``listener`` (no error if it was not registered)."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def advance(self, ms: int) -> None:
        """Move time forward by ``ms``."""
        if ms < 0:
            raise ValueError("a manual clock cannot go backwards")
        await self.set(self._now + ms)

    async def set(self, now_ms: int) -> None:
        """Move time to ``now_ms`` (not earlier than now), run listeners, wake due sleepers."""
        if now_ms < self._now:
            raise ValueError(f"a manual clock cannot go backwards ({now_ms} < {self._now})")
        self._now = now_ms
        for listener in list(self._listeners):
            listener(now_ms)
        while self._sleepers and self._sleepers[0][0] <= now_ms:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
        # One loop turn lets every woken task run to its next await before the caller continues.
        await asyncio.sleep(0)
