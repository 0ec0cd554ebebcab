"""Sending the trading core's plan: the I/O half. Each `Send` is already in the ledger; its outcomes go
back into the core, and into the store. An adapter exception is not a venue answer: every outcome of
that send is unknown."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from keeper.app._journal import Journal
from keeper.app._quoting_state import QuotingStats
from keeper.app._store_schema import RequestKind
from keeper.core.order_ledger import OrderChange
from keeper.core.trading import Send, TradingCore
from keeper.core.venue import CancelOutcome, Rejected, SubmitOutcome, Unknown, Venue

log = logging.getLogger("keeper.quoting")
_Outcome = TypeVar("_Outcome", SubmitOutcome, CancelOutcome)


class Sender:
    """Executes sends on `venue`; reports ledger changes to `on_changes` and asks for an early
    reconciliation through `settle_soon` after an unknown outcome or a refused replace."""

    def __init__(
        self,
        venue: Venue,
        core: TradingCore,
        stats: QuotingStats,
        *,
        now_ms: Callable[[], int],
        on_changes: Callable[[Sequence[OrderChange]], None],
        settle_soon: Callable[[], None],
        journal: Journal | None = None,
    ) -> None:
        self.venue = venue
        self.core = core
        self.stats = stats
        self._now_ms = now_ms
        self._on_changes = on_changes
        self._settle_soon = settle_soon
        self.journal = journal

    def recorded(self, sends: Sequence[Send], ts_ms: int) -> None:
        """The plan's new orders, as the ledger recorded them, into the store before they leave."""
        if self.journal is None:
            return
        for send in sends:
            for request in (*send.orders, *(r.new for r in send.replaces)):
                self.journal.order(request, ts_ms)

    async def execute(self, send: Send) -> None:
        if send.cancels:
            requests = send.cancels
            cancelled = await self._guarded("cancel", self.venue.cancel(requests), len(requests))
            now_ms = self._now_ms()
            self._journal([r.client_id for r in requests], cancelled, now_ms, "cancel")
            self._on_changes(self.core.on_cancelled(requests, cancelled, now_ms))
        elif send.replaces:
            replaces = send.replaces
            outcomes = await self._guarded("replace", self.venue.replace(replaces), len(replaces))
            now_ms = self._now_ms()
            self._count(outcomes)
            self._journal([r.new.client_id for r in replaces], outcomes, now_ms, "replace")
            self._on_changes(self.core.on_replaced(replaces, outcomes, now_ms))
            if any(isinstance(o, Rejected) for o in outcomes):
                self._settle_soon()  # the old orders are suspect until the venue says where they are
        elif send.orders:
            for take in send.takes:
                log.info("%s take: %s %s limit %s", take.reason, take.side.value, take.size, take.limit_price)
            orders = send.orders
            submitted = await self._guarded("submit", self.venue.submit(orders), len(orders))
            now_ms = self._now_ms()
            self._count(submitted)
            self._journal([r.client_id for r in orders], submitted, now_ms, "submit")
            self._on_changes(self.core.on_submitted(orders, submitted, now_ms))

    def _journal(
        self,
        client_ids: Sequence[str],
        outcomes: Sequence[SubmitOutcome | CancelOutcome],
        now_ms: int,
        kind: RequestKind,
    ) -> None:
        if self.journal is None:
            return
        for client_id, outcome in zip(client_ids, outcomes, strict=True):
            self.journal.outcome(client_id, outcome, now_ms, kind)

    async def _guarded(self, what: str, send: Awaitable[list[_Outcome]], n: int) -> list[_Outcome | Unknown]:
        """Await a send; an exception is an adapter bug, not a venue answer: every outcome is unknown."""
        self.stats.sent += n
        try:
            outcomes = list(await send)
        except Exception as exc:
            self.stats.send_errors += 1
            log.exception("%s on %s raised", what, self.venue.name)
            return [Unknown(reason=f"adapter error: {exc!r}")] * n
        if len(outcomes) != n:  # a broken adapter: nothing can be matched, so nothing is known
            self.stats.send_errors += 1
            log.error("%s on %s: %d outcomes for %d requests", what, self.venue.name, len(outcomes), n)
            return [Unknown(reason="adapter error: outcome count")] * n
        return outcomes

    def _count(self, outcomes: Sequence[object]) -> None:
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                self.stats.rejected += 1
                self.stats.reasons[outcome.reason] = self.stats.reasons.get(outcome.reason, 0) + 1
                log.warning("order rejected by %s: %s", self.venue.name, outcome.reason)
            elif isinstance(outcome, Unknown):
                self.stats.unknown += 1
                self._settle_soon()  # settle it soon rather than at the next scheduled reconciliation
                log.warning(
                    "order outcome unknown on %s (%s): left for reconciliation",
                    self.venue.name,
                    outcome.reason,
                )
