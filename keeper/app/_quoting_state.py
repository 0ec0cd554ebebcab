"""The quoting loop's settings, counters and market state (plain data, kept apart from the loop)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from keeper.core.md_guard import book_problem, context_problem


class QuotingSettings(msgspec.Struct, frozen=True, kw_only=True):
    market: str
    requote_interval_s: float = 1.0
    reconcile_interval_s: float = 5.0
    reconcile_grace_ms: int = 2_000
    min_reconcile_gap_s: float = 2.0  # triggered reconciliations coalesce to at most one per gap
    prune_after_s: float = 600.0  # terminal orders are forgotten after this
    status_interval_s: float = 60.0  # one status line per interval: a long-lived process shows its health
    cancel_on_stop: bool = True
    stale_data_s: float = 5.0  # no valid market data for this long: stale (the gate halts), reconnect
    max_clock_skew_ms: float = 2_000.0  # |our clock - the venue's| beyond this halts quoting
    max_step_failures: int = 5  # decisions that raise in a row before quoting stops (with cancels)
    other_instance_grace_ms: int = 5_000  # an unknown order younger than our start by more: not ours


@dataclass
class QuotingStats:
    """Counters for metrics and the shutdown log line."""

    decisions: int = 0
    sent: int = 0
    rejected: int = 0
    unknown: int = 0
    denied: int = 0
    fills: int = 0
    filled_size: Decimal = Decimal(0)
    reconciliations: int = 0
    inferred_fills: int = 0
    position_corrections: int = 0
    adopted: int = 0
    queries: int = 0
    stream_gaps: int = 0
    send_errors: int = 0
    query_errors: int = 0  # targeted order queries that failed (asked again at the next reconciliation)
    bad_market_data: int = 0  # book or context frames refused (non-finite, non-positive, crossed)
    event_errors: int = 0  # events whose handling raised (skipped)
    step_errors: int = 0  # decisions that raised (quotes cancelled each time)
    held_fills: int = 0  # stream fills held until the venue's records confirmed them
    discarded_fills: int = 0  # held fills the venue's records did not have
    stale_reconnects: int = 0  # reconnects forced because the market data went stale
    last_state: str = "halted"
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class MarketState:
    """Latest valid market data of the quoted market and when we received it (loop clock, seconds).

    Only sane prices get in (`take_book`, `take_context` refuse the rest with the market-data guard's
    own stateless rules, `keeper.core.md_guard`), so nothing
    downstream (the quote engine, the risk gate) ever sees NaN, infinity, zero or a negative price.
    """

    bid: float | None = None
    ask: float | None = None
    book_s: float | None = None
    mark: float | None = None
    oracle: float | None = None
    funding_rate: float = 0.0
    next_funding_ms: int | None = None
    context_s: float | None = None

    def take_book(self, bid: Decimal | None, ask: Decimal | None, now_s: float) -> str | None:
        """Take a book top; returns why it was refused instead (then nothing changes)."""
        if (problem := book_problem(bid, ask)) is not None:
            return f"{problem.reason}: {problem.detail}"
        self.bid = None if bid is None else float(bid)
        self.ask = None if ask is None else float(ask)
        self.book_s = now_s
        return None

    def take_context(
        self, mark: Decimal, oracle: Decimal, funding_rate: Decimal, next_funding_ms: int | None, now_s: float
    ) -> str | None:
        """Take mark, oracle and funding; returns why they were refused instead."""
        if (problem := context_problem(mark, oracle, funding_rate)) is not None:
            return f"{problem.reason}: {problem.detail}"
        self.mark, self.oracle = float(mark), float(oracle)
        self.funding_rate = float(funding_rate)
        self.next_funding_ms = next_funding_ms
        self.context_s = now_s
        # A quiet book is still current when the venue's newer mark lies inside it; a frozen book the
        # market has left (mark outside it) keeps ageing and goes stale.
        if self.bid is not None and self.ask is not None and self.bid <= self.mark <= self.ask:
            self.book_s = now_s
        return None

    @property
    def market_data_s(self) -> float | None:
        """When the data the mid comes from was last known current: the book's, else the context's."""
        if self.bid is not None and self.ask is not None:
            return self.book_s
        return latest(self.book_s, self.context_s)

    @property
    def mid(self) -> float | None:
        mid: float | None
        if self.bid is not None and self.ask is not None:
            mid = (self.bid + self.ask) / 2.0
        elif self.mark is not None:
            mid = self.mark
        else:
            mid = self.bid if self.bid is not None else self.ask
        return mid if mid is not None and math.isfinite(mid) and mid > 0 else None


def latest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None
