"""The live quoting loop: venue events → market state and order ledger → `MarketMaker.decide` → sends.

Venue-agnostic: it speaks the `keeper.core.venue.Venue` interface, so the API venue and the contract
venue run the same loop, and the decision step is the one the simulator runs.

One cycle (every `requote_interval_s`, or at once when the mid jumps past the maker's trigger):

1. build the `MarketView` from the latest valid book top and market context; their receive times feed
   the gate's stale-data rule (staleness by content: a socket that is open but silent goes stale);
   τ is the venue's observed settlement delay; conditions measured here (clock skew against the venue,
   another process trading the account) go in as halts;
2. `decide` with the ledger's possibly-live orders (UNKNOWN ones included: worst case) and position;
3. send the decision (`Sender`): each batch's cancels, then replaces, then places, then the IOC takes.

Fail-safe rules: a bad event is counted and skipped; a decision that raises cancels every quote (and
after `max_step_failures` in a row quoting stops); a task that dies stops quoting. Whatever the way
out, `run` cancels everything that may rest, and only when the venue then lists nothing of ours on
the market does it allow the venue to clear its dead-man switch: otherwise the switch stays armed and
fires on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

import msgspec

from keeper.app._journal import Journal
from keeper.app._quoting_state import MarketState, QuotingSettings, QuotingStats
from keeper.app._quoting_watch import Watchdogs
from keeper.app._sends import Sender
from keeper.core.order_ledger import OrderChange, OrderLedger
from keeper.core.quote import GasInput
from keeper.core.strategy import MakerDecision, MarketMaker, MarketView
from keeper.core.trading import TradingCore
from keeper.core.venue import (
    BookTop,
    FundingPaid,
    MarketContext,
    OrderFilled,
    OrderState,
    PositionReport,
    StreamGap,
    Venue,
    VenueEvent,
)

log = logging.getLogger("keeper.quoting")
CANCEL_ROUNDS = 3  # cancel-all and check rounds at shutdown before leaving it to the dead-man switch


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
        journal: Journal | None = None,
    ) -> None:
        self.venue = venue
        self.settings = settings
        # The trading core decides and books; this loop is the I/O around it.
        self.core = TradingCore(maker, settings.market, ledger)
        self.maker = maker
        self.ledger = self.core.ledger
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
        # Measured conditions that halt (clock skew, another process), the silent-feed reconnect.
        self.watch = Watchdogs(venue, self.stats, started_ms=self._now_ms())
        self.flat_confirmed = False  # set by `run` when the venue listed nothing of ours after cancels
        self.journal = journal
        self._resume_polled_s = -math.inf
        self._reconciled_s = -math.inf  # monotonic start of the last reconciliation (pacing only)
        self._venue_position: PositionReport | None = None  # the last snapshot's, for entry and liq
        self._margin_used = 0.0
        self.sender = Sender(
            venue,
            self.core,
            self.stats,
            now_ms=self._now_ms,
            on_changes=self._changed,
            settle_soon=self._settle_soon,
            journal=journal,
        )

    # ---- lifecycle ----

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile, then consume events, decide and reconcile until `stop` is set or a task dies.

        On the way out, by any path: cancel everything that may rest; the venue may clear its dead-man
        switch only when it then lists nothing of ours. A task's failure is raised after that."""
        tasks: list[asyncio.Task[None]] = []
        failure: BaseException | None = None
        try:
            if self.journal is not None:
                self.journal.restore(self.maker, self._now_ms())
            await self.reconcile()
            tasks = [
                asyncio.create_task(self._consume(), name="quoting-events"),
                asyncio.create_task(self._decide_loop(), name="quoting-decide"),
                asyncio.create_task(self._reconcile_loop(), name="quoting-reconcile"),
                asyncio.create_task(self._status_loop(), name="quoting-status"),
                asyncio.create_task(stop.wait(), name="quoting-stop"),  # type: ignore[arg-type]
            ]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                    failure = error
                    log.error(
                        "quoting task %s failed (%r): stopping quoting with cancels", task.get_name(), error
                    )
                    break
            else:
                if not stop.is_set():
                    failure = RuntimeError("a quoting task ended on its own")
        except (
            Exception
        ) as exc:  # the start-up reconciliation: nothing quoted yet, but adopted orders may rest
            failure = exc
            log.error("quoting could not start (%r): cancelling what may rest", exc)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # never raises: a failure is in hand
            if self.settings.cancel_on_stop or failure is not None:
                self.flat_confirmed = await self.cancel_everything()
                if self.flat_confirmed:
                    self.venue.allow_disarm()
        if failure is not None:
            raise failure

    async def cancel_everything(self) -> bool:
        """Cancel every order that may rest (ours by id, then the account's by venue listing) and check.

        Returns True only when a snapshot read after the cancels lists no open order on the market;
        never raises (a failure is logged and counts as not confirmed)."""
        market = self.settings.market
        for attempt in range(1, CANCEL_ROUNDS + 1):
            try:
                send = self.core.cancel_all_plan(self._now_ms())
                if send is not None:
                    log.info("cancelling %d order(s) that may rest on %s", len(send.cancels), self.venue.name)
                    await self.sender.execute(send)
                await self.venue.cancel_all(market)
                snapshot = await self.venue.snapshot()
            except Exception:
                self.stats.send_errors += 1
                log.exception("cancelling on %s failed (round %d)", self.venue.name, attempt)
                await asyncio.sleep(0.2 * attempt)
                continue
            left = [o for o in snapshot.open_orders if o.market == market]
            if not left:
                return True
            log.warning("%d order(s) still rest on %s after round %d", len(left), market, attempt)
            await asyncio.sleep(0.2 * attempt)
        log.error("could not confirm %s flat on %s: the dead-man switch stays armed", market, self.venue.name)
        return False

    # ---- events ----

    async def _consume(self) -> None:
        async for event in self.venue.events():
            try:
                self.on_event(event)
            except Exception:  # one bad event must not end the stream: counted, skipped
                self.stats.event_errors += 1
                if self.watch.once_a_minute(f"event:{type(event).__name__}", self._now_s()):
                    log.exception("handling %s raised; skipped", type(event).__name__)

    def on_event(self, event: VenueEvent) -> None:
        now = self._now_s()
        if isinstance(event, BookTop):
            if event.market == self.settings.market:
                self._refused(self.market.take_book(event.bid, event.ask, now))
                self._observe_mid(now)
            return
        if isinstance(event, MarketContext):
            if event.market == self.settings.market:
                taken = self.market.take_context(
                    event.mark, event.oracle, event.funding_rate, event.next_funding_ms, now
                )
                self._refused(taken)
            return
        if isinstance(event, StreamGap):
            self.stats.stream_gaps += 1
            log.warning("%s stream gap (%s): reconciling", self.venue.name, event.reason)
            self._reconcile_now.set()
            return
        held_before = len(self.ledger.held_fills())
        self._changed(self.core.on_event(event, self._now_ms()))
        if isinstance(event, OrderFilled):
            if len(self.ledger.held_fills()) > held_before:
                self.stats.held_fills += 1
                why = self.ledger.held_fills()[-1].why
                log.warning(
                    "fill %s (%s %s @ %s) held: %s; asking the venue's records",
                    event.trade_id,
                    event.side.value,
                    event.size,
                    event.price,
                    why,
                )
                self._settle_soon()
                return
            self.stats.fills += 1
            self.stats.filled_size += event.size
            if self.journal is not None:
                self.journal.fill(event)
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
            if self.journal is not None:
                self.journal.funding(event)

    def _refused(self, why: str | None) -> None:
        if why is None:
            return
        self.stats.bad_market_data += 1
        if self.watch.once_a_minute("market-data", self._now_s()):
            log.warning("market data refused (%d so far): %s", self.stats.bad_market_data, why)

    def _observe_mid(self, now: float) -> None:
        mid = self.market.mid
        if mid is None:
            return
        self.maker.observe_mid(mid, now)
        if self.maker.wants_to_react(mid):
            self._wake.set()

    def _changed(self, changes: Sequence[OrderChange]) -> None:
        """Ledger changes (the core has fed them to the risk gate) into the store."""
        if self.journal is not None and changes:
            self.journal.changes(changes, self._now_ms())

    # ---- decisions ----

    async def _decide_loop(self) -> None:
        failures = 0
        while True:
            await _wait_or_timeout(self._wake, self.settings.requote_interval_s)
            try:
                await self.step()
                failures = 0
            except Exception:
                failures += 1
                self.stats.step_errors += 1
                log.exception("decision %d in a row raised: cancelling every quote", failures)
                await self.cancel_everything()
                if failures >= self.settings.max_step_failures:
                    raise

    def view(self) -> MarketView | None:
        """The maker's view now, or None until a valid mid arrived."""
        mid = self.market.mid
        if mid is None:
            return None
        now = self._now_s()
        interval = self._spec.funding_interval_s
        next_ms = self.market.next_funding_ms
        next_s = (math.floor(now / interval) + 1) * interval if next_ms is None else next_ms / 1000.0
        # The venue's entry and liquidation price hold while its position is on our side (the stream
        # may have moved ours since the snapshot: a flip or a flat position makes them moot).
        report = self._venue_position
        ours = self.ledger.position(self.settings.market)
        if report is not None and (ours == 0 or (report.size > 0) != (ours > 0)):
            report = None
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
            market_data_s=self.market.market_data_s,
            oracle_s=self.market.context_s,
            halts=tuple(self.watch.halts),
            entry_price=_float(report.entry_price) if report is not None else None,
            liquidation_price=_float(report.liquidation_price) if report is not None else None,
            margin_used=self._margin_used,
        )

    async def step(self) -> MakerDecision | None:
        """One decision and its sends. Returns the decision (None: no valid market data yet)."""
        async with self._decide_lock:
            # The venue's settlement model (τ as observed) and price step, read once per decision.
            self.maker.settlement = self.venue.settlement_model()
            self._follow_tick()
            self.watch.feed(self._now_s(), self.market.market_data_s, self.settings)
            self.watch.clock(self.settings)
            self._poll_resume()
            view = self.view()
            if view is None or self._equity is None:
                return None  # no valid mid, or no snapshot yet: nothing to measure drawdown against
            now_ms = self._now_ms()
            plan = self.core.decide(view, self._equity_now(view), now_ms)
            decision = plan.decision
            self.sender.recorded(plan.sends, now_ms)
            self.stats.decisions += 1
            self.stats.denied += decision.denied
            if self.journal is not None:
                self.journal.after_decision(self.maker, self._now_ms())
            if decision.state.value != self.stats.last_state:
                reasons = ", ".join(r.value for r in self.maker.gate.assessment.reasons) or "limits clear"
                log.warning(
                    "trading state %s -> %s (%s)", self.stats.last_state, decision.state.value, reasons
                )
                self.stats.last_state = decision.state.value
            for send in plan.sends:
                await self.sender.execute(send)
            return decision

    def _poll_resume(self) -> None:
        """At most once a second: apply a `keeper resume` another process recorded in the store."""
        now = self._now_s()
        if self.journal is not None and now - self._resume_polled_s >= 1.0:
            self._resume_polled_s = now
            self.journal.poll_resume(self.maker, self._now_ms())

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

    # ---- reconciliation ----

    def _settle_soon(self) -> None:
        """Reconcile once the grace has passed: the snapshot (or a targeted query) can tell by then."""
        delay_s = self.settings.reconcile_grace_ms / 1000.0 + 0.1
        asyncio.get_running_loop().call_later(delay_s, self._reconcile_now.set)

    async def _reconcile_loop(self) -> None:
        while True:
            await _wait_or_timeout(self._reconcile_now, self.settings.reconcile_interval_s)
            # Triggers (unknown outcomes, refused replaces, held fills, gaps) coalesce: a snapshot is
            # the costliest read (Hyperliquid: ~42 of 1,200 weight a minute), so at most one per gap.
            await asyncio.sleep(
                max(0.0, self._reconciled_s + self.settings.min_reconcile_gap_s - time.monotonic())
            )
            self._reconcile_now.clear()
            self._reconciled_s = time.monotonic()
            try:
                await self.reconcile()
            except Exception:
                # A failed read leaves the ledger as it was (unknowns stay unknown); try again next time.
                if self.watch.once_a_minute("reconcile", self._now_s()):
                    log.exception("reconciliation with %s failed", self.venue.name)

    async def reconcile(self) -> None:
        snapshot = await self.venue.snapshot()
        now_ms = self._now_ms()
        result = self.core.reconcile(snapshot, now_ms, grace_ms=self.settings.reconcile_grace_ms)
        if self.journal is not None:
            self.journal.snapshot(snapshot)
        self._changed(result.changes)
        self.stats.reconciliations += 1
        self.stats.inferred_fills += result.inferred_fills
        self.stats.adopted += len(result.adopted)
        self.stats.discarded_fills += len(result.discarded_fills)
        for fill in result.confirmed_fills:
            log.info("held fill %s confirmed by the venue's records: booked", fill.trade_id)
        for held in result.discarded_fills:
            log.warning("fill %s is not in the venue's records: discarded (%s)", held.fill.trade_id, held.why)
        for market, ours, theirs in result.position_corrections:
            self.stats.position_corrections += 1
            log.warning("position on %s: ledger %s, venue %s; taking the venue's", market, ours, theirs)
        if result.adopted:
            log.warning(
                "adopted %d open order(s) unknown to this process: %s", len(result.adopted), result.adopted
            )
            self.watch.adopted(self.ledger, result.adopted, self.settings)
        for client_id in result.to_query:
            order = self.ledger.get(client_id)
            if order is None:
                continue
            self.stats.queries += 1
            try:
                answer = await self.venue.order_status(client_id, order.request.market)
            except Exception as exc:  # one failed query must not hold up the others: it is asked again
                self.stats.query_errors += 1
                if self.watch.once_a_minute("order-status", self._now_s()):
                    log.warning("order status of %s on %s failed: %r", client_id, self.venue.name, exc)
                continue
            self._changed(self.core.resolve(client_id, answer, self._now_ms()))
        self._equity = float(snapshot.margin.equity)
        self._equity_mark = self.market.mid
        self._margin_used = float(snapshot.margin.margin_used)
        self._venue_position = next(
            (p for p in snapshot.positions if p.market == self.settings.market and p.size != 0), None
        )
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
        halts = "; ".join(self.watch.halts.values())
        return (
            f"{market} on {self.venue.name}: {s.last_state}, mid {'-' if mid is None else f'{mid:.10g}'}, "
            f"position {self.ledger.position(market)}, {len(self.ledger.live_orders(market))} live order(s), "
            f"{s.fills} fills ({s.filled_size}), {s.rejected} rejected, {self.unresolved()} unknown now, "
            f"{len(self.ledger.held_fills())} held fill(s), {s.bad_market_data} bad frames, "
            f"fees {self.ledger.fees_paid}, funding {self.ledger.funding_received}, "
            f"τ {self.venue.settlement_model().tau_s * 1000:.1f} ms, "
            f"stream {'up' if self.venue.stream_healthy() else 'DOWN'}"
            + (f", halts: {halts}" if halts else "")
        )

    def unresolved(self) -> int:
        """Orders whose outcome is still unknown (a metric: it should drain to 0 after a reconcile)."""
        return len(self.ledger.orders([OrderState.UNKNOWN]))

    def _now_ms(self) -> int:
        return int(self._now_s() * 1000)


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def _wait_or_timeout(event: asyncio.Event, timeout_s: float) -> None:
    """Until `event` is set or `timeout_s` passes, whichever is first; the event is cleared after."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()
    event.clear()


__all__ = ["MarketState", "QuotingLoop", "QuotingSettings", "QuotingStats"]
