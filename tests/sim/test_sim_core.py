"""The simulator runs the live trading core: every send goes through the order ledger and the outcome
policy, and lost replies are settled by reconciliation, exactly as live."""

from __future__ import annotations

import msgspec

from keeper.core.risk import RiskGate
from keeper.core.venue import OrderState, Rejected
from keeper.sim import Simulation
from keeper.sim._scenario import Scenario
from keeper.simtools.catalog import shipped_scenario


def scenario(unknown_rate: float, seconds: float = 900.0, latency_ms: float | None = None) -> Scenario:
    calm = shipped_scenario("calm")
    venue = msgspec.structs.replace(calm.venue, unknown_outcome_rate=unknown_rate)
    market = calm.market
    if latency_ms is not None:
        # A slow venue on a fast market: by the time a replace lands the book has moved through its new
        # price (refused, post-only) or a taker has filled the old order (nothing to modify).
        venue = msgspec.structs.replace(venue, latency_ms=latency_ms, latency_jitter_ms=latency_ms / 2)
        market = msgspec.structs.replace(market, vol_daily_pct=40.0)
    return msgspec.structs.replace(calm, duration_s=seconds, venue=venue, market=market)


def test_lost_replies_leave_orders_unknown_until_reconciliation_settles_them() -> None:
    sim = Simulation(scenario(0.2), "keeper")
    unknown_seen: set[str] = set()
    core = sim.core
    on_submitted = core.on_submitted

    def watch(requests, outcomes, now_ms):  # type: ignore[no-untyped-def]
        changes = on_submitted(requests, outcomes, now_ms)
        unknown_seen.update(c.client_id for c in changes if c.state is OrderState.UNKNOWN)
        return changes

    core.on_submitted = watch  # type: ignore[method-assign]
    result = sim.run().summary
    ledger = core.ledger
    print(
        f"\n900 s, 20 % of replies lost: {result.unknown_outcomes} unknown outcomes, "
        f"{result.reconciliations} reconciliations, {result.position_corrections} position corrections, "
        f"{result.fills} fills, pnl {result.pnl:.2f}"
    )
    assert result.unknown_outcomes > 0
    assert unknown_seen
    # Every order that was UNKNOWN has been settled by a snapshot or a query (none is left unknown
    # beyond the last reconciliation), and the ledger's position is the venue's to the last unit.
    still = ledger.orders([OrderState.UNKNOWN])
    assert all(o.sent_ms > (sim.s.duration_s - 15) * 1000 for o in still)
    assert ledger.position(core.market) == sim.venue.position
    assert result.position_corrections == 0


def test_a_refused_replace_restores_the_old_order_in_ledger_and_gate() -> None:
    sim = Simulation(scenario(0.0, seconds=3600.0, latency_ms=600.0), "keeper")
    core = sim.core
    gate: RiskGate = core.maker.gate
    restored: list[str] = []  # old orders a refused replace left as they were
    counted: list[bool] = []  # ...each counted in the gate's exposure at the next decision
    on_replaced = core.on_replaced
    evaluate = gate.evaluate

    def watch(requests, outcomes, now_ms):  # type: ignore[no-untyped-def]
        changes = on_replaced(requests, outcomes, now_ms)
        for request, outcome in zip(requests, outcomes, strict=True):
            old = core.ledger.get(request.client_id)
            if isinstance(outcome, Rejected) and old is not None and not old.state.terminal:
                # As it was: resting (suspect, out of the diff, until the venue says where it is).
                assert old.state in (OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED)
                assert old.suspect
                restored.append(request.client_id)
        return changes

    def evaluate_and_look(*args, **kwargs):  # type: ignore[no-untyped-def]
        live = {o.order_id for o in core.ledger.exposure(core.market)}
        counted.extend(c in gate.in_flight_ids() for c in restored if c in live)
        return evaluate(*args, **kwargs)

    core.on_replaced = watch  # type: ignore[method-assign]
    gate.evaluate = evaluate_and_look  # type: ignore[method-assign]
    result = sim.run().summary
    print(
        f"\n3,600 s: {result.refused_replaces} replaces of filled orders refused, {result.post_only_rejects} "
        f"post-only refusals, {len(restored)} old orders restored and counted"
    )
    assert restored
    assert counted
    assert all(counted)
    assert core.ledger.position(core.market) == sim.venue.position


def test_intensity_calibration_runs_through_the_core_when_asked() -> None:
    base = scenario(0.0, seconds=1800.0)
    strategy = base.strategy
    calibrated = msgspec.structs.replace(
        strategy, intensity=msgspec.structs.replace(strategy.intensity, calibrate=True)
    )
    sim = Simulation(msgspec.structs.replace(base, strategy=calibrated), "keeper")
    prior = sim.maker.params.quote
    sim.run()
    fitted = sim.maker.params.quote
    calibrator = sim.core.intensity
    assert calibrator is not None
    assert calibrator.observed_fills > 0
    print(
        f"\nA {prior.intensity_a:.3f} -> {fitted.intensity_a:.3f}, k {prior.intensity_k:.5f} -> "
        f"{fitted.intensity_k:.5f} after {calibrator.observed_fills} fills"
    )
    assert (fitted.intensity_a, fitted.intensity_k) != (prior.intensity_a, prior.intensity_k)
    # Off (the default): the configured values stay.
    plain = Simulation(base, "keeper")
    plain.run()
    assert plain.core.intensity is None
    assert plain.maker.params.quote.intensity_k == prior.intensity_k
