"""The trading core: one market maker and the order ledger of one venue account. Pure.

Both the live quoting loop and the simulator drive this, and nothing else decides or books: venue
events and send outcomes go in (`on_event`, `on_submitted`, `on_cancelled`, `on_replaced`,
`reconcile`, `resolve`), and `decide` returns the maker's decision together with the requests to send,
already recorded in the ledger (so a request exists before it can have an outcome). The caller does
the I/O: it sends each `Send` in order and hands every outcome back.

The ledger is the book of record: the decision sees its possibly-live orders (UNKNOWN included), the
risk gate's in-flight exposure is rebuilt from them, and every ledger change reaches the gate (fills
shrink in-flight exposure, closes free it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from keeper.core.intensity import IntensityCalibrator
from keeper.core.order_diff import Cancel, Place, Replace, WireAction
from keeper.core.order_ledger import OrderChange, OrderLedger, ReconcileResult
from keeper.core.strategy import MakerDecision, MarketMaker, MarketView, TakeOrder
from keeper.core.types import Side
from keeper.core.venue import (
    CancelOutcome,
    CancelRequest,
    NotFound,
    OrderFilled,
    OrderReport,
    OrderRequest,
    ReplaceRequest,
    SubmitOutcome,
    TimeInForce,
    VenueEvent,
    VenueSnapshot,
)


class Send(msgspec.Struct, frozen=True, kw_only=True):
    """One venue operation of a decision, in send order: a batch's cancels, then its replaces, then its
    places; then the IOC takes. Exactly one of the three lists is non-empty."""

    cancels: tuple[CancelRequest, ...] = ()
    replaces: tuple[ReplaceRequest, ...] = ()
    orders: tuple[OrderRequest, ...] = ()
    takes: tuple[TakeOrder, ...] = ()  # the takes behind `orders`, when these are IOC takes
    batch: int = 0  # the decision's batch it came from (one transaction on a contract venue); takes: -1


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """A decision and its sends (already in the ledger)."""

    decision: MakerDecision
    sends: tuple[Send, ...] = ()


class TradingCore:
    """The maker and the ledger of one market; `market` is the venue's market name."""

    def __init__(
        self,
        maker: MarketMaker,
        market: str,
        ledger: OrderLedger | None = None,
    ) -> None:
        """The fill intensity (A, k) is re-fitted from our own fills when the maker's parameters ask
        for it (`intensity_refit_s`), with its configured values as the prior."""
        self.maker = maker
        self.market = market
        self.ledger = ledger if ledger is not None else OrderLedger()
        self.intensity: IntensityCalibrator | None = None
        self._refit_s = -math.inf
        self._mid = math.nan  # the mid of the latest decision: fills are measured against it

    # ---- what the venue says ----

    def on_event(self, event: VenueEvent, now_ms: int) -> list[OrderChange]:
        changes = self._apply(self.ledger.on_event(event, now_ms))
        if self.intensity is not None and isinstance(event, OrderFilled) and event.maker and changes:
            self.intensity.fill(float(event.price), self._mid)  # booked (not held): one of our quotes
        return changes

    def on_submitted(
        self, requests: Sequence[OrderRequest], outcomes: Sequence[SubmitOutcome], now_ms: int
    ) -> list[OrderChange]:
        changes: list[OrderChange] = []
        for request, outcome in zip(requests, outcomes, strict=True):
            changes += self.ledger.on_submit_outcome(request.client_id, outcome, now_ms)
        return self._apply(changes)

    def on_cancelled(
        self, requests: Sequence[CancelRequest], outcomes: Sequence[CancelOutcome], now_ms: int
    ) -> list[OrderChange]:
        changes: list[OrderChange] = []
        for request, outcome in zip(requests, outcomes, strict=True):
            changes += self.ledger.on_cancel_outcome(request.client_id, outcome, now_ms)
        return self._apply(changes)

    def on_replaced(
        self, requests: Sequence[ReplaceRequest], outcomes: Sequence[SubmitOutcome], now_ms: int
    ) -> list[OrderChange]:
        changes: list[OrderChange] = []
        for request, outcome in zip(requests, outcomes, strict=True):
            changes += self.ledger.on_replace_outcome(
                request.client_id, request.new.client_id, outcome, now_ms
            )
        return self._apply(changes)

    def reconcile(self, snapshot: VenueSnapshot, now_ms: int, grace_ms: int) -> ReconcileResult:
        result = self.ledger.reconcile(snapshot, now_ms, grace_ms=grace_ms)
        self._apply(result.changes)
        return result

    def resolve(self, client_id: str, answer: OrderReport | NotFound, now_ms: int) -> list[OrderChange]:
        return self._apply(self.ledger.resolve(client_id, answer, now_ms))

    def _apply(self, changes: Sequence[OrderChange]) -> list[OrderChange]:
        for change in changes:
            if change.filled > 0:
                self.maker.on_fill(change.client_id, change.filled)
            if change.state.terminal:
                self.maker.on_done(change.client_id)
        return list(changes)

    # ---- the decision ----

    @property
    def position(self) -> Decimal:
        return self.ledger.position(self.market)

    def decide(self, view: MarketView, equity: float, now_ms: int) -> Plan:
        """The maker's decision on the ledger's orders and position, and its sends, recorded."""
        market = self.market
        self._calibrate(view)
        decision = self.maker.decide(
            view,
            self.ledger.live_orders(market),
            float(self.ledger.position(market)),
            equity,
            exposure=self.ledger.exposure(market),
        )
        sends: list[Send] = []
        for index, batch in enumerate(decision.batches):
            sends += self._batch(batch, index, now_ms)
        if decision.takes:
            takes = tuple(decision.takes)
            orders = tuple(
                self._request(t.order_id, t.side, t.limit_price, t.size, TimeInForce.IOC) for t in takes
            )
            for request in orders:
                self.ledger.submitted(request, now_ms)
            sends.append(Send(orders=orders, takes=takes, batch=-1))
        return Plan(decision=decision, sends=tuple(sends))

    def _calibrate(self, view: MarketView) -> None:
        """Feed the intensity calibrator; re-fit (A, k) into the maker's parameters now and then."""
        every_s = self.maker.params.intensity_refit_s
        if every_s is None:
            return
        quote = self.maker.params.quote
        if self.intensity is None:  # the prior: the configured values, k turned into per-bp terms
            self.intensity = IntensityCalibrator(
                quote.intensity_a,
                quote.intensity_k * view.mid / 10_000.0,
                prior_fills=self.maker.params.intensity_prior_fills,
            )
        self._mid = view.mid
        self.intensity.observe(self.ledger.live_orders(self.market), view.mid, view.now_s)
        if view.now_s - self._refit_s >= every_s:
            self._refit_s = view.now_s
            a, k = self.intensity.fit(view.mid)
            if (a, k) != (quote.intensity_a, quote.intensity_k):
                self.maker.params = msgspec.structs.replace(
                    self.maker.params, quote=msgspec.structs.replace(quote, intensity_a=a, intensity_k=k)
                )

    def _batch(self, batch: Sequence[WireAction], index: int, now_ms: int) -> list[Send]:
        sends: list[Send] = []
        cancels = []
        for cancel in (a for a in batch if isinstance(a, Cancel)):
            order = self.ledger.get(cancel.order_id)
            if order is None or order.state.terminal:
                continue
            self.ledger.cancel_sent(cancel.order_id, now_ms)
            cancels.append(
                CancelRequest(
                    client_id=cancel.order_id,
                    market=order.request.market,
                    venue_order_id=order.venue_order_id,
                )
            )
        if cancels:
            sends.append(Send(cancels=tuple(cancels), batch=index))
        replaces = []
        for replace in (a for a in batch if isinstance(a, Replace)):
            new = self._request(
                replace.new_order_id, replace.side, replace.price, replace.size, TimeInForce.POST_ONLY
            )
            old = self.ledger.get(replace.order_id)
            self.ledger.replace_sent(replace.order_id, new, now_ms)
            venue_id = None if old is None else old.venue_order_id
            replaces.append(ReplaceRequest(client_id=replace.order_id, new=new, venue_order_id=venue_id))
        if replaces:
            sends.append(Send(replaces=tuple(replaces), batch=index))
        orders = [
            self._request(p.order_id, p.side, p.price, p.size, TimeInForce.POST_ONLY)
            for p in batch
            if isinstance(p, Place)
        ]
        for request in orders:
            self.ledger.submitted(request, now_ms)
        if orders:
            sends.append(Send(orders=tuple(orders), batch=index))
        return sends

    def cancel_all_plan(self, now_ms: int) -> Send | None:
        """A cancel of every order that may rest on the market (cancels in flight and unknowns too)."""
        requests = []
        for order in self.ledger.orders():
            if order.request.market != self.market or order.state.terminal:
                continue
            self.ledger.cancel_sent(order.client_id, now_ms)
            requests.append(
                CancelRequest(
                    client_id=order.client_id,
                    market=order.request.market,
                    venue_order_id=order.venue_order_id,
                )
            )
        return Send(cancels=tuple(requests)) if requests else None

    def _request(
        self, client_id: str | None, side: Side, price: Decimal, size: Decimal, tif: TimeInForce
    ) -> OrderRequest:
        if client_id is None:
            raise ValueError("the maker assigns every created order an id")
        return OrderRequest(
            client_id=client_id, market=self.market, side=side, price=price, size=size, tif=tif
        )


__all__ = ["Plan", "Send", "TradingCore"]
