"""Live inputs reach the decision: the ledger is the gate's book of record (adopted orders and a refused
replace count), the venue's liquidation price drives the liquidation-distance rule, gas widens quotes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from keeper.core.quote import GasInput, SettlementModel
from keeper.core.types import Side
from keeper.core.venue import MarginReport, OrderReport, OrderState, PositionReport, VenueSnapshot
from tests.app.test_quoting import NOW, FakeVenue, clock, feed_market, make_loop


@pytest.fixture(name="venue")
def _venue() -> FakeVenue:
    clock.now = NOW
    return FakeVenue()


async def test_adopted_orders_count_in_the_gates_exposure(venue: FakeVenue) -> None:
    venue.foreign.append(
        OrderReport(
            client_id=None,
            venue_order_id="555",
            market="ETH",
            side=Side.BUY,
            price=Decimal(1990),
            size=Decimal(3),
            original_size=Decimal(3),
            state=OrderState.ACCEPTED,
            ts_ms=int(NOW * 1000) - 60_000,  # a crashed predecessor's
        )
    )
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    gate = loop.maker.gate
    seen: list[frozenset[str]] = []
    evaluate = gate.evaluate

    def evaluate_and_look(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gate.in_flight_ids())  # what the gate counts when it grades this decision
        return evaluate(*args, **kwargs)

    gate.evaluate = evaluate_and_look  # type: ignore[method-assign]
    await loop.step()
    adopted = loop.ledger.by_venue_id("555")
    assert adopted is not None
    assert adopted.client_id in seen[0]  # the gate never met this order, the ledger did


async def test_a_refused_replace_keeps_the_old_order_in_the_gates_exposure(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    await loop.reconcile()
    feed_market(loop)
    await loop.step()
    old = set(venue.resting)
    venue.lost |= old  # the venue refuses every modify of them ("Cannot modify canceled or filled order")
    feed_market(loop, bid="2004.5", ask="2005.5")
    await loop.step()
    assert [r for kind, rs in venue.sent if kind == "replace" for r in rs]
    suspects = {o.client_id for o in loop.ledger.suspects()}
    assert suspects
    await loop.step()
    # Out of the diff, but the gate still counts them at their full size: they may rest.
    assert suspects <= loop.maker.gate.in_flight_ids()
    assert not suspects & {o.order_id for o in loop.ledger.live_orders("ETH")}


def _snapshot(position: str, liquidation: str, equity: int = 100_000) -> VenueSnapshot:
    return VenueSnapshot(
        ts_ms=int(clock.now * 1000),
        open_orders=(),
        positions=(
            PositionReport(
                market="ETH",
                size=Decimal(position),
                entry_price=Decimal(2000),
                liquidation_price=Decimal(liquidation),
            ),
        ),
        margin=MarginReport(equity=Decimal(equity), margin_used=Decimal(5_000)),
    )


async def test_the_venues_liquidation_price_fires_the_distance_rule(venue: FakeVenue) -> None:
    loop = make_loop(venue)
    snapshot = _snapshot("2", "1900")  # long 2 at a mark of 2,000 with liquidation at 1,900: 5 % away
    venue.snapshot = lambda: _async(snapshot)  # type: ignore[method-assign]
    await loop.reconcile()
    assert loop.ledger.position("ETH") == 2
    feed_market(loop)
    decision = await loop.step()
    assert decision is not None
    assert decision.state.value == "reducing"
    assert "liquidation_distance" in [r.value for r in loop.maker.gate.assessment.reasons]
    # Only the reducing side is quoted.
    placed = [o for kind, os in venue.sent if kind == "submit" for o in os]
    assert placed
    assert all(o.side is Side.SELL for o in placed)
    # Far from liquidation: the rule is clear.
    far = _snapshot("2", "100")
    venue.snapshot = lambda: _async(far)  # type: ignore[method-assign]
    await loop.reconcile()
    decision = await loop.step()
    assert decision is not None
    assert "liquidation_distance" not in [r.value for r in loop.maker.gate.assessment.reasons]


async def _async(value: VenueSnapshot) -> VenueSnapshot:
    return value


class GasVenue(FakeVenue):
    """A venue where every order is a transaction (the contract venue's settlement model)."""

    def settlement_model(self) -> SettlementModel:
        return SettlementModel(
            tau_s=2.0, place_gas=120_000, cancel_gas=50_000, replace_gas=60_000, max_batch=10
        )


async def test_gas_state_reaches_the_quote() -> None:
    inside: dict[str, float] = {}
    sizes: dict[str, float] = {}
    for label, gas in (("calm", GasInput(0.0, 1.0)), ("spike", GasInput(2e-4, 5.0))):
        clock.now = NOW
        venue = GasVenue()
        loop = make_loop(venue)
        loop._gas = lambda gas=gas: gas  # the gas oracle's state, as the run wires it
        await loop.reconcile()
        feed_market(loop)
        decision = await loop.step()
        assert decision is not None
        assert decision.quotes is not None
        quotes = decision.quotes
        inside[label] = float(min(q.price for q in quotes.asks) - max(q.price for q in quotes.bids))
        sizes[label] = sum(float(q.size) for q in quotes.all())
    print(f"\ngas: inside spread calm {inside['calm']:.2f} vs spike {inside['spike']:.2f}; sizes {sizes}")
    assert inside["spike"] > inside["calm"]
    assert sizes["spike"] <= sizes["calm"]
