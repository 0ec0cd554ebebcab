"""The live quoting loop against an in-memory venue: sends, outcomes, reconciliation, kill, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import pytest

from keeper.app._maker_setup import build_maker
from keeper.app._quoting import QuotingLoop, QuotingSettings
from keeper.config import load_config
from keeper.core.quote import SettlementModel
from keeper.core.risk import RiskLimits
from keeper.core.types import Side
from keeper.core.venue import (
    BookTop,
    Canceled,
    CancelOutcome,
    CancelRequest,
    MarginReport,
    MarketContext,
    MarketSpec,
    NotFound,
    OrderFilled,
    OrderReport,
    OrderRequest,
    OrderState,
    PositionReport,
    Rejected,
    ReplaceRequest,
    Resting,
    StreamGap,
    SubmitOutcome,
    TimeInForce,
    Unknown,
    VenueEvent,
    VenueSnapshot,
)
from tests.adapters.hyperliquid.conftest import eventually
from tests.app.test_reload import REPO

LOCAL = REPO / "chain_config" / "local.toml"
SPEC = MarketSpec(market="ETH", tick=Decimal("0.1"), lot=Decimal("0.0001"))
NOW = 1_700_000_000.0


class FakeVenue:
    """Rests every order it is sent unless told to answer Unknown; lists what rests in snapshots."""

    name = "fake"

    def __init__(self) -> None:
        self.resting: dict[str, OrderRequest] = {}
        self.sent: list[object] = []
        self.answer_unknown = False
        self.lost: set[str] = set()  # Unknown outcomes whose order never reached the book
        self.final_not_found = False
        self.queue: asyncio.Queue[VenueEvent] = asyncio.Queue()
        self.position = Decimal(0)
        self.equity = Decimal(100_000)
        self.snapshots = 0
        self.cancel_all_calls = 0
        self.healthy = True
        self.fills: list[OrderFilled] = []  # the venue's records of fills, listed in snapshots
        self.foreign: list[OrderReport] = []  # open orders another process placed
        self.disarm_allowed = False
        self.reconnects: list[str] = []
        self.offset_ms: float | None = None
        self.broken = False  # cancels and snapshots raise (a venue that cannot be reached)

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def allow_disarm(self) -> None:
        self.disarm_allowed = True

    def force_reconnect(self, reason: str) -> None:
        self.reconnects.append(reason)

    def clock_offset_ms(self) -> float | None:
        return self.offset_ms

    def market(self, market: str) -> MarketSpec:
        return SPEC

    def settlement_model(self) -> SettlementModel:
        return SettlementModel(tau_s=0.2, replace_gas=0, max_batch=20)

    async def submit(self, orders: Sequence[OrderRequest]) -> list[SubmitOutcome]:
        self.sent.append(("submit", list(orders)))
        outcomes: list[SubmitOutcome] = []
        for order in orders:
            if self.answer_unknown:
                self.lost.add(order.client_id)
                outcomes.append(Unknown(reason="timeout"))
            elif order.tif is TimeInForce.IOC:
                outcomes.append(Rejected(reason="no liquidity"))
            else:
                self.resting[order.client_id] = order
                outcomes.append(Resting(venue_order_id=f"v-{order.client_id}"))
        return outcomes

    async def cancel(self, cancels: Sequence[CancelRequest]) -> list[CancelOutcome]:
        if self.broken:
            raise ConnectionError("venue unreachable")
        self.sent.append(("cancel", [c.client_id for c in cancels]))
        outcomes: list[CancelOutcome] = []
        for cancel in cancels:
            if self.resting.pop(cancel.client_id, None) is not None:
                outcomes.append(Canceled())
            else:
                outcomes.append(Rejected(reason="Order was never placed, already canceled, or filled."))
        return outcomes

    async def replace(self, replaces: Sequence[ReplaceRequest]) -> list[SubmitOutcome]:
        self.sent.append(("replace", [(r.client_id, r.new.client_id) for r in replaces]))
        outcomes: list[SubmitOutcome] = []
        for replace in replaces:
            if replace.client_id in self.lost:
                outcomes.append(Rejected(reason="Cannot modify canceled or filled order"))
                continue
            self.resting.pop(replace.client_id, None)
            self.resting[replace.new.client_id] = replace.new
            outcomes.append(Resting(venue_order_id=f"v-{replace.new.client_id}"))
        return outcomes

    async def cancel_all(self, market: str | None = None) -> None:
        self.cancel_all_calls += 1
        if not self.broken:
            self.resting.clear()

    def stream_healthy(self) -> bool:
        return self.healthy

    async def events(self) -> AsyncIterator[VenueEvent]:
        while True:
            yield await self.queue.get()

    async def snapshot(self) -> VenueSnapshot:
        if self.broken:
            raise ConnectionError("venue unreachable")
        self.snapshots += 1
        reports = tuple(
            OrderReport(
                client_id=o.client_id,
                venue_order_id=f"v-{o.client_id}",
                market=o.market,
                side=o.side,
                price=o.price,
                size=o.size,
                original_size=o.size,
                state=OrderState.ACCEPTED,
                ts_ms=int(NOW * 1000),
            )
            for o in self.resting.values()
        )
        position = sum((f.side.sign * f.size for f in self.fills), Decimal(0))
        return VenueSnapshot(
            ts_ms=int(clock.now * 1000),
            open_orders=reports + tuple(self.foreign),
            positions=(PositionReport(market="ETH", size=position),) if position else (),
            margin=MarginReport(equity=self.equity, margin_used=Decimal(0)),
            fills=tuple(self.fills),
        )

    async def order_status(self, client_id: str, market: str) -> OrderReport | NotFound:
        return NotFound(final=self.final_not_found)


class Clock:
    now = NOW

    def __call__(self) -> float:
        return self.now


clock = Clock()


@pytest.fixture
def venue() -> FakeVenue:
    clock.now = NOW
    return FakeVenue()


def make_loop(venue: FakeVenue, **settings: object) -> QuotingLoop:
    config = load_config(LOCAL)
    limits = RiskLimits(
        max_order_notional_usd=Decimal(50_000), max_position_notional_usd=Decimal(250_000), stale_data_s=5.0
    )
    maker = build_maker(config, SPEC, 2000.0, venue.settlement_model(), limits)
    return QuotingLoop(venue, maker, QuotingSettings(market="ETH", **settings), now_s=clock)  # type: ignore[arg-type]


def feed_market(loop: QuotingLoop, bid: str = "1999.5", ask: str = "2000.5") -> None:
    ts = int(clock.now * 1000)
    loop.on_event(BookTop(market="ETH", bid=Decimal(bid), ask=Decimal(ask), ts_ms=ts))
    loop.on_event(
        MarketContext(
            market="ETH", mark=Decimal(2000), oracle=Decimal(2000), funding_rate=Decimal("0.00001"), ts_ms=ts
        )
    )


async def test_first_step_quotes_both_sides_post_only(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()  # equity for the risk gate
    feed_market(loop)
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "active"
    kind, orders = venue.sent[0]
    assert kind == "submit"
    assert {o.side for o in orders} == {Side.BUY, Side.SELL}
    assert all(o.tif is TimeInForce.POST_ONLY for o in orders)
    bids = [o for o in orders if o.side is Side.BUY]
    asks = [o for o in orders if o.side is Side.SELL]
    assert max(b.price for b in bids) < min(a.price for a in asks)
    assert all(loop.ledger.get(o.client_id).state is OrderState.ACCEPTED for o in orders)  # type: ignore[union-attr]


async def test_no_quotes_without_a_snapshot_or_market_data(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    assert await loop.step() is None  # no market data
    feed_market(loop)
    # No snapshot yet: no equity to measure a drawdown against, so no decision at all (a decision on
    # zero equity would latch a drawdown halt).
    assert await loop.step() is None
    assert not any(kind == "submit" for kind, _ in venue.sent)
    assert not loop.maker.gate.latched


async def test_unknown_outcome_stays_unknown_until_reconciled(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    venue.answer_unknown = True
    await loop.step()
    _, orders = venue.sent[0]
    ids = [o.client_id for o in orders]
    assert all(loop.ledger.get(i).state is OrderState.UNKNOWN for i in ids)  # type: ignore[union-attr]
    assert loop.stats.unknown == len(ids)
    assert loop.stats.rejected == 0
    # They count as live: the next step does not stack a second set of quotes on top.
    venue.answer_unknown = False
    venue.sent.clear()
    await loop.step()
    assert not any(kind == "submit" for kind, _ in venue.sent)
    # Reconciliation long after: not listed → one query each; not final → still UNKNOWN.
    clock.now += 10
    await loop.reconcile()
    assert loop.stats.queries == len(ids)
    assert all(loop.ledger.get(i).state is OrderState.UNKNOWN for i in ids)  # type: ignore[union-attr]
    # The venue proves the requests expired unprocessed: now, and only now, rejected.
    venue.final_not_found = True
    await loop.reconcile()
    assert all(loop.ledger.get(i).state is OrderState.REJECTED for i in ids)  # type: ignore[union-attr]
    assert loop.unresolved() == 0


async def test_unknown_order_found_resting_becomes_accepted(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    venue.answer_unknown = True
    await loop.step()
    _, orders = venue.sent[0]
    for order in orders:  # they did land
        venue.resting[order.client_id] = order
    clock.now += 10
    await loop.reconcile()
    assert all(loop.ledger.get(o.client_id).state is OrderState.ACCEPTED for o in orders)  # type: ignore[union-attr]


async def test_fill_event_moves_position_and_the_gate(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    await loop.step()
    _, orders = venue.sent[0]
    bid = next(o for o in orders if o.side is Side.BUY)
    fill = OrderFilled(
        client_id=bid.client_id,
        venue_order_id=f"v-{bid.client_id}",
        trade_id="t1",
        market="ETH",
        side=Side.BUY,
        price=bid.price,
        size=bid.size,
        fee=Decimal("0.15"),
        maker=True,
        ts_ms=int(clock.now * 1000),
    )
    loop.on_event(fill)
    loop.on_event(fill)  # the same trade again (WS then REST): counted once
    assert loop.ledger.position("ETH") == bid.size
    assert loop.ledger.get(bid.client_id).state is OrderState.FILLED  # type: ignore[union-attr]
    assert bid.client_id not in loop.maker.gate.in_flight_ids()


async def test_kill_flag_cancels_everything(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    await loop.step()
    assert venue.resting
    limits = loop.maker.gate.limits
    loop.maker.gate.set_limits(RiskLimits(**{**_fields(limits), "kill": True}))
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "halted"
    assert not venue.resting
    assert not loop.ledger.live_orders("ETH")


async def test_stream_gap_triggers_reconciliation_and_stop_cancels(venue: FakeVenue) -> None:
    loop = make_loop(venue, reconcile_interval_s=60.0, requote_interval_s=0.05)
    stop = asyncio.Event()
    feed_market(loop)
    task = asyncio.create_task(loop.run(stop))
    await eventually(lambda: bool(venue.resting))
    before = venue.snapshots
    await venue.queue.put(StreamGap(reason="reconnected", ts_ms=0))
    await eventually(lambda: venue.snapshots > before)
    assert loop.stats.stream_gaps == 1
    stop.set()
    await task
    assert not venue.resting
    assert venue.cancel_all_calls == 1


def _fields(limits: RiskLimits) -> dict[str, object]:
    return {f: getattr(limits, f) for f in limits.__struct_fields__}


async def test_a_position_past_the_hedge_trigger_sends_an_ioc_on_the_tick(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    # A fill of an order another process left (unknown to the ledger), in the venue's records, books
    # the position.
    venue.fills.append(
        OrderFilled(
            client_id=None,
            venue_order_id="elsewhere",
            trade_id="t-big",
            market="ETH",
            side=Side.BUY,
            price=Decimal(2000),
            size=Decimal(5),
            fee=Decimal(0),
            maker=False,
            ts_ms=int(clock.now * 1000),
        )
    )
    await loop.reconcile()
    assert loop.ledger.unmatched_fills == 1
    await loop.step()
    iocs = [o for kind, orders in venue.sent if kind == "submit" for o in orders if o.tif is TimeInForce.IOC]
    assert iocs, venue.sent
    assert all(o.side is Side.SELL for o in iocs)
    assert all(o.price % SPEC.tick == 0 for o in iocs)
    # The fake venue refuses them: REJECTED with its words, nothing left in flight.
    assert all(loop.ledger.get(o.client_id).state is OrderState.REJECTED for o in iocs)  # type: ignore[union-attr]
    assert not {o.client_id for o in iocs} & loop.maker.gate.in_flight_ids()


async def test_a_quiet_book_stays_current_while_the_venue_marks_inside_it(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    for _ in range(30):  # 30 s of contexts (mark 2,000 inside the book): the book simply did not change
        clock.now += 1
        loop.on_event(context("2000"))
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "active"
    # The market moves away (the mark leaves the book) and the book does not follow: it goes stale.
    for _ in range(6):
        clock.now += 1
        loop.on_event(context("2010"))
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "halted"
    assert "stale_market_data" in [r.value for r in loop.maker.gate.assessment.reasons]
    assert not venue.resting


async def test_a_silent_feed_halts_within_stale_data_s_and_forces_a_reconnect(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    await loop.step()
    assert venue.resting
    clock.now += 5.5  # the socket is open (healthy) but nothing arrives
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "halted"
    assert not venue.resting
    assert len(venue.reconnects) == 1
    assert "no market data" in venue.reconnects[0]
    await loop.step()
    assert len(venue.reconnects) == 1  # once per stale_data_s, not every step
    feed_market(loop)  # data again: quoting resumes
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "active"


def context(mark: str) -> MarketContext:
    return MarketContext(
        market="ETH",
        mark=Decimal(mark),
        oracle=Decimal(mark),
        funding_rate=Decimal("0.00001"),
        ts_ms=int(clock.now * 1000),
    )


async def test_an_unknown_outcome_brings_reconciliation_forward(venue: FakeVenue) -> None:
    loop = make_loop(venue, reconcile_interval_s=60.0, requote_interval_s=60.0, reconcile_grace_ms=100)
    stop = asyncio.Event()
    feed_market(loop)
    venue.answer_unknown = True
    task = asyncio.create_task(loop.run(stop))
    await eventually(lambda: loop.stats.reconciliations >= 1)  # the start-up one: equity known
    await loop.step()  # quotes whose outcome is unknown
    assert loop.stats.unknown > 0
    snapshots = venue.snapshots
    clock.now += 1  # past the grace: the venue's listing can rule on them
    await eventually(lambda: venue.snapshots > snapshots and loop.stats.queries > 0, timeout_s=3.0)
    stop.set()
    await task


async def test_status_line_names_state_position_orders_and_stream(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    await loop.step()
    line = loop.status_line()
    assert line.startswith("ETH on fake: active, mid 2000, position 0, ")
    assert f"{len(venue.resting)} live order(s)" in line
    assert line.endswith("stream up")
    venue.healthy = False
    assert loop.status_line().endswith("stream DOWN")
