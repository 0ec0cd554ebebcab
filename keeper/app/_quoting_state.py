"""The quoting loop's settings, counters and market state (plain data, kept apart from the loop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import msgspec


class QuotingSettings(msgspec.Struct, frozen=True, kw_only=True):
    market: str
    requote_interval_s: float = 1.0
    reconcile_interval_s: float = 5.0
    reconcile_grace_ms: int = 2_000
    prune_after_s: float = 600.0  # terminal orders are forgotten after this
    status_interval_s: float = 60.0  # one status line per interval: a long-lived process shows its health
    cancel_on_stop: bool = True


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
    last_state: str = "halted"
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class MarketState:
    """Latest market data of the quoted market and when we received it (loop clock, seconds)."""

    bid: float | None = None
    ask: float | None = None
    book_s: float | None = None
    mark: float | None = None
    oracle: float | None = None
    funding_rate: float = 0.0
    next_funding_ms: int | None = None
    context_s: float | None = None

    @property
    def mid(self) -> float | None:
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2.0
        if self.mark is not None:
            return self.mark
        return self.bid if self.bid is not None else self.ask


def latest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None
