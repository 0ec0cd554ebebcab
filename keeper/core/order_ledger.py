"""The order ledger: every order we sent, its state, our positions; the outcome policy lives here.

Pure. The quoting loop tells the ledger what it sent and what came back (send outcomes, stream events,
reconciliation snapshots and targeted order queries); the ledger answers which orders may be live (for
the order diff) and reports each change so the maker's risk gate can follow fills and closes.

Rules (NautilusTrader's outcome policy, docs/concepts/live.md):

- `Rejected` outcomes and `OrderRejected` events are the only way into REJECTED.
- An `Unknown` outcome makes the order UNKNOWN, and it stays UNKNOWN: it counts as possibly live (the
  diff may cancel it; the risk gate keeps it in flight) until a stream event, a snapshot or a targeted
  query settles it. A "not found" query is final only when the venue proves the request can no longer
  land (`NotFound.final`); then the order is REJECTED with that reason.
- Reconciliation: fills the stream missed are applied (de-duplicated by trade id); open orders the
  venue lists are live with the venue's remaining size; open orders we do not know are adopted
  (external, so the diff cancels or keeps them like any other); an order we think may be live but the
  venue does not list is queried before any terminal ruling; positions follow the venue where they
  differ from what the fills gave.
- A cancel whose outcome is unknown, or that the venue refused because the order is gone, leaves the
  order PENDING_CANCEL: gone-by-fill and gone-by-cancel look alike, so the fills decide.
- A refused replace leaves the old order in the state it had before, flagged `suspect`: the venue may
  not know it (a submit that timed out and never landed), so it is kept out of the order diff (no
  replace-refuse-replace livelock) and queried at the next reconciliation, listed or not.
- Plausibility of stream fills: a fill for an order we never sent, on the wrong side, beyond the order's
  size or through its limit price is held, not booked, until a snapshot's fills (the venue's own
  records) contain the same trade id; a held fill the venue's records do not confirm is discarded.
  Positions, and so hedges, never move on a held fill.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from keeper.core.order_diff import LiveOrder
from keeper.core.recent import RecentKeys
from keeper.core.venue import (
    Canceled,
    CancelOutcome,
    Executed,
    FundingPaid,
    NotFound,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReport,
    OrderRequest,
    OrderState,
    Rejected,
    Resting,
    SubmitOutcome,
    TimeInForce,
    Unknown,
    VenueEvent,
    VenueSnapshot,
)

ZERO = Decimal(0)
_LIVE_AT_VENUE = frozenset({OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED})


class TrackedOrder(msgspec.Struct, kw_only=True):
    """One order as the ledger knows it (mutable, owned by the ledger)."""

    request: OrderRequest
    state: OrderState
    sent_ms: int
    updated_ms: int
    venue_order_id: str | None = None
    filled: Decimal = ZERO
    remaining: Decimal = ZERO  # what may still rest: the venue's figure once it reported one
    reason: str = ""
    replaced_by: str | None = None
    cancel_sent_ms: int | None = None
    external: bool = False  # adopted from a snapshot: not sent by this process
    suspect: bool = False  # a replace of it was refused: query before trusting it again
    state_before_cancel: OrderState | None = None  # what a refused replace restores

    @property
    def client_id(self) -> str:
        return self.request.client_id


class OrderChange(msgspec.Struct, frozen=True, kw_only=True):
    """One change the ledger made: the new state and the size filled by this change (0 if none)."""

    client_id: str
    state: OrderState
    filled: Decimal = ZERO


class HeldFill(msgspec.Struct, frozen=True, kw_only=True):
    """A stream fill that does not fit what we sent, waiting for the venue's records."""

    fill: OrderFilled
    held_ms: int
    why: str


class ReconcileResult(msgspec.Struct, frozen=True, kw_only=True):
    changes: tuple[OrderChange, ...]
    to_query: tuple[str, ...]  # may be live, not listed open by the venue: ask before ruling
    adopted: tuple[str, ...]  # open at the venue, unknown to us
    position_corrections: tuple[tuple[str, Decimal, Decimal], ...]  # (market, ours, venue's)
    inferred_fills: int = 0
    confirmed_fills: tuple[OrderFilled, ...] = ()  # held fills the venue's records confirmed (now booked)
    discarded_fills: tuple[HeldFill, ...] = ()  # held fills the venue's records do not have


