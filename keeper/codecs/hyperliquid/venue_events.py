"""Hyperliquid WS events -> core venue events (:mod:`keeper.core.venue`). Pure.

:class:`VenueEventMapper` keeps the little state the mapping needs: which markets are ours, which
fills and funding payments were already passed on (fills arrive on both ``userFills`` and the
``user`` channel), and counters. Order updates map by status family: "open" -> ``OrderAccepted``,
any cancel ("canceled", "*Canceled", "scheduledCancel", "internalCancel") -> ``OrderCanceled``, any
"*Rejected" -> ``OrderRejected``; "filled" and "triggered" carry nothing the fills do not, and an
unrecognised status is counted and ignored, never made a reject. A fill or funding payment with a
number that is not finite or absurdly large is counted (``bad_numbers``) and skipped: it could not be
booked, and reconciliation recovers the real one. Prices of book tops and market contexts are checked
after mapping, by :mod:`keeper.core.md_guard`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from keeper.codecs.hyperliquid.info_types import Fill, L2Book, L2Level
from keeper.codecs.hyperliquid.venue_mapping import HOUR_MS, CloidMap, side_of, status_family
from keeper.codecs.hyperliquid.ws_messages import (
    ActiveAssetCtx,
    Bbo,
    NonUserCancel,
    OrderUpdate,
    OrderUpdates,
    UserEvents,
    UserFills,
    UserFundings,
    WsEvent,
    WsFunding,
)
from keeper.core import venue as core
from keeper.core.md_guard import sane_number
from keeper.core.recent import RecentKeys


def next_funding_ms(time_ms: int | None) -> int | None:
    """The venue settles funding on every whole UTC hour: the first one after ``time_ms``."""
    return None if time_ms is None else (time_ms // HOUR_MS + 1) * HOUR_MS


def sane_fill(fill: Fill) -> bool:
    """Price, size and fee finite and of a sane magnitude (plausibility is the ledger's business)."""
    return sane_number(fill.px) and sane_number(fill.sz) and sane_number(fill.fee)


def sane_funding(funding: WsFunding) -> bool:
    return sane_number(funding.usdc) and sane_number(funding.szi) and sane_number(funding.funding_rate)


def fill_event(fill: Fill, cloids: CloidMap) -> core.OrderFilled:
    """One fill of ours; ``crossed`` means we took liquidity. Both sides of a trade share its ``tid``
    (a cross between two of our own orders would book twice), so the trade id is ``tid:oid``."""
    return core.OrderFilled(
        client_id=cloids.client_id_of(fill.cloid),
        venue_order_id=str(fill.oid),
        trade_id=f"{fill.tid}:{fill.oid}",
        market=fill.coin,
        side=side_of(fill.side),
        price=fill.px,
        size=fill.sz,
        fee=fill.fee,
        maker=not fill.crossed,
        ts_ms=fill.time,
    )


def funding_event(funding: WsFunding) -> core.FundingPaid:
    """A funding payment: ``usdc`` is already the signed cash flow to us."""
    return core.FundingPaid(
        market=funding.coin,
        amount=funding.usdc,
        rate=funding.funding_rate,
        position=funding.szi,
        ts_ms=funding.time,
    )


def order_update_event(update: OrderUpdate, cloids: CloidMap) -> core.VenueEvent | None:
    """The core event of one order update; None for "filled" (the fills carry it), "triggered" and
    unknown statuses."""
    order, status = update.order, update.status
    family = status_family(status)
    client_id = cloids.client_id_of(order.cloid)
    oid, ts = str(order.oid), update.status_timestamp
    if family == "open":
        return core.OrderAccepted(client_id=client_id, venue_order_id=oid, market=order.coin, ts_ms=ts)
    if family == "canceled":
        return core.OrderCanceled(
            client_id=client_id, venue_order_id=oid, market=order.coin, ts_ms=ts, reason=status
        )
    if family == "rejected":
        return core.OrderRejected(
            client_id=client_id, venue_order_id=oid, market=order.coin, ts_ms=ts, reason=status
        )
    return None


def non_user_cancel_event(cancel: NonUserCancel, ts_ms: int) -> core.OrderCanceled:
    """An order the venue cancelled (the frame has no cloid or time: the caller stamps it)."""
    return core.OrderCanceled(
        client_id=None,
        venue_order_id=str(cancel.oid),
        market=cancel.coin,
        ts_ms=ts_ms,
        reason="nonUserCancel",
    )


def _top(level: L2Level | None) -> tuple[Decimal | None, Decimal]:
    return (None, Decimal(0)) if level is None else (level.px, level.sz)


def book_top_from_bbo(bbo: Bbo) -> core.BookTop:
    (bid, bid_size), (ask, ask_size) = _top(bbo.bbo[0]), _top(bbo.bbo[1])
    return core.BookTop(
        market=bbo.coin, bid=bid, ask=ask, bid_size=bid_size, ask_size=ask_size, ts_ms=bbo.time
    )


def book_top_from_l2(book: L2Book) -> core.BookTop:
    bids, asks = book.levels
    (bid, bid_size), (ask, ask_size) = _top(bids[0] if bids else None), _top(asks[0] if asks else None)
    return core.BookTop(
        market=book.coin, bid=bid, ask=ask, bid_size=bid_size, ask_size=ask_size, ts_ms=book.time
    )


def market_context_event(
    message: ActiveAssetCtx, ts_ms: int, ctx_time_ms: int | None = None
) -> core.MarketContext:
    """Mark, oracle and the current hourly funding rate. The frame carries no time: ``ts_ms`` is the
    receive time and ``ctx_time_ms`` (when known) dates the context for the next funding hour."""
    ctx = message.ctx
    return core.MarketContext(
        market=message.coin,
        mark=ctx.mark_px,
        oracle=ctx.oracle_px,
        funding_rate=ctx.funding,
        ts_ms=ts_ms,
        next_funding_ms=next_funding_ms(ctx_time_ms),
    )


class MappingStats(msgspec.Struct, kw_only=True):
    """Counters of :class:`VenueEventMapper` (expose as metrics)."""

    events: int = 0  # core events produced
    ignored: int = 0  # WS events with no core meaning (trades, mids, acks, liquidation notices...)
    other_markets: int = 0  # items of markets not connected
    duplicate_fills: int = 0
    snapshot_fills: int = 0  # left to reconciliation
    duplicate_fundings: int = 0
    bad_numbers: int = 0  # fills / fundings skipped: a number not finite or absurdly large
    unknown_statuses: dict[str, int] = msgspec.field(default_factory=dict)


class VenueEventMapper:
    """WS events of one account -> core events, for the connected ``markets`` only.

    Fills arrive twice (``userFills`` and the ``user`` channel) and funding may too (``user`` and
    ``userFundings``): both are de-duplicated, by (tid, oid) and (coin, time). Snapshot messages
    (first ``userFills`` / ``userFundings`` after a subscribe) are skipped: they repeat history,
    which reconciliation reads from REST.
    """

    def __init__(self, cloids: CloidMap, markets: Iterable[str], *, memory: int = 10_000) -> None:
        self._cloids = cloids
        self._markets = frozenset(markets)
        self._fills: RecentKeys[tuple[int, int]] = RecentKeys(memory)
        self._fundings: RecentKeys[tuple[str, int]] = RecentKeys(memory)
        self.stats = MappingStats()

    def map(self, event: WsEvent, received_ms: int) -> list[core.VenueEvent]:
        """The core events of one WS event; ``received_ms`` stamps frames without a time."""
        out = self._map(event, received_ms)
        self.stats.events += len(out)
        return out

    def _ours(self, coin: str) -> bool:
        if coin in self._markets:
            return True
        self.stats.other_markets += 1
        return False

    def _map(self, event: WsEvent, received_ms: int) -> list[core.VenueEvent]:
        if isinstance(event, Bbo):
            return [book_top_from_bbo(event)] if self._ours(event.coin) else []
        if isinstance(event, L2Book):
            return [book_top_from_l2(event)] if self._ours(event.coin) else []
        if isinstance(event, ActiveAssetCtx):
            # No time in the frame: the receive time dates it (funding is paid on every whole hour).
            return [market_context_event(event, received_ms, received_ms)] if self._ours(event.coin) else []
        if isinstance(event, OrderUpdates):
            return self._order_updates(event.updates)
        if isinstance(event, UserFills):
            if event.is_snapshot:
                self.stats.snapshot_fills += len(event.fills)
                return []
            return self._fill_events(event.fills)
        if isinstance(event, UserEvents):
            out = self._fill_events(event.fills)
            if event.funding is not None:
                out += self._funding_events([event.funding])
            out += [
                non_user_cancel_event(c, received_ms) for c in event.non_user_cancel if self._ours(c.coin)
            ]
            if event.liquidation is not None:
                self.stats.ignored += 1  # its fills come as fills; positions follow from those
            return out
        if isinstance(event, UserFundings):
            return [] if event.is_snapshot else self._funding_events(event.fundings)
        self.stats.ignored += 1
        return []

    def _order_updates(self, updates: Iterable[OrderUpdate]) -> list[core.VenueEvent]:
        out: list[core.VenueEvent] = []
        for update in updates:
            if not self._ours(update.order.coin):
                continue
            if status_family(update.status) == "unknown":
                counts = self.stats.unknown_statuses
                counts[update.status] = counts.get(update.status, 0) + 1
                continue
            mapped = order_update_event(update, self._cloids)
            if mapped is not None:
                out.append(mapped)
        return out

    def _fill_events(self, fills: Iterable[Fill]) -> list[core.VenueEvent]:
        out: list[core.VenueEvent] = []
        for fill in fills:
            if not self._ours(fill.coin):
                continue
            if not sane_fill(fill):
                self.stats.bad_numbers += 1
                continue
            if not self._fills.add((fill.tid, fill.oid)):
                self.stats.duplicate_fills += 1
                continue
            out.append(fill_event(fill, self._cloids))
        return out

    def _funding_events(self, fundings: Iterable[WsFunding]) -> list[core.VenueEvent]:
        out: list[core.VenueEvent] = []
        for funding in fundings:
            if not self._ours(funding.coin):
                continue
            if not sane_funding(funding):
                self.stats.bad_numbers += 1
                continue
            if not self._fundings.add((funding.coin, funding.time)):
                self.stats.duplicate_fundings += 1
                continue
            out.append(funding_event(funding))
        return out


__all__ = [
    "MappingStats",
    "VenueEventMapper",
    "book_top_from_bbo",
    "book_top_from_l2",
    "fill_event",
    "funding_event",
    "market_context_event",
    "next_funding_ms",
    "non_user_cancel_event",
    "order_update_event",
    "sane_fill",
    "sane_funding",
]
