"""The quoting loop's watchdogs: conditions measured outside the risk gate that halt quoting (clock
skew against the venue, another process trading the account), the silent-feed reconnect, and the
log-once-a-minute memory for problems that repeat. Plain state and rules; the loop calls them."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from keeper.app._quoting_state import QuotingSettings, QuotingStats
from keeper.core.order_ledger import OrderLedger
from keeper.core.risk import DenialReason
from keeper.core.venue import Venue

log = logging.getLogger("keeper.quoting")


class Watchdogs:
    """`halts` (reason -> detail) go into every `MarketView`; each holds until its rule clears it."""

    def __init__(self, venue: Venue, stats: QuotingStats, started_ms: int) -> None:
        self.venue = venue
        self.stats = stats
        self.started_ms = started_ms
        self.halts: dict[DenialReason, str] = {}
        self._reconnect_s = -math.inf  # when a stale feed last forced a reconnect
        self._warned: dict[str, float] = {}

    def feed(self, now_s: float, market_data_s: float | None, settings: QuotingSettings) -> None:
        """No valid market data for `stale_data_s` (the gate halts on it): force a reconnect, once per
        `stale_data_s`, so a socket that is open but silent is replaced."""
        limit = settings.stale_data_s
        if market_data_s is None or now_s - market_data_s <= limit or now_s - self._reconnect_s <= limit:
            return
        self._reconnect_s = now_s
        self.stats.stale_reconnects += 1
        silent = now_s - market_data_s
        log.warning("%s market data stale for %.1f s: reconnecting the stream", self.venue.name, silent)
        self.venue.force_reconnect(f"no market data for {silent:.1f} s")

    def clock(self, settings: QuotingSettings) -> None:
        """Our clock against the venue's timestamps: beyond the limit, halt with the skew named; the
        halt clears by itself once the clocks agree again."""
        offset = self.venue.clock_offset_ms()
        limit = settings.max_clock_skew_ms
        if offset is not None and abs(offset) > limit:
            detail = f"local clock {offset:+.0f} ms off the venue's (limit {limit:.0f} ms)"
            if DenialReason.CLOCK_SKEW not in self.halts:
                log.error("clock skew: %s: halting (fix the clock; quoting resumes by itself)", detail)
            self.halts[DenialReason.CLOCK_SKEW] = detail
        elif self.halts.pop(DenialReason.CLOCK_SKEW, None) is not None:
            log.warning("clock skew back within %.0f ms (now %s ms)", limit, offset)

    def adopted(self, ledger: OrderLedger, adopted: Sequence[str], settings: QuotingSettings) -> None:
        """An open order we did not send, placed after this process started: someone else is trading
        this account (a second keeper). Halt: two makers double the size and cancel each other.
        Orders a crashed predecessor left (placed before our start) are adopted without a halt."""
        since = self.started_ms + settings.other_instance_grace_ms
        young = [c for c in adopted if (o := ledger.get(c)) is not None and o.sent_ms > since]
        if young and DenialReason.OTHER_INSTANCE not in self.halts:
            detail = f"{len(young)} order(s) placed by another process since start, e.g. {young[0]}"
            self.halts[DenialReason.OTHER_INSTANCE] = detail
            log.error("another process is trading this account on %s (%s): halted", self.venue.name, detail)

    def once_a_minute(self, key: str, now_s: float) -> bool:
        """True at most once a minute per `key`: repeated problems are logged, not flooded."""
        if now_s - self._warned.get(key, -math.inf) < 60.0:
            return False
        self._warned[key] = now_s
        return True
