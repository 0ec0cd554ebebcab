"""Sending the maker's decisions: every request is in the ledger before it leaves, every outcome goes
back into it. An adapter exception is not a venue answer: every outcome of that send is unknown."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TypeVar

from keeper.app._journal import Journal
from keeper.app._quoting_state import QuotingStats
from keeper.core.order_diff import Cancel, Place, Replace, WireAction
from keeper.core.order_ledger import OrderChange, OrderLedger
from keeper.core.strategy import TakeOrder
from keeper.core.types import Side
from keeper.core.venue import (
    CancelOutcome,
    CancelRequest,
    OrderRequest,
    Rejected,
    ReplaceRequest,
    SubmitOutcome,
    TimeInForce,
    Unknown,
    Venue,
)

log = logging.getLogger("keeper.quoting")
_Outcome = TypeVar("_Outcome", SubmitOutcome, CancelOutcome)


class Sender:
    """Sends batches, takes and cancels of one market; reports ledger changes to `apply` and asks for
    an early reconciliation through `settle_soon` after an unknown outcome or a refused replace."""

    def __init__(
        self,
        venue: Venue,
        ledger: OrderLedger,
        market: str,
        stats: QuotingStats,
        *,
        now_ms: Callable[[], int],
        apply: Callable[[Sequence[OrderChange]], None],
        settle_soon: Callable[[], None],
        journal: Journal | None = None,
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.market = market
        self.stats = stats
        self._now_ms = now_ms
        self._apply = apply
        self._settle_soon = settle_soon
        self.journal = journal

    async def batch(self, batch: Sequence[WireAction]) -> None:
        """One batch of the decision: its cancels, then replaces, then places (post-only)."""
        cancels = [a for a in batch if isinstance(a, Cancel)]
        replaces = [a for a in batch if isinstance(a, Replace)]
        places = [a for a in batch if isinstance(a, Place)]
        if cancels:
            await self.cancels([c.order_id for c in cancels])
        if replaces:
            await self._replaces(replaces)
        if places:
            requests = [
                self._request(p.order_id, p.side, p.price, p.size, TimeInForce.POST_ONLY) for p in places
            ]
            await self._orders(requests)

    async def takes(self, takes: Sequence[TakeOrder]) -> None:
        requests = [self._request(t.order_id, t.side, t.limit_price, t.size, TimeInForce.IOC) for t in takes]
        for take in takes:
            log.info("%s take: %s %s limit %s", take.reason, take.side.value, take.size, take.limit_price)
        await self._orders(requests)

    async def cancels(self, client_ids: Sequence[str]) -> list[CancelOutcome | Unknown]:
        """Cancel these orders (by client id, with the venue id when known). Returns the outcomes."""
        now_ms = self._now_ms()
        requests = []
        for client_id in client_ids:
            order = self.ledger.get(client_id)
            if order is None or order.state.terminal:
                continue
            self.ledger.cancel_sent(client_id, now_ms)
            requests.append(
                CancelRequest(
                    client_id=client_id, market=order.request.market, venue_order_id=order.venue_order_id
                )
            )
        if not requests:
            return []
        outcomes = await self._guarded("cancel", self.venue.cancel(requests), len(requests))
        now_ms = self._now_ms()
        for request, outcome in zip(requests, outcomes, strict=True):
            if self.journal is not None:
                self.journal.outcome(request.client_id, outcome, now_ms, "cancel")
            self._apply(self.ledger.on_cancel_outcome(request.client_id, outcome, now_ms))
        return outcomes

    def _request(
        self, client_id: str | None, side: Side, price: Decimal, size: Decimal, tif: TimeInForce
    ) -> OrderRequest:
        if client_id is None:
            raise ValueError("the maker assigns every created order an id")
        return OrderRequest(
            client_id=client_id, market=self.market, side=side, price=price, size=size, tif=tif
        )

    async def _orders(self, requests: Sequence[OrderRequest]) -> None:
        now_ms = self._now_ms()
        for request in requests:
            self.ledger.submitted(request, now_ms)
            if self.journal is not None:
                self.journal.order(request, now_ms)
        outcomes = await self._guarded("submit", self.venue.submit(requests), len(requests))
        now_ms = self._now_ms()
        for request, outcome in zip(requests, outcomes, strict=True):
            self._count(outcome)
            if self.journal is not None:
                self.journal.outcome(request.client_id, outcome, now_ms, "submit")
            self._apply(self.ledger.on_submit_outcome(request.client_id, outcome, now_ms))

    async def _replaces(self, replaces: Sequence[Replace]) -> None:
        now_ms = self._now_ms()
        requests = []
        for replace in replaces:
            new = self._request(
                replace.new_order_id, replace.side, replace.price, replace.size, TimeInForce.POST_ONLY
            )
            old = self.ledger.get(replace.order_id)
            self.ledger.replace_sent(replace.order_id, new, now_ms)
            if self.journal is not None:
                self.journal.order(new, now_ms)
            venue_id = None if old is None else old.venue_order_id
            requests.append(ReplaceRequest(client_id=replace.order_id, new=new, venue_order_id=venue_id))
        outcomes = await self._guarded("replace", self.venue.replace(requests), len(requests))
        now_ms = self._now_ms()
        refused = 0
        for request, outcome in zip(requests, outcomes, strict=True):
            self._count(outcome)
            if self.journal is not None:
                self.journal.outcome(request.new.client_id, outcome, now_ms, "replace")
            self._apply(
                self.ledger.on_replace_outcome(request.client_id, request.new.client_id, outcome, now_ms)
            )
            refused += isinstance(outcome, Rejected)
        if refused:
            self._settle_soon()  # the old orders are suspect until the venue says where they are

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

    def _count(self, outcome: object) -> None:
        if isinstance(outcome, Rejected):
            self.stats.rejected += 1
            self.stats.reasons[outcome.reason] = self.stats.reasons.get(outcome.reason, 0) + 1
            log.warning("order rejected by %s: %s", self.venue.name, outcome.reason)
        elif isinstance(outcome, Unknown):
            self.stats.unknown += 1
            # Settle it soon rather than at the next scheduled reconciliation.
            self._settle_soon()
            log.warning(
                "order outcome unknown on %s (%s): left for reconciliation", self.venue.name, outcome.reason
            )