class OrderLedger:
    """Orders and positions of one venue account. Fill ids are remembered (bounded) for de-duplication."""

    def __init__(self, *, fill_memory: int = 10_000) -> None:
        self._orders: dict[str, TrackedOrder] = {}
        # The non-terminal ones (what every decision reads): a long run keeps thousands of closed orders
        # until they are pruned, and scanning those each decision would cost more than the decision.
        self._open: dict[str, TrackedOrder] = {}
        self._by_venue_id: dict[str, str] = {}
        self._positions: dict[str, Decimal] = {}
        self._seen_fills: RecentKeys[str] = RecentKeys(fill_memory)
        self.fees_paid = ZERO
        self.funding_received = ZERO
        self.unmatched_fills = 0  # fills of orders the ledger never knew (another process, a restart)
        self._held: dict[str, HeldFill] = {}  # trade id -> implausible stream fill awaiting confirmation
        # When the stream last booked a fill per market (our clock): a snapshot read before that may
        # not contain it, so its position is not used to correct ours.
        self._stream_fill_ms: dict[str, int] = {}

    # ---- queries ----

    def get(self, client_id: str) -> TrackedOrder | None:
        return self._orders.get(client_id)

    def by_venue_id(self, venue_order_id: str) -> TrackedOrder | None:
        client_id = self._by_venue_id.get(venue_order_id)
        return None if client_id is None else self._orders.get(client_id)

    def position(self, market: str) -> Decimal:
        return self._positions.get(market, ZERO)

    def orders(self, states: Iterable[OrderState] | None = None) -> list[TrackedOrder]:
        wanted = None if states is None else frozenset(states)
        return [o for o in self._orders.values() if wanted is None or o.state in wanted]

    def live_orders(self, market: str) -> list[LiveOrder]:
        """Orders that may rest on `market` now, at their remaining size: what the order diff works on.
        A PENDING_CANCEL order is left out (its cancel is on its way); reconciliation brings one back when
        the venue still lists it well after the cancel was sent."""
        return [
            LiveOrder(order_id=o.client_id, side=o.request.side, price=o.request.price, size=o.remaining)
            for o in self._open.values()
            if o.request.market == market
            and o.state.maybe_live
            and o.state is not OrderState.PENDING_CANCEL
            and not o.suspect
            and o.remaining > 0
        ]

    def exposure(self, market: str) -> list[LiveOrder]:
        """Every order that may still rest or fill on `market`, at its remaining size: what the risk
        gate counts (cancels in flight, unknown outcomes, suspects and adopted orders included)."""
        return [
            LiveOrder(order_id=o.client_id, side=o.request.side, price=o.request.price, size=o.remaining)
            for o in self._open.values()
            if o.request.market == market and o.state.maybe_live and o.remaining > 0
        ]

    def held_fills(self) -> list[HeldFill]:
        """Stream fills held for confirmation (not in any position)."""
        return list(self._held.values())

    def suspects(self) -> list[TrackedOrder]:
        """Orders whose replace the venue refused: each is queried at the next reconciliation."""
        return [o for o in self._open.values() if o.suspect and not o.state.terminal]

    def pending_cancels(self, market: str) -> list[TrackedOrder]:
        return [
            o
            for o in self._open.values()
            if o.request.market == market and o.state is OrderState.PENDING_CANCEL
        ]

    # ---- what we sent ----

    def submitted(self, request: OrderRequest, now_ms: int) -> None:
        if request.client_id in self._orders:
            raise ValueError(f"client id {request.client_id!r} already used")
        self._orders[request.client_id] = self._open[request.client_id] = TrackedOrder(
            request=request,
            state=OrderState.SUBMITTED,
            sent_ms=now_ms,
            updated_ms=now_ms,
            remaining=request.size,
        )

    def cancel_sent(self, client_id: str, now_ms: int) -> None:
        order = self._orders[client_id]
        if not order.state.terminal:
            if order.state is not OrderState.PENDING_CANCEL:
                order.state_before_cancel = order.state
            order.state = OrderState.PENDING_CANCEL
            order.cancel_sent_ms = now_ms
            order.updated_ms = now_ms

    def replace_sent(self, client_id: str, new: OrderRequest, now_ms: int) -> None:
        self.cancel_sent(client_id, now_ms)
        self._orders[client_id].replaced_by = new.client_id
        self.submitted(new, now_ms)

    # ---- what came back ----

    def on_submit_outcome(self, client_id: str, outcome: SubmitOutcome, now_ms: int) -> list[OrderChange]:
        order = self._orders[client_id]
        if order.state.terminal or (
            order.state is OrderState.PENDING_CANCEL and not isinstance(outcome, Rejected)
        ):
            # A stream event got here first (a fill, a cancel): it is newer than this reply. A cancel of
            # ours in flight is no news about the order, but a definitive reject still settles it.
            if isinstance(outcome, Resting | Executed):
                self._link(order, outcome.venue_order_id)
            return []
        if isinstance(outcome, Resting):
            self._link(order, outcome.venue_order_id)
            if order.state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
                return [self._move(order, OrderState.ACCEPTED, now_ms)]
            return []
        if isinstance(outcome, Executed):
            # The fills themselves arrive as events (they book the position); the reply already settles
            # the state: all filled, or an IOC whose remainder the venue cancelled, or a partial rest.
            self._link(order, outcome.venue_order_id)
            if outcome.filled_size >= order.request.size:
                return [self._move(order, OrderState.FILLED, now_ms)]
            if order.request.tif is TimeInForce.IOC:
                return [self._move(order, OrderState.CANCELED, now_ms, reason="ioc remainder")]
            order.remaining = min(order.remaining, order.request.size - outcome.filled_size)
            return [self._move(order, OrderState.PARTIALLY_FILLED, now_ms)]
        if isinstance(outcome, Rejected):
            return [self._move(order, OrderState.REJECTED, now_ms, reason=outcome.reason)]
        assert isinstance(outcome, Unknown)
        if order.state not in (OrderState.SUBMITTED, OrderState.UNKNOWN):
            return []  # an accept or a fill already proved the order reached the venue
        return [self._move(order, OrderState.UNKNOWN, now_ms, reason=outcome.reason)]

    def on_cancel_outcome(self, client_id: str, outcome: CancelOutcome, now_ms: int) -> list[OrderChange]:
        order = self._orders[client_id]
        if order.state.terminal:
            return []
        if isinstance(outcome, Canceled):
            return [self._close(order, now_ms, "canceled")]
        # Rejected ("never placed, already canceled, or filled") or Unknown: the fills decide.
        order.reason = outcome.reason
        return []

    def on_replace_outcome(
        self, client_id: str, new_client_id: str, outcome: SubmitOutcome, now_ms: int
    ) -> list[OrderChange]:
        old = self._orders[client_id]
        changes = self.on_submit_outcome(new_client_id, outcome, now_ms)
        if isinstance(outcome, Resting | Executed) and not old.state.terminal:
            changes.append(self._close(old, now_ms, "replaced"))
        elif isinstance(outcome, Rejected) and old.state is OrderState.PENDING_CANCEL:
            # The modify did not happen: the old order is as it was before the replace. It may be gone
            # (or never have landed), so it is queried before the diff may touch it again; its cancel
            # time stays, so it keeps ageing towards the query instead of looking freshly sent.
            before = old.state_before_cancel
            if before is None or before in (OrderState.PENDING_CANCEL, OrderState.SUBMITTED):
                before = OrderState.PARTIALLY_FILLED if old.filled > 0 else OrderState.ACCEPTED
            changes.append(self._move(old, before, now_ms))
            old.replaced_by = None
            old.suspect = True
        return changes

    def on_event(self, event: VenueEvent, now_ms: int) -> list[OrderChange]:
        if isinstance(event, OrderFilled):
            if event.trade_id in self._seen_fills or event.trade_id in self._held:
                return []
            why = self._implausible(event)
            if why is not None:
                self._held[event.trade_id] = HeldFill(fill=event, held_ms=now_ms, why=why)
                return []
            self._stream_fill_ms[event.market] = now_ms
            return self._fill(event, now_ms)
        if isinstance(event, OrderAccepted):
            order = self._find(event.client_id, event.venue_order_id)
            if order is None:
                return []
            self._link(order, event.venue_order_id)
            if order.state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
                return [self._move(order, OrderState.ACCEPTED, now_ms)]
            return []
        if isinstance(event, OrderCanceled):
            order = self._find(event.client_id, event.venue_order_id)
            if order is None or order.state.terminal:
                return []
            return [self._close(order, now_ms, event.reason)]
        if isinstance(event, OrderRejected):
            order = self._find(event.client_id, event.venue_order_id)
            if order is None or order.state.terminal:
                return []
            return [self._move(order, OrderState.REJECTED, now_ms, reason=event.reason)]
        if isinstance(event, FundingPaid):
            self.funding_received += event.amount
        return []

    # ---- reconciliation ----

    def reconcile(self, snapshot: VenueSnapshot, now_ms: int, *, grace_ms: int = 2_000) -> ReconcileResult:
        """Bring the ledger in line with the venue's `snapshot`. Orders sent less than `grace_ms` before the
        snapshot are left alone (the venue may not list them yet); a position the stream changed after the
        snapshot was read is not corrected by it (the next snapshot contains that fill)."""
        changes: list[OrderChange] = []
        inferred = 0
        confirmed: list[OrderFilled] = []
        for fill in sorted(snapshot.fills, key=lambda f: f.ts_ms):
            if fill.trade_id not in self._seen_fills:
                if self._held.pop(fill.trade_id, None) is not None:
                    confirmed.append(fill)  # the venue's record, not the stream's copy, is booked
                else:
                    inferred += 1
                changes.extend(self._fill(fill, now_ms))
        # Held before this snapshot was read (with the grace for the venue's own lag) and not in it:
        # the venue has no such trade.
        discarded = [h for h in self._held.values() if h.held_ms < snapshot.ts_ms - grace_ms]
        for held in discarded:
            del self._held[held.fill.trade_id]
        listed: set[str] = set()
        adopted: list[str] = []
        for report in snapshot.open_orders:
            order = self._find(report.client_id, report.venue_order_id)
            if order is None:
                order = self._adopt(report, now_ms)
                adopted.append(order.client_id)
            listed.add(order.client_id)
            self._link(order, report.venue_order_id)
            if order.state.terminal:
                continue  # a snapshot older than the close: terminal stays terminal, remaining 0
            order.remaining = report.size
            stale_cancel = (
                order.state is OrderState.PENDING_CANCEL
                and order.cancel_sent_ms is not None
                and order.cancel_sent_ms < snapshot.ts_ms - grace_ms
            )
            if order.state in (OrderState.SUBMITTED, OrderState.UNKNOWN) or stale_cancel:
                # Live at the venue: a stale cancel evidently missed, so the diff may cancel it again.
                state = (
                    OrderState.PARTIALLY_FILLED if report.size < report.original_size else OrderState.ACCEPTED
                )
                changes.append(self._move(order, state, now_ms))
        for client_id in listed:
            self._orders[client_id].suspect = False  # the venue lists it: it is live, trust it again
        to_query = [
            o.client_id
            for o in self._open.values()
            if not o.state.terminal
            and o.client_id not in listed
            and (o.suspect or max(o.sent_ms, o.cancel_sent_ms or 0) < snapshot.ts_ms - grace_ms)
        ]
        corrections: list[tuple[str, Decimal, Decimal]] = []
        markets = {p.market for p in snapshot.positions} | set(self._positions)
        for market in sorted(markets):
            venue_position = snapshot.position(market)
            ours = self.position(market)
            if ours != venue_position and self._stream_fill_ms.get(market, -1) < snapshot.ts_ms:
                corrections.append((market, ours, venue_position))
                self._positions[market] = venue_position
        return ReconcileResult(
            changes=tuple(changes),
            to_query=tuple(to_query),
            adopted=tuple(adopted),
            position_corrections=tuple(corrections),
            inferred_fills=inferred,
            confirmed_fills=tuple(confirmed),
            discarded_fills=tuple(discarded),
        )

    def resolve(self, client_id: str, answer: OrderReport | NotFound, now_ms: int) -> list[OrderChange]:
        """Apply a targeted query's answer to an order the snapshot did not list."""
        order = self._orders[client_id]
        if order.state.terminal:
            return []
        if isinstance(answer, NotFound):
            if not answer.final:
                return []  # the request may still land: stays as it is (and suspect, if it was)
            if order.state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
                return [self._move(order, OrderState.REJECTED, now_ms, reason="never reached the venue")]
            return [self._close(order, now_ms, "not found at the venue")]
        self._link(order, answer.venue_order_id)
        order.suspect = False
        if answer.state.terminal:
            filled_at_venue = answer.original_size - answer.size
            if answer.state is OrderState.FILLED or filled_at_venue >= order.request.size:
                return [self._move(order, OrderState.FILLED, now_ms)]
            return [self._move(order, answer.state, now_ms, reason="closed at the venue")]
        order.remaining = answer.size
        if order.state in (OrderState.SUBMITTED, OrderState.UNKNOWN):
            return [self._move(order, OrderState.ACCEPTED, now_ms)]
        return []

    def prune(self, before_ms: int) -> int:
        """Forget terminal orders last updated before `before_ms` (bounded memory in a long run)."""
        gone = [o for o in self._orders.values() if o.state.terminal and o.updated_ms < before_ms]
        for order in gone:
            del self._orders[order.client_id]
            if (
                order.venue_order_id is not None
                and self._by_venue_id.get(order.venue_order_id) == order.client_id
            ):
                del self._by_venue_id[order.venue_order_id]
        return len(gone)

    # ---- internals ----

    def _implausible(self, fill: OrderFilled) -> str | None:
        """Why a stream fill does not fit what we sent (None: it fits and may be booked now)."""
        order = self._find(fill.client_id, fill.venue_order_id)
        if order is None:
            return "no order of ours"
        request = order.request
        if fill.size <= 0 or fill.price <= 0 or not fill.size.is_finite() or not fill.price.is_finite():
            return f"size {fill.size} at {fill.price}"
        if fill.market != request.market or fill.side is not request.side:
            return f"{fill.side.value} {fill.market} fill of a {request.side.value} {request.market} order"
        if order.filled + fill.size > request.size:
            return f"fill of {fill.size} on {request.size} with {order.filled} already filled"
        if fill.side.sign * (fill.price - request.price) > 0:
            return f"price {fill.price} through the limit {request.price}"
        return None

    def _find(self, client_id: str | None, venue_order_id: str | None) -> TrackedOrder | None:
        if client_id is not None and client_id in self._orders:
            return self._orders[client_id]
        if venue_order_id is not None:
            return self.by_venue_id(venue_order_id)
        return None

    def _link(self, order: TrackedOrder, venue_order_id: str) -> None:
        if order.venue_order_id != venue_order_id:
            # A modify keeps the client id under a new venue id on some venues: the newest wins.
            order.venue_order_id = venue_order_id
            self._by_venue_id[venue_order_id] = order.client_id

    def _move(self, order: TrackedOrder, state: OrderState, now_ms: int, *, reason: str = "") -> OrderChange:
        order.state = state
        if state.terminal:
            self._open.pop(order.client_id, None)
        order.updated_ms = now_ms
        if reason:
            order.reason = reason
        if state.terminal:
            order.remaining = ZERO
        return OrderChange(client_id=order.client_id, state=state)

    def _close(self, order: TrackedOrder, now_ms: int, reason: str) -> OrderChange:
        state = OrderState.FILLED if order.filled >= order.request.size else OrderState.CANCELED
        return self._move(order, state, now_ms, reason=reason)

    def _adopt(self, report: OrderReport, now_ms: int) -> TrackedOrder:
        # _find matched our own ids first: a client id here is from another process (a restart).
        client_id = report.client_id if report.client_id is not None else f"x{report.venue_order_id}"
        request = OrderRequest(
            client_id=client_id,
            market=report.market,
            side=report.side,
            price=report.price,
            size=report.original_size,
        )
        order = TrackedOrder(
            request=request,
            state=OrderState.PARTIALLY_FILLED if report.size < report.original_size else OrderState.ACCEPTED,
            sent_ms=report.ts_ms,
            updated_ms=now_ms,
            filled=report.original_size - report.size,
            remaining=report.size,
            external=True,
        )
        self._orders[client_id] = order
        if not order.state.terminal:
            self._open[client_id] = order
        self._link(order, report.venue_order_id)
        return order

    def _fill(self, fill: OrderFilled, now_ms: int) -> list[OrderChange]:
        if not self._seen_fills.add(fill.trade_id):
            return []
        self._positions[fill.market] = self.position(fill.market) + fill.side.sign * fill.size
        self.fees_paid += fill.fee
        order = self._find(fill.client_id, fill.venue_order_id)
        if order is None:
            self.unmatched_fills += 1
            return []
        self._link(order, fill.venue_order_id)
        order.filled += fill.size
        # `remaining` may be the venue's figure (an Executed reply, a snapshot) that already counts this
        # fill: cap it by what the fills leave instead of subtracting twice.
        order.remaining = max(ZERO, min(order.remaining, order.request.size - order.filled))
        order.updated_ms = now_ms
        if order.filled >= order.request.size:
            order.state = OrderState.FILLED
            self._open.pop(order.client_id, None)
            order.remaining = ZERO
        elif order.state in (OrderState.SUBMITTED, OrderState.UNKNOWN, OrderState.ACCEPTED):
            order.state = OrderState.PARTIALLY_FILLED
        return [OrderChange(client_id=order.client_id, state=order.state, filled=fill.size)]
