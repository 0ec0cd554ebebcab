"""The quoting loop under faults: hostile frames, raising tasks, a slow venue, fake fills, clock skew,
a second keeper. Whatever happens, nothing may be left resting unprotected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from keeper.core.strategy import MakerDecision
from keeper.core.types import Side
from keeper.core.venue import (
    BookTop,
    MarketContext,
    OrderFilled,
    OrderReport,
    OrderState,
    TimeInForce,
    VenueEvent,
)
from tests.adapters.hyperliquid.conftest import eventually
from tests.app.test_quoting import NOW, FakeVenue, clock, feed_market, make_loop

INF, NAN = Decimal("Infinity"), Decimal("NaN")


@pytest.fixture(name="venue")
def _venue() -> FakeVenue:
    clock.now = NOW
    return FakeVenue()


@pytest.mark.parametrize(
    ("bid", "ask"),
    [
        (NAN, Decimal(2001)),
        (Decimal(1999), INF),
        (Decimal(0), Decimal(2001)),
        (Decimal(-5), Decimal(2001)),
        (Decimal("1e300"), Decimal("1e301")),
        (Decimal(2002), Decimal(2001)),  # crossed
        (Decimal("sNaN"), None),
    ],
)
async def test_bad_book_frames_never_reach_the_engine(venue: FakeVenue, bid: Decimal, ask: Decimal) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    loop.on_event(BookTop(market="ETH", bid=bid, ask=ask, ts_ms=0))
    assert loop.stats.bad_market_data == 1
    assert (loop.market.bid, loop.market.ask, loop.market.mid) == (1999.5, 2000.5, 2000.0)
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "active"


@pytest.mark.parametrize(
    ("mark", "oracle", "rate"),
    [
        (NAN, Decimal(2000), Decimal(0)),
        (Decimal(2000), Decimal(-1), Decimal(0)),
        (Decimal("1e300"), Decimal(2000), Decimal(0)),
        (Decimal(2000), Decimal(2000), INF),
        (Decimal(2000), Decimal(2000), Decimal(5)),
    ],
)
async def test_bad_context_frames_never_reach_the_engine(
    venue: FakeVenue, mark: Decimal, oracle: Decimal, rate: Decimal
) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    loop.on_event(MarketContext(market="ETH", mark=mark, oracle=oracle, funding_rate=rate, ts_ms=0))
    assert loop.stats.bad_market_data == 1
    assert (loop.market.mark, loop.market.oracle) == (2000.0, 2000.0)
    assert (await loop.step()) is not None


class RaisingStream(FakeVenue):
    """Its event stream dies once quotes rest (a bug in an adapter, a frame nobody expected)."""

    async def events(self) -> AsyncIterator[VenueEvent]:
        while not self.resting:  # noqa: ASYNC110  (the fake has no event to wait on)
            await asyncio.sleep(0.01)
        raise ValueError("mid must be positive and finite")
        yield  # pragma: no cover  (an async generator)


async def test_a_task_that_dies_cancels_every_quote_and_then_allows_the_disarm() -> None:
    clock.now = NOW
    dying = RaisingStream()
    loop = make_loop(dying, requote_interval_s=0.05)
    feed_market(loop)
    with pytest.raises(ValueError, match="positive and finite"):
        await loop.run(asyncio.Event())
    assert not dying.resting
    assert loop.flat_confirmed
    assert dying.disarm_allowed  # confirmed flat: the dead-man switch may be cleared


async def test_unconfirmed_cancels_leave_the_dead_man_switch_armed() -> None:
    clock.now = NOW
    dying = RaisingStream()
    loop = make_loop(dying, requote_interval_s=0.05)
    feed_market(loop)
    original = dying.submit

    async def submit_then_break(orders):  # type: ignore[no-untyped-def]
        outcomes = await original(orders)
        dying.broken = True  # from now on nothing can be cancelled or read
        return outcomes

    dying.submit = submit_then_break  # type: ignore[method-assign]
    with pytest.raises(ValueError, match="positive and finite"):
        await loop.run(asyncio.Event())
    assert dying.resting  # they could not be cancelled...
    assert not loop.flat_confirmed
    assert not dying.disarm_allowed  # ...so the switch stays armed and cancels them at the venue


async def test_a_clean_stop_confirms_flat_and_allows_the_disarm(venue: FakeVenue) -> None:
    loop = make_loop(venue, requote_interval_s=0.05)
    feed_market(loop)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await eventually(lambda: bool(venue.resting))
    stop.set()
    await task
    assert not venue.resting
    assert venue.disarm_allowed


async def test_a_decision_that_raises_cancels_quotes_and_repeated_failures_stop_quoting(
    venue: FakeVenue,
) -> None:
    loop = make_loop(venue, requote_interval_s=0.02, max_step_failures=3)
    feed_market(loop)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await eventually(lambda: bool(venue.resting))
    calls = 0

    def broken(*args: object, **kwargs: object) -> MakerDecision:
        nonlocal calls
        calls += 1
        raise OverflowError("glft_terms")

    loop.maker.decide = broken  # type: ignore[method-assign]
    with pytest.raises(OverflowError):
        await asyncio.wait_for(task, 5.0)
    assert calls == 3
    assert loop.stats.step_errors == 3
    assert not venue.resting
    assert venue.disarm_allowed


async def test_a_bad_event_is_skipped_and_the_stream_goes_on(venue: FakeVenue) -> None:
    loop = make_loop(venue, requote_interval_s=0.05)
    feed_market(loop)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await eventually(lambda: bool(venue.resting))

    def explode(event: VenueEvent) -> None:
        raise RuntimeError("bug")

    handler = loop.on_event
    loop.on_event = explode  # type: ignore[method-assign]
    await venue.queue.put(BookTop(market="ETH", bid=Decimal(1), ask=Decimal(2), ts_ms=0))
    await eventually(lambda: loop.stats.event_errors == 1)
    loop.on_event = handler  # type: ignore[method-assign]
    await venue.queue.put(BookTop(market="ETH", bid=Decimal(1999), ask=Decimal(2001), ts_ms=0))
    await eventually(lambda: loop.market.bid == 1999.0)
    assert not task.done()
    stop.set()
    await task


async def test_slow_venue_orders_that_never_landed_are_queried_not_replaced_forever(venue: FakeVenue) -> None:
    """Submits time out and never land; every modify of them is refused. The loop must query them,
    rule them out once the venue proves they expired, and quote again (it used to replace forever)."""
    loop = make_loop(venue, reconcile_grace_ms=100)
    await loop.reconcile()
    feed_market(loop)
    venue.answer_unknown = True
    await loop.step()
    lost = set(venue.lost)
    assert lost
    venue.answer_unknown = False
    feed_market(loop, bid="2004.5", ask="2005.5")  # the market moves: the diff wants replaces
    await loop.step()
    refused = [r for kind, rs in venue.sent if kind == "replace" for r in rs]
    assert refused
    assert {old for old, _ in refused} <= lost
    venue.sent.clear()
    await loop.step()  # suspect orders are not replaced again
    assert not any(kind == "replace" for kind, _ in venue.sent)
    venue.final_not_found = True  # their expiry passed: the venue proves they never landed
    clock.now += 1
    await loop.reconcile()
    assert all(loop.ledger.get(c).state is OrderState.REJECTED for c in lost)  # type: ignore[union-attr]
    await loop.step()
    assert len(venue.resting) >= 2  # quoting again


async def test_a_fake_fill_is_held_no_hedge_acts_on_it_and_it_is_discarded(venue: FakeVenue) -> None:
    loop = make_loop(venue, reconcile_grace_ms=100)
    await loop.reconcile()
    feed_market(loop)
    loop.on_event(
        OrderFilled(
            client_id=None,
            venue_order_id="999999",
            trade_id="fake",
            market="ETH",
            side=Side.BUY,
            price=Decimal(1),
            size=Decimal(1000),
            fee=Decimal(0),
            maker=True,
            ts_ms=0,
        )
    )
    assert loop.ledger.position("ETH") == 0
    assert loop.stats.held_fills == 1
    await loop.step()
    assert not [o for kind, os in venue.sent if kind == "submit" for o in os if o.tif is TimeInForce.IOC]
    clock.now += 1
    await loop.reconcile()
    assert loop.stats.discarded_fills == 1
    assert loop.ledger.held_fills() == []
    assert loop.ledger.position("ETH") == 0


async def test_clock_skew_halts_with_the_reason_and_clears_by_itself(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    venue.offset_ms = 15_000.0
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "halted"
    assert "clock_skew" in [r.value for r in loop.maker.gate.assessment.reasons]
    assert "+15000 ms" in loop.status_line()
    venue.offset_ms = 3.0
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "active"


async def test_orders_another_process_placed_after_start_halt_quoting(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    await loop.step()
    assert venue.resting
    clock.now += 30
    venue.foreign.append(
        OrderReport(
            client_id=None,
            venue_order_id="777",
            market="ETH",
            side=Side.BUY,
            price=Decimal(1990),
            size=Decimal(1),
            original_size=Decimal(1),
            state=OrderState.ACCEPTED,
            ts_ms=int(clock.now * 1000) - 1_000,
        )
    )
    await loop.reconcile()
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "halted"
    assert "other_instance" in [r.value for r in loop.maker.gate.assessment.reasons]
    assert not venue.resting


async def test_orders_left_by_an_earlier_run_are_adopted_without_a_halt(venue: FakeVenue) -> None:
    venue.foreign.append(
        OrderReport(
            client_id=None,
            venue_order_id="555",
            market="ETH",
            side=Side.SELL,
            price=Decimal(2010),
            size=Decimal(1),
            original_size=Decimal(1),
            state=OrderState.ACCEPTED,
            ts_ms=int(clock.now * 1000) - 60_000,  # before we started: a crashed predecessor's
        )
    )
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "active"
