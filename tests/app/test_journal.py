"""The quoting loop's record in the store: orders and outcomes as sent, fills booked, and risk state that
survives a restart (a latched halt stays latched until `keeper resume`; the high-water mark is kept)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from keeper.app._journal import Journal
from keeper.app._quoting import QuotingLoop
from keeper.app.store import Store
from keeper.core.types import Side
from keeper.core.venue import OrderFilled, OrderState
from tests.app.test_quoting import NOW, FakeVenue, clock, feed_market, make_loop

ACCOUNT = "local_hl"


@pytest.fixture(name="venue")
def _venue() -> FakeVenue:
    clock.now = NOW
    return FakeVenue()


def journaled(venue: FakeVenue, store: Store) -> QuotingLoop:
    loop = make_loop(venue)
    loop.journal = Journal(store, ACCOUNT, hwm_every_s=0.0)
    loop.sender.journal = loop.journal
    loop.journal.restore(loop.maker, int(clock.now * 1000))
    return loop


async def test_orders_outcomes_and_fills_are_recorded(venue: FakeVenue, tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        loop = journaled(venue, store)
        await loop.reconcile()
        feed_market(loop)
        await loop.step()
        recorded = {o.client_id: o for o in store.orders(ACCOUNT)}
        assert set(recorded) == set(venue.resting)
        assert all(o.state is OrderState.ACCEPTED for o in recorded.values())
        bid = next(o for o in venue.resting.values() if o.side is Side.BUY)
        fill = OrderFilled(
            client_id=bid.client_id,
            venue_order_id=f"v-{bid.client_id}",
            trade_id="t1",
            market="ETH",
            side=Side.BUY,
            price=bid.price,
            size=bid.size,
            fee=Decimal(0),
            maker=True,
            ts_ms=0,
        )
        loop.on_event(fill)
        assert [f.trade_id for f in store.fills(ACCOUNT)] == ["t1"]
        assert {o.client_id: o.state for o in store.orders(ACCOUNT)}[bid.client_id] is OrderState.FILLED
        assert store.outcomes(ACCOUNT, bid.client_id)


async def test_a_latched_halt_survives_a_restart_until_resume(venue: FakeVenue, tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        loop = journaled(venue, store)
        await loop.reconcile()
        feed_market(loop)
        await loop.step()
        assert loop.maker.high_water == Decimal(100_000)
        venue.equity = Decimal(80_000)  # a 20 % drawdown: past the 10 % hard limit
        await loop.reconcile()
        decision = await loop.step()
        assert decision is not None
        assert decision.state.value == "halted"
        assert loop.maker.gate.latched
    # A restart (new process, new loop) with the equity back: still halted, the old peak kept.
    venue.equity = Decimal(100_000)
    with Store.open(path) as store:
        again = journaled(FakeVenue(), store)
        again.venue.equity = Decimal(95_000)  # type: ignore[attr-defined]
        await again.reconcile()
        feed_market(again)
        decision = await again.step()
        assert decision is not None
        assert decision.state.value == "halted"
        assert again.maker.high_water == Decimal(100_000)
        assert "drawdown_halt" in [r.value for r in again.maker.gate.assessment.reasons]
        # The operator resumes deliberately (another process writes it; the loop polls the store).
        with Store.open(path) as operator:
            assert operator.request_resume(ACCOUNT, "ops@desk/1", "checked the book", 1) is not None
        clock.now += 2
        feed_market(again)
        decision = await again.step()
        assert decision is not None
        assert decision.state.value == "active"
        assert again.maker.high_water == Decimal(95_000)  # the budget restarts from this equity
        assert [a.reason for a in store.operator_actions(ACCOUNT)] == ["checked the book"]
