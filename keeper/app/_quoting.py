"""The live quoting loop: venue events → market state and order ledger → `MarketMaker.decide` → sends.

Venue-agnostic: it speaks the `keeper.core.venue.Venue` interface, so the API venue and the contract
venue run the same loop, and the decision step is the one the simulator runs.

One cycle (every `requote_interval_s`, or at once when the mid jumps past the maker's trigger):

1. build the `MarketView` from the latest book top and market context (receive times feed the gate's
   stale-data rule; τ is the venue's observed settlement delay);
2. `decide` with the ledger's possibly-live orders (UNKNOWN ones included: worst case) and position;
3. send the decision: each batch's cancels, then replaces, then places, then the IOC takes; every
   request is in the ledger before it leaves, every outcome goes back into it.

Decisions never overlap (a cycle awaits its sends); events keep flowing in between. Reconciliation runs
every `reconcile_interval_s` and at once after a stream gap: snapshot → ledger → one targeted query
per order the venue did not list → equity for the risk gate. Ledger changes feed the gate's in-flight
book (fills and closes), so the gate never forgets an order the venue may still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import TypeVar

import msgspec

from keeper.app._quoting_state import MarketState, QuotingSettings, QuotingStats, latest
from keeper.core.order_diff import Cancel, Place, Replace, WireAction
from keeper.core.order_ledger import OrderChange, OrderLedger
from keeper.core.quote import GasInput
from keeper.core.strategy import MakerDecision, MarketMaker, MarketView, TakeOrder
from keeper.core.types import Side
from keeper.core.venue import (
    BookTop,
    CancelOutcome,
    CancelRequest,
    FundingPaid,
    MarketContext,
    OrderFilled,
    OrderRequest,
    OrderState,
    Rejected,
    ReplaceRequest,
    StreamGap,
    SubmitOutcome,
    TimeInForce,
    Unknown,
    Venue,
    VenueEvent,
)

log = logging.getLogger("keeper.quoting")
_Outcome = TypeVar("_Outcome", SubmitOutcome, CancelOutcome)


class QuotingLoop:
    """Runs one `MarketMaker` on one market of one venue until stopped."""

    def __init__(
        self,
        venue: Venue,
        maker: MarketMaker,
        settings: QuotingSettings,
        *,
        now_s: Callable[[], float] = time.time,
        gas: Callable[[], GasInput] = lambda: GasInput(0.0, 1.0),
        ledger: OrderLedger | None = None,
    ) -> None:
        self.venue = venue
        self.maker = maker
        self.settings = settings
        self.ledger = ledger if ledger is not None else OrderLedger()
        self.market = MarketState()
        self.stats = QuotingStats()
        self._now_s = now_s
        self._gas = gas
        self._spec = venue.market(settings.market)
        self._equity: float | None = None
        self._equity_mark: float | None = None  # the mark the equity figure was read at
        self._wake = asyncio.Event()
        self._reconcile_now = asyncio.Event()
        self._decide_lock = asyncio.Lock()

    # ---- lifecycle ----

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile once, then consume events, decide and reconcile until `stop` is set."""
        await self.reconcile()
        tasks = {
            asyncio.create_task(self._consume(), name="quoting-events"),
            asyncio.create_task(self._decide_loop(), name="quoting-decide"),
            asyncio.create_task(self._reconcile_loop(), name="quoting-reconcile"),
            asyncio.create_task(self._status_loop(), name="quoting-status"),
        }
        stopped = asyncio.create_task(stop.wait(), name="quoting-stop")
        everything: list[asyncio.Task[object]] = [*tasks, stopped]
        try:
            await asyncio.wait(everything, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                    raise error
        finally:
            for each in everything:
                each.cancel()
            for each in everything:
                with contextlib.suppress(asyncio.CancelledError):
                    await each
            if self.settings.cancel_on_stop:
                await self.cancel_everything()

    async def cancel_everything(self) -> None:
        """Cancel every order that may rest (ours by id, then the account's by venue listing)."""
        live = self.ledger.live_orders(self.settings.market)
        if live:
            log.info("cancelling %d order(s) that may rest on %s", len(live), self.venue.name)
            await self._send_cancels([Cancel(order_id=o.order_id, side=o.side) for o in live])
        try:
            await self.venue.cancel_all(self.settings.market)
        except Exception:
            self.stats.send_errors += 1
            log.exception("cancel_all on %s failed; orders may still rest", self.venue.name)

    # ---- events ----

    async def _consume(self) -> None:
        async for event in self.venue.events():
            self.on_event(event)

    def on_event(self, event: VenueEvent) -> None:
        now = self._now_s()
        if isinstance(event, BookTop):
            if event.market != self.settings.market:
                return
            self.market.bid = None if event.bid is None else float(event.bid)
            self.market.ask = None if event.ask is None else float(event.ask)
            self.market.book_s = now
            self._observe_mid(now)
            return
        if isinstance(event, MarketContext):
            if event.market != self.settings.market:
                return
            self.market.mark = float(event.mark)
            self.market.oracle = float(event.oracle)
            self.market.funding_rate = float(event.funding_rate)
            self.market.next_funding_ms = event.next_funding_ms
            self.market.context_s = now
            return
        if isinstance(event, StreamGap):
            self.stats.stream_gaps += 1
            log.warning("%s stream gap (%s): reconciling", self.venue.name, event.reason)
            self._reconcile_now.set()
            return
        if isinstance(event, OrderFilled):
            self.stats.fills += 1
            self.stats.filled_size += event.size
            log.info(
                "fill %s %s %s @ %s (%s, fee %s)",
                event.client_id or event.venue_order_id,
                event.side.value,
                event.size,
                event.price,
                "maker" if event.maker else "taker",
                event.fee,
            )
        elif isinstance(event, FundingPaid):
            log.info("funding %s on %s: %s", event.market, event.position, event.amount)
        self._apply(self.ledger.on_event(event, self._now_ms()))

    def _observe_mid(self, now: float) -> None:
        mid = self.market.mid
        if mid is None:
            return
        self.maker.observe_mid(mid, now)
        if self.maker.wants_to_react(mid):
            self._wake.set()

    def _apply(self, changes: Sequence[OrderChange]) -> None:
        """Ledger changes → the maker's risk gate (fills shrink in-flight exposure; closes free it)."""
        for change in changes:
            if change.filled > 0:
                self.maker.on_fill(change.client_id, change.filled)
            if change.state.terminal:
                self.maker.on_done(change.client_id)

    # ---- decisions ----

    async def _decide_loop(self) -> None:
        while True:
            await _wait_or_timeout(self._wake, self.settings.requote_interval_s)
            await self.step()

    def view(self) -> MarketView | None:
        """The maker's view now, or None until both a book and a context arrived."""
        mid = self.market.mid
        if mid is None:
            return None
        now = self._now_s()
        interval = self._spec.funding_interval_s
        next_ms = self.market.next_funding_ms
        next_s = (math.floor(now / interval) + 1) * interval if next_ms is None else next_ms / 1000.0
        return MarketView(
            now_s=now,
            mid=mid,
            best_bid=self.market.bid,
            best_ask=self.market.ask,
            oracle_price=self.market.oracle,
            funding_rate=self.market.funding_rate,
            time_to_funding_s=max(0.0, next_s - now),
            funding_interval_s=interval,
            gas=self._gas(),  # τ: the maker's settlement model, refreshed from the venue each step
            market_data_s=self._current_as_of(now, latest(self.market.book_s, self.market.context_s)),
            oracle_s=self._current_as_of(now, self.market.context_s),
        )

    async def step(self) -> MakerDecision | None:
        """One decision and its sends. Returns the decision (None: no market data yet)."""
        async with self._decide_lock:
            # The venue's settlement model (τ as observed) and price step, read once per decision.
            self.maker.settlement = self.venue.settlement_model()
            self._follow_tick()
            view = self.view()
            if view is None:
                return None
            market = self.settings.market
            position = float(self.ledger.position(market))
            decision = self.maker.decide(
                view, self.ledger.live_orders(market), position, self._equity_now(view)
            )
            self.stats.decisions += 1
            self.stats.denied += decision.denied
            if decision.state.value != self.stats.last_state:
                reasons = ", ".join(r.value for r in self.maker.gate.assessment.reasons) or "limits clear"
                log.warning(
                    "trading state %s -> %s (%s)", self.stats.last_state, decision.state.value, reasons
                )
                self.stats.last_state = decision.state.value
            for batch in decision.batches:
                await self._send_batch(batch)
            if decision.takes:
                await self._send_takes(decision.takes)
            return decision

    def _current_as_of(self, now: float, received_s: float | None) -> float | None:
        """When data received at `received_s` was last known current: now while the venue's stream is
        healthy (the venue pushes every change; a quiet book or oracle sends nothing new), else then."""
        if received_s is not None and self.venue.stream_healthy():
            return now
        return received_s

    def _follow_tick(self) -> None:
        """Quote on the venue's current price step (on Hyperliquid it changes across powers of ten)."""
        spec = self.venue.market(self.settings.market)
        quote = self.maker.params.quote
        if spec.tick != quote.tick or spec.lot != quote.lot:
            log.info("%s price step %s -> %s, lot %s", spec.market, quote.tick, spec.tick, spec.lot)
            self.maker.params = msgspec.structs.replace(
                self.maker.params, quote=msgspec.structs.replace(quote, tick=spec.tick, lot=spec.lot)
            )

    def _equity_now(self, view: MarketView) -> float:
        """Venue equity from the last snapshot, marked to the current mid (the gate's drawdown input)."""
        if self._equity is None:
            return 0.0  # no snapshot yet: the gate sees no equity and stays out of the market
        move = 0.0 if self._equity_mark is None else view.mid - self._equity_mark
        return self._equity + float(self.ledger.position(self.settings.market)) * move

    async def _send_batch(self, batch: Sequence[WireAction]) -> None:
        cancels = [a for a in batch if isinstance(a, Cancel)]
        replaces = [a for a in batch if isinstance(a, Replace)]
        places = [a for a in batch if isinstance(a, Place)]
        if cancels:
            await self._send_cancels(cancels)
        if replaces:
            await self._send_replaces(replaces)
        if places:
            requests = [
                self._request(p.order_id, p.side, p.price, p.size, TimeInForce.POST_ONLY) for p in places
            ]
            await self._send_orders(requests)

    def _request(
        self, client_id: str | None, side: Side, price: Decimal, size: Decimal, tif: TimeInForce
    ) -> OrderRequest:
        if client_id is None:
            raise ValueError("the maker assigns every created order an id")
        return OrderRequest(
            client_id=client_id, market=self.settings.market, side=side, price=price, size=size, tif=tif
        )

    async def _send_orders(self, requests: Sequence[OrderRequest]) -> None:
        now_ms = self._now_ms()
        for request in requests:
            self.ledger.submitted(request, now_ms)
        outcomes = await self._guarded("submit", self.venue.submit(requests), len(requests))
        now_ms = self._now_ms()
        for request, outcome in zip(requests, outcomes, strict=True):
            self._count(outcome)
            self._apply(self.ledger.on_submit_outcome(request.client_id, outcome, now_ms))

    async def _send_cancels(self, cancels: Sequence[Cancel]) -> None:
        now_ms = self._now_ms()
        requests = []
        for cancel in cancels:
            order = self.ledger.get(cancel.order_id)
            if order is None:
                continue
            self.ledger.cancel_sent(cancel.order_id, now_ms)
            requests.append(
                CancelRequest(
                    client_id=cancel.order_id,
                    market=self.settings.market,
                    venue_order_id=order.venue_order_id,
                )
            )
        if not requests:
            return
        outcomes = await self._guarded("cancel", self.venue.cancel(requests), len(requests))
        now_ms = self._now_ms()
        for request, outcome in zip(requests, outcomes, strict=True):
            self._apply(self.ledger.on_cancel_outcome(request.client_id, outcome, now_ms))

    async def _send_replaces(self, replaces: Sequence[Replace]) -> None:
        now_ms = self._now_ms()
        requests = []
        for replace in replaces:
            new = self._request(
                replace.new_order_id, replace.side, replace.price, replace.size, TimeInForce.POST_ONLY
            )
            old = self.ledger.get(replace.order_id)
            self.ledger.replace_sent(replace.order_id, new, now_ms)
            venue_id = None if old is None else old.venue_order_id
            requests.append(ReplaceRequest(client_id=replace.order_id, new=new, venue_order_id=venue_id))
        outcomes = await self._guarded("replace", self.venue.replace(requests), len(requests))
        now_ms = self._now_ms()
        for request, outcome in zip(requests, outcomes, strict=True):
            self._count(outcome)
            self._apply(
                self.ledger.on_replace_outcome(request.client_id, request.new.client_id, outcome, now_ms)
            )

    async def _guarded(self, what: str, send: Awaitable[list[_Outcome]], n: int) -> list[_Outcome | Unknown]:
        """Await a send; an exception is an adapter bug, not a venue answer: every outcome is unknown."""
        self.stats.sent += n
        try:
            return list(await send)
        except Exception as exc:
            self.stats.send_errors += 1
            log.exception("%s on %s raised", what, self.venue.name)
            return [Unknown(reason=f"adapter error: {exc!r}")] * n

    async def _send_takes(self, takes: Sequence[TakeOrder]) -> None:
        requests = [self._request(t.order_id, t.side, t.limit_price, t.size, TimeInForce.IOC) for t in takes]
        for take in takes:
            log.info("%s take: %s %s limit %s", take.reason, take.side.value, take.size, take.limit_price)
        await self._send_orders(requests)

    def _count(self, outcome: object) -> None:
        if isinstance(outcome, Rejected):
            self.stats.rejected += 1
            self.stats.reasons[outcome.reason] = self.stats.reasons.get(outcome.reason, 0) + 1
            log.warning("order rejected by %s: %s", self.venue.name, outcome.reason)
        elif isinstance(outcome, Unknown):
            self.stats.unknown += 1
            # Settle it soon rather than at the next scheduled reconciliation: once the grace has passed
            # the snapshot (or a targeted query) can tell.
            delay_s = self.settings.reconcile_grace_ms / 1000.0 + 0.1
            asyncio.get_running_loop().call_later(delay_s, self._reconcile_now.set)
            log.warning(
                "order outcome unknown on %s (%s): left for reconciliation", self.venue.name, outcome.reason
            )

    # ---- reconciliation ----

    async def _reconcile_loop(self) -> None:
        while True:
            await _wait_or_timeout(self._reconcile_now, self.settings.reconcile_interval_s)
            try:
                await self.reconcile()
            except Exception:
                # A failed read leaves the ledger as it was (unknowns stay unknown); try again next time.
                log.exception("reconciliation with %s failed", self.venue.name)

    async def reconcile(self) -> None:
        snapshot = await self.venue.snapshot()
        now_ms = self._now_ms()
        result = self.ledger.reconcile(snapshot, now_ms, grace_ms=self.settings.reconcile_grace_ms)
        self._apply(result.changes)
        self.stats.reconciliations += 1
        self.stats.inferred_fills += result.inferred_fills
        self.stats.adopted += len(result.adopted)
        for market, ours, theirs in result.position_corrections:
            self.stats.position_corrections += 1
            log.warning("position on %s: ledger %s, venue %s; taking the venue's", market, ours, theirs)
        if result.adopted:
            log.warning(
                "adopted %d open order(s) unknown to this process: %s", len(result.adopted), result.adopted
            )
        for client_id in result.to_query:
            order = self.ledger.get(client_id)
            if order is None:
                continue
            self.stats.queries += 1
            answer = await self.venue.order_status(client_id, order.request.market)
            self._apply(self.ledger.resolve(client_id, answer, self._now_ms()))
        self._equity = float(snapshot.margin.equity)
        self._equity_mark = self.market.mid
        self.ledger.prune(now_ms - int(self.settings.prune_after_s * 1000))

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.status_interval_s)
            log.info("%s", self.status_line())

    def status_line(self) -> str:
        """State, position, resting orders, fills, unknowns and τ in one line."""
        market = self.settings.market
        s = self.stats
        mid = self.market.mid
        return (
            f"{market} on {self.venue.name}: {s.last_state}, mid {mid if mid is not None else '-'}, "
            f"position {self.ledger.position(market)}, {len(self.ledger.live_orders(market))} live order(s), "
            f"{s.fills} fills ({s.filled_size}), {s.rejected} rejected, {self.unresolved()} unknown now, "
            f"fees {self.ledger.fees_paid}, funding {self.ledger.funding_received}, "
            f"τ {self.venue.settlement_model().tau_s * 1000:.1f} ms, "
            f"stream {'up' if self.venue.stream_healthy() else 'DOWN'}"
        )

    def unresolved(self) -> int:
        """Orders whose outcome is still unknown (a metric: it should drain to 0 after a reconcile)."""
        return len(self.ledger.orders([OrderState.UNKNOWN]))

    def _now_ms(self) -> int:
        return int(self._now_s() * 1000)


async def _wait_or_timeout(event: asyncio.Event, timeout_s: float) -> None:
    """Until `event` is set or `timeout_s` passes, whichever is first; the event is cleared after."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    event.clear()


__all__ = ["MarketState", "QuotingLoop", "QuotingSettings", "QuotingStats"]
