"""Order ledger: the NautilusTrader outcome policy in worked examples, and invariants under random
interleavings of sends, outcomes, stream events, snapshots and targeted queries (hypothesis, stateful)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from keeper.core.order_diff import LiveOrder
from keeper.core.order_ledger import OrderChange, OrderLedger, TrackedOrder
from keeper.core.types import Side
from keeper.core.venue import (
    Canceled,
    Executed,
    FundingPaid,
    MarginReport,
    NotFound,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReport,
    OrderRequest,
    OrderState,
    PositionReport,
    Rejected,
    Resting,
    SubmitOutcome,
    TimeInForce,
    Unknown,
    VenueSnapshot,
)

D = Decimal
S = OrderState
ETH = "ETH"
BTC = "BTC"


# ---- builders --------------------------------------------------------------------------------------


def req(
    client_id: str,
    size: str = "1",
    *,
    side: Side = Side.BUY,
    price: str = "100",
    tif: TimeInForce = TimeInForce.POST_ONLY,
    market: str = ETH,
) -> OrderRequest:
    return OrderRequest(client_id=client_id, market=market, side=side, price=D(price), size=D(size), tif=tif)


def fill(
    client_id: str | None,
    trade_id: str,
    size: str,
    *,
    venue_order_id: str = "v?",
    side: Side = Side.BUY,
    price: str = "100",
    fee: str = "0",
    market: str = ETH,
    ts_ms: int = 0,
) -> OrderFilled:
    return OrderFilled(
        client_id=client_id,
        venue_order_id=venue_order_id,
        trade_id=trade_id,
        market=market,
        side=side,
        price=D(price),
        size=D(size),
        fee=D(fee),
        maker=True,
        ts_ms=ts_ms,
    )


def report(
    client_id: str | None,
    venue_order_id: str,
    size: str,
    original: str | None = None,
    *,
    state: OrderState = S.ACCEPTED,
    side: Side = Side.BUY,
    price: str = "100",
    market: str = ETH,
    ts_ms: int = 0,
) -> OrderReport:
    return OrderReport(
        client_id=client_id,
        venue_order_id=venue_order_id,
        market=market,
        side=side,
        price=D(price),
        size=D(size),
        original_size=D(original if original is not None else size),
        state=state,
        ts_ms=ts_ms,
    )


def snap(
    ts_ms: int,
    open_orders: tuple[OrderReport, ...] = (),
    positions: dict[str, str] | None = None,
    fills: tuple[OrderFilled, ...] = (),
) -> VenueSnapshot:
    return VenueSnapshot(
        ts_ms=ts_ms,
        open_orders=open_orders,
        positions=tuple(PositionReport(market=m, size=D(s)) for m, s in (positions or {}).items()),
        margin=MarginReport(equity=D(1000), margin_used=D(0)),
        fills=fills,
    )


def change(client_id: str, state: OrderState, filled: str = "0") -> OrderChange:
    return OrderChange(client_id=client_id, state=state, filled=D(filled))


def order(ledger: OrderLedger, client_id: str) -> TrackedOrder:
    tracked = ledger.get(client_id)
    assert tracked is not None, client_id
    return tracked


def resting(ledger: OrderLedger, request: OrderRequest, venue_order_id: str, now_ms: int = 0) -> None:
    """Submit `request` and let it rest under `venue_order_id`."""
    ledger.submitted(request, now_ms)
    assert ledger.on_submit_outcome(request.client_id, Resting(venue_order_id=venue_order_id), now_ms) == [
        change(request.client_id, S.ACCEPTED)
    ]


def unknown(ledger: OrderLedger, request: OrderRequest, now_ms: int = 0) -> None:
    ledger.submitted(request, now_ms)
    ledger.on_submit_outcome(request.client_id, Unknown(reason="timeout"), now_ms)
    assert order(ledger, request.client_id).state is S.UNKNOWN


# ---- submit outcomes ------------------------------------------------------------------------------


def test_submit_then_resting_is_accepted_and_linked() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1", "2"), 1_000)
    o1 = order(ledger, "o1")
    assert (o1.state, o1.remaining, o1.filled, o1.sent_ms, o1.venue_order_id) == (
        S.SUBMITTED,
        D(2),
        D(0),
        1_000,
        None,
    )
    assert ledger.on_submit_outcome("o1", Resting(venue_order_id="77"), 1_050) == [change("o1", S.ACCEPTED)]
    assert (o1.state, o1.remaining, o1.venue_order_id, o1.updated_ms) == (S.ACCEPTED, D(2), "77", 1_050)
    assert ledger.by_venue_id("77") is o1
    # A second Resting (a duplicate reply) changes nothing.
    assert ledger.on_submit_outcome("o1", Resting(venue_order_id="77"), 1_060) == []


def test_client_ids_are_single_use() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1"), 0)
    with pytest.raises(ValueError, match="already used"):
        ledger.submitted(req("o1"), 1)


def test_executed_in_full_is_filled_and_the_fill_events_book_the_position() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1", "2", tif=TimeInForce.IOC), 0)
    out = Executed(venue_order_id="5", filled_size=D(2), avg_price=D(100))
    assert ledger.on_submit_outcome("o1", out, 10) == [change("o1", S.FILLED)]
    o1 = order(ledger, "o1")
    # The reply settles the state; `filled` and the position wait for the fills themselves.
    assert (o1.state, o1.remaining, o1.filled) == (S.FILLED, D(0), D(0))
    assert ledger.position(ETH) == 0
    assert ledger.on_event(fill("o1", "t1", "0.5", venue_order_id="5"), 20) == [change("o1", S.FILLED, "0.5")]
    assert ledger.on_event(fill("o1", "t2", "1.5", venue_order_id="5"), 21) == [change("o1", S.FILLED, "1.5")]
    assert (o1.state, o1.filled, ledger.position(ETH)) == (S.FILLED, D(2), D(2))


def test_ioc_executed_in_part_cancels_the_remainder() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("t1", "5", side=Side.SELL, tif=TimeInForce.IOC), 0)
    out = Executed(venue_order_id="9", filled_size=D(2), avg_price=D(99))
    assert ledger.on_submit_outcome("t1", out, 10) == [change("t1", S.CANCELED)]
    t1 = order(ledger, "t1")
    assert (t1.state, t1.reason, t1.remaining) == (S.CANCELED, "ioc remainder", D(0))
    # Its fill still books position and reaches the risk gate; the order stays CANCELED (not all filled).
    got = ledger.on_event(fill("t1", "a", "2", venue_order_id="9", side=Side.SELL), 20)
    assert got == [change("t1", S.CANCELED, "2")]
    assert (t1.state, t1.filled, ledger.position(ETH)) == (S.CANCELED, D(2), D(-2))
    assert ledger.live_orders(ETH) == []


def test_gtc_executed_in_part_rests_with_the_remainder() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("g1", "10", tif=TimeInForce.GTC), 0)
    out = Executed(venue_order_id="3", filled_size=D(4), avg_price=D(100))
    assert ledger.on_submit_outcome("g1", out, 10) == [change("g1", S.PARTIALLY_FILLED)]
    g1 = order(ledger, "g1")
    assert (g1.state, g1.remaining, g1.filled) == (S.PARTIALLY_FILLED, D(6), D(0))
    # The 4 filled on arrival now come in as events: the remainder the reply gave stays 6 (not 6 - 4).
    ledger.on_event(fill("g1", "f1", "1.5", venue_order_id="3"), 20)
    ledger.on_event(fill("g1", "f2", "2.5", venue_order_id="3"), 21)
    assert (g1.state, g1.remaining, g1.filled) == (S.PARTIALLY_FILLED, D(6), D(4))
    assert ledger.live_orders(ETH) == [LiveOrder(order_id="g1", side=Side.BUY, price=D(100), size=D(6))]
    # A later fill on the book takes from the remainder; the last one fills it.
    ledger.on_event(fill("g1", "f3", "1", venue_order_id="3"), 30)
    assert (g1.remaining, g1.filled) == (D(5), D(5))
    assert ledger.on_event(fill("g1", "f4", "5", venue_order_id="3"), 40) == [change("g1", S.FILLED, "5")]
    assert (g1.state, g1.remaining, g1.filled, ledger.position(ETH)) == (S.FILLED, D(0), D(10), D(10))


def test_gtc_partial_fill_event_before_the_executed_reply() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("g1", "10", tif=TimeInForce.GTC), 0)
    assert ledger.on_event(fill("g1", "f1", "4", venue_order_id="3"), 5) == [
        change("g1", S.PARTIALLY_FILLED, "4")
    ]
    out = Executed(venue_order_id="3", filled_size=D(4), avg_price=D(100))
    assert ledger.on_submit_outcome("g1", out, 10) == [change("g1", S.PARTIALLY_FILLED)]
    g1 = order(ledger, "g1")
    assert (g1.remaining, g1.filled) == (D(6), D(4))


def test_rejected_outcome_is_rejected_with_the_venues_reason() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1"), 0)
    reason = "Post only order would have immediately matched"
    assert ledger.on_submit_outcome("o1", Rejected(reason=reason), 10) == [change("o1", S.REJECTED)]
    o1 = order(ledger, "o1")
    assert (o1.state, o1.reason, o1.remaining) == (S.REJECTED, reason, D(0))
    assert ledger.live_orders(ETH) == []


def test_rejected_outcome_settles_an_order_whose_cancel_is_in_flight() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1"), 0)
    ledger.cancel_sent("o1", 5)  # the diff cancelled it before the send's reply came back
    assert ledger.on_submit_outcome("o1", Rejected(reason="insufficient margin"), 10) == [
        change("o1", S.REJECTED)
    ]
    # ... but a Resting or Unknown reply is no news: the cancel is still on its way.
    ledger.submitted(req("o2"), 0)
    ledger.cancel_sent("o2", 5)
    assert ledger.on_submit_outcome("o2", Resting(venue_order_id="2"), 10) == []
    assert ledger.on_submit_outcome("o2", Unknown(reason="timeout"), 11) == []
    o2 = order(ledger, "o2")
    assert (o2.state, o2.venue_order_id) == (S.PENDING_CANCEL, "2")


def test_unknown_outcome_is_unknown_and_maybe_live() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1", "3", price="101"), 0)
    assert ledger.on_submit_outcome("o1", Unknown(reason="HTTP 502"), 10) == [change("o1", S.UNKNOWN)]
    o1 = order(ledger, "o1")
    assert (o1.state, o1.reason, o1.remaining) == (S.UNKNOWN, "HTTP 502", D(3))
    assert o1.state.maybe_live
    assert not o1.state.terminal
    assert ledger.live_orders(ETH) == [LiveOrder(order_id="o1", side=Side.BUY, price=D(101), size=D(3))]


def test_unknown_outcome_does_not_erase_what_the_stream_already_proved() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1", "3"), 0)
    ledger.on_event(fill("o1", "t1", "1", venue_order_id="8"), 5)
    assert ledger.on_submit_outcome("o1", Unknown(reason="timeout"), 10) == []
    assert order(ledger, "o1").state is S.PARTIALLY_FILLED
    # So a later final "not found" cannot turn an order that traded into "never reached the venue".
    ledger.submitted(req("o2", "3"), 0)
    ledger.on_event(OrderAccepted(client_id="o2", venue_order_id="9", market=ETH, ts_ms=4), 5)
    assert ledger.on_submit_outcome("o2", Unknown(reason="timeout"), 10) == []
    assert ledger.resolve("o2", NotFound(final=True), 20) == [change("o2", S.CANCELED)]
    assert order(ledger, "o2").reason == "not found at the venue"


def test_unknown_never_becomes_rejected_by_waiting_cancelling_or_a_non_final_not_found() -> None:
    ledger = OrderLedger()
    unknown(ledger, req("o1"), 0)
    # Reconciliation long after: not listed, so it is queried, and nothing else happens.
    result = ledger.reconcile(snap(60_000), 60_000)
    assert (result.changes, result.to_query) == ((), ("o1",))
    assert ledger.resolve("o1", NotFound(final=False), 60_100) == []
    assert order(ledger, "o1").state is S.UNKNOWN
    # A cancel the venue refuses ("never placed") leaves it pending; the fills decide.
    ledger.cancel_sent("o1", 61_000)
    assert ledger.on_cancel_outcome("o1", Rejected(reason="Order was never placed"), 61_100) == []
    o1 = order(ledger, "o1")
    assert (o1.state, o1.reason) == (S.PENDING_CANCEL, "Order was never placed")
    # Still not a reject when the venue closes it without fills: that is a cancel.
    assert ledger.on_event(
        OrderCanceled(client_id="o1", venue_order_id="1", market=ETH, ts_ms=0), 62_000
    ) == [change("o1", S.CANCELED)]


@pytest.mark.parametrize(
    ("settle", "state", "remaining", "reason"),
    [
        pytest.param(
            lambda lg: lg.on_event(OrderAccepted(client_id="o1", venue_order_id="4", market=ETH, ts_ms=1), 9),
            S.ACCEPTED,
            "2",
            "timeout",
            id="accepted-event",
        ),
        pytest.param(
            lambda lg: lg.on_submit_outcome("o1", Resting(venue_order_id="4"), 9),
            S.ACCEPTED,
            "2",
            "timeout",
            id="late-resting-reply",
        ),
        pytest.param(
            lambda lg: lg.reconcile(snap(5_000, (report("o1", "4", "2"),)), 5_000).changes,
            S.ACCEPTED,
            "2",
            "timeout",
            id="snapshot-lists-it",
        ),
        pytest.param(
            lambda lg: lg.reconcile(snap(5_000, (report("o1", "4", "1.5", "2"),)), 5_000).changes,
            S.PARTIALLY_FILLED,
            "1.5",
            "timeout",
            id="snapshot-lists-it-part-filled",
        ),
        pytest.param(
            lambda lg: lg.on_event(fill("o1", "t1", "0.5", venue_order_id="4"), 9),
            S.PARTIALLY_FILLED,
            "1.5",
            "timeout",
            id="partial-fill",
        ),
        pytest.param(
            lambda lg: lg.on_event(fill("o1", "t1", "2", venue_order_id="4"), 9),
            S.FILLED,
            "0",
            "timeout",
            id="full-fill",
        ),
        pytest.param(
            lambda lg: lg.resolve("o1", report("o1", "4", "1.25", "2"), 9),
            S.ACCEPTED,
            "1.25",
            "timeout",
            id="query-open",
        ),
        pytest.param(
            lambda lg: lg.on_event(
                OrderRejected(client_id="o1", venue_order_id=None, market=ETH, ts_ms=1, reason="tick"), 9
            ),
            S.REJECTED,
            "0",
            "tick",
            id="rejected-event",
        ),
        pytest.param(
            lambda lg: lg.resolve("o1", NotFound(final=True), 9),
            S.REJECTED,
            "0",
            "never reached the venue",
            id="final-not-found",
        ),
        pytest.param(
            lambda lg: lg.resolve("o1", NotFound(final=False), 9),
            S.UNKNOWN,
            "2",
            "timeout",
            id="non-final-not-found",
        ),
    ],
)
def test_what_settles_an_unknown_order(
    settle: Callable[[OrderLedger], object], state: OrderState, remaining: str, reason: str
) -> None:
    ledger = OrderLedger()
    unknown(ledger, req("o1", "2"), 0)
    settle(ledger)
    o1 = order(ledger, "o1")
    assert (o1.state, o1.remaining, o1.reason) == (state, D(remaining), reason)


# ---- live orders ----------------------------------------------------------------------------------


def test_live_orders_are_the_maybe_live_ones_at_their_remaining_size() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("sub", "1", price="99"), 0)
    unknown(ledger, req("unk", "2", price="98"), 0)
    resting(ledger, req("acc", "3", side=Side.SELL, price="101"), "a")
    resting(ledger, req("part", "4", side=Side.SELL, price="102"), "p")
    ledger.on_event(fill("part", "tp", "1.5", venue_order_id="p", side=Side.SELL, price="102"), 1)
    resting(ledger, req("pend", "1", price="97"), "c")
    ledger.cancel_sent("pend", 2)
    resting(ledger, req("filled", "1", price="96"), "f")
    ledger.on_event(fill("filled", "tf", "1", venue_order_id="f", price="96"), 3)
    resting(ledger, req("canc", "1", price="95"), "x")
    ledger.on_cancel_outcome("canc", Canceled(), 4)
    ledger.submitted(req("rej", "1", price="94"), 0)
    ledger.on_submit_outcome("rej", Rejected(reason="no"), 5)
    resting(ledger, req("btc", "1", market=BTC), "b")

    assert {o.client_id: o.state for o in ledger.orders()} == {
        "sub": S.SUBMITTED,
        "unk": S.UNKNOWN,
        "acc": S.ACCEPTED,
        "part": S.PARTIALLY_FILLED,
        "pend": S.PENDING_CANCEL,
        "filled": S.FILLED,
        "canc": S.CANCELED,
        "rej": S.REJECTED,
        "btc": S.ACCEPTED,
    }
    assert ledger.live_orders(ETH) == [
        LiveOrder(order_id="sub", side=Side.BUY, price=D(99), size=D(1)),
        LiveOrder(order_id="unk", side=Side.BUY, price=D(98), size=D(2)),
        LiveOrder(order_id="acc", side=Side.SELL, price=D(101), size=D(3)),
        LiveOrder(order_id="part", side=Side.SELL, price=D(102), size=D("2.5")),
    ]
    assert ledger.live_orders(BTC) == [LiveOrder(order_id="btc", side=Side.BUY, price=D(100), size=D(1))]
    assert [o.client_id for o in ledger.pending_cancels(ETH)] == ["pend"]
    assert {o.client_id for o in ledger.orders([S.FILLED, S.CANCELED])} == {"filled", "canc"}


# ---- cancels --------------------------------------------------------------------------------------


def test_cancel_canceled_is_canceled() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    ledger.cancel_sent("o1", 100)
    o1 = order(ledger, "o1")
    assert (o1.state, o1.cancel_sent_ms) == (S.PENDING_CANCEL, 100)
    assert ledger.live_orders(ETH) == []
    assert ledger.on_cancel_outcome("o1", Canceled(), 150) == [change("o1", S.CANCELED)]
    assert (o1.state, o1.reason, o1.remaining) == (S.CANCELED, "canceled", D(0))
    # Anything after the close is no news.
    assert ledger.on_cancel_outcome("o1", Canceled(), 160) == []
    ledger.cancel_sent("o1", 170)
    assert o1.state is S.CANCELED


def test_cancel_racing_the_last_fill() -> None:
    ledger = OrderLedger()
    # The fill lands first: FILLED, and the cancel's reply changes nothing.
    resting(ledger, req("o1", "2"), "1")
    ledger.cancel_sent("o1", 100)
    assert ledger.on_event(fill("o1", "t1", "2", venue_order_id="1"), 120) == [change("o1", S.FILLED, "2")]
    assert ledger.on_cancel_outcome("o1", Canceled(), 150) == []
    assert order(ledger, "o1").state is S.FILLED
    # The cancel's reply lands first: CANCELED, then the late fill that completed it refines it to FILLED.
    resting(ledger, req("o2", "2"), "2")
    ledger.on_event(fill("o2", "t2", "0.5", venue_order_id="2"), 90)
    ledger.cancel_sent("o2", 100)
    assert ledger.on_cancel_outcome("o2", Canceled(), 150) == [change("o2", S.CANCELED)]
    assert ledger.on_event(fill("o2", "t3", "1.5", venue_order_id="2"), 160) == [
        change("o2", S.FILLED, "1.5")
    ]
    assert order(ledger, "o2").state is S.FILLED


def test_adopted_fully_filled_order_closes_as_filled() -> None:
    # The one way `_close` meets a fully filled non-terminal order: a listed order with nothing left.
    ledger = OrderLedger()
    result = ledger.reconcile(snap(1_000, (report("e1", "55", "0", "3"),)), 1_000)
    assert result.adopted == ("e1",)
    assert ledger.on_event(
        OrderCanceled(client_id=None, venue_order_id="55", market=ETH, ts_ms=0), 1_100
    ) == [change("e1", S.FILLED)]


@pytest.mark.parametrize(
    "outcome",
    [Rejected(reason="Order was never placed, already canceled, or filled"), Unknown(reason="timeout")],
)
def test_cancel_refused_or_unknown_stays_pending(outcome: Rejected | Unknown) -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    ledger.cancel_sent("o1", 100)
    assert ledger.on_cancel_outcome("o1", outcome, 150) == []
    o1 = order(ledger, "o1")
    assert (o1.state, o1.reason) == (S.PENDING_CANCEL, outcome.reason)
    assert o1.state.maybe_live
    assert ledger.live_orders(ETH) == []
    assert ledger.pending_cancels(ETH) == [o1]


def test_stale_pending_cancel_listed_open_is_live_again() -> None:
    ledger = OrderLedger()
    resting(ledger, req("old", "2"), "1", now_ms=0)
    resting(ledger, req("part", "2"), "2", now_ms=0)
    resting(ledger, req("new", "2"), "3", now_ms=0)
    ledger.cancel_sent("old", 1_000)
    ledger.cancel_sent("part", 1_000)
    ledger.cancel_sent("new", 4_000)
    listed = (report("old", "1", "2"), report("part", "2", "0.5", "2"), report("new", "3", "2"))
    result = ledger.reconcile(snap(5_000, listed), 5_100, grace_ms=2_000)
    # Sent 4 s before the snapshot: the cancel evidently missed; sent 1 s before: still on its way.
    assert result.changes == (change("old", S.ACCEPTED), change("part", S.PARTIALLY_FILLED))
    assert result.to_query == ()
    assert order(ledger, "new").state is S.PENDING_CANCEL
    assert ledger.live_orders(ETH) == [
        LiveOrder(order_id="old", side=Side.BUY, price=D(100), size=D(2)),
        LiveOrder(order_id="part", side=Side.BUY, price=D(100), size=D("0.5")),
    ]


def test_pending_cancel_not_listed_is_queried_then_settled() -> None:
    ledger = OrderLedger()
    resting(ledger, req("a", "2"), "1")
    resting(ledger, req("b", "2"), "2")
    resting(ledger, req("c", "2"), "3")
    for cid in ("a", "b", "c"):
        ledger.cancel_sent(cid, 1_000)
    result = ledger.reconcile(snap(5_000), 5_000)
    assert result.to_query == ("a", "b", "c")
    assert ledger.resolve("a", NotFound(final=True), 5_100) == [change("a", S.CANCELED)]
    assert order(ledger, "a").reason == "not found at the venue"
    assert ledger.resolve("b", report("b", "2", "0", "2", state=S.FILLED), 5_100) == [change("b", S.FILLED)]
    assert ledger.resolve("c", report("c", "3", "1", "2", state=S.CANCELED), 5_100) == [
        change("c", S.CANCELED)
    ]
    assert order(ledger, "c").reason == "closed at the venue"


# ---- replaces -------------------------------------------------------------------------------------


def test_replace_resting_swaps_the_orders() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2", price="100"), "1")
    ledger.replace_sent("o1", req("o2", "3", price="99"), 100)
    o1, o2 = order(ledger, "o1"), order(ledger, "o2")
    assert (o1.state, o1.replaced_by, o2.state) == (S.PENDING_CANCEL, "o2", S.SUBMITTED)
    assert ledger.live_orders(ETH) == [LiveOrder(order_id="o2", side=Side.BUY, price=D(99), size=D(3))]
    got = ledger.on_replace_outcome("o1", "o2", Resting(venue_order_id="2"), 150)
    assert got == [change("o2", S.ACCEPTED), change("o1", S.CANCELED)]
    assert (o1.state, o1.reason, o2.state, o2.venue_order_id) == (S.CANCELED, "replaced", S.ACCEPTED, "2")


def test_replace_executed_fills_the_new_and_closes_the_old() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    ledger.replace_sent("o1", req("o2", "2", price="105"), 100)
    got = ledger.on_replace_outcome(
        "o1", "o2", Executed(venue_order_id="2", filled_size=D(2), avg_price=D(101)), 150
    )
    assert got == [change("o2", S.FILLED), change("o1", S.CANCELED)]


def test_replace_rejected_leaves_the_old_order_as_it_was() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    resting(ledger, req("p1", "2"), "2")
    ledger.on_event(fill("p1", "t1", "0.5", venue_order_id="2"), 10)
    ledger.replace_sent("o1", req("o2", "2", price="99"), 100)
    ledger.replace_sent("p1", req("p2", "2", price="99"), 100)
    reason = "Cannot modify canceled or filled order"
    assert ledger.on_replace_outcome("o1", "o2", Rejected(reason=reason), 150) == [
        change("o2", S.REJECTED),
        change("o1", S.ACCEPTED),
    ]
    assert ledger.on_replace_outcome("p1", "p2", Rejected(reason=reason), 150) == [
        change("p2", S.REJECTED),
        change("p1", S.PARTIALLY_FILLED),
    ]
    o1, o2 = order(ledger, "o1"), order(ledger, "o2")
    assert (o1.state, o1.replaced_by, o2.state, o2.reason) == (S.ACCEPTED, None, S.REJECTED, reason)
    # Both may be gone: out of the diff until the venue says, queried even when just sent.
    assert ledger.live_orders(ETH) == []
    assert {o.client_id for o in ledger.suspects()} == {"o1", "p1"}
    result = ledger.reconcile(snap(150, (report("o1", "1", "2", "2"),)), 150)
    assert result.to_query == ("p1",)
    assert [o.order_id for o in ledger.live_orders(ETH)] == ["o1"]
    ledger.resolve("p1", report("p1", "2", "1.5", "2", side=Side.BUY), 160)
    assert [o.order_id for o in ledger.live_orders(ETH)] == ["o1", "p1"]
    assert ledger.suspects() == []


def test_a_refused_replace_of_an_order_that_never_landed_is_queried_not_retried() -> None:
    """The slow-venue livelock: a submit timed out (never landed), every replace of it is refused."""
    ledger = OrderLedger()
    unknown(ledger, req("o1", "1"), 0)
    ledger.replace_sent("o1", req("o2", "1", price="99"), 1_000)
    refused = Rejected(reason="Cannot modify canceled or filled order")
    assert ledger.on_replace_outcome("o1", "o2", refused, 1_010) == [
        change("o2", S.REJECTED),
        change("o1", S.UNKNOWN),
    ]
    assert ledger.live_orders(ETH) == []  # the diff will not replace it again
    # Queried at the next reconciliation although its last send is inside the grace.
    assert ledger.reconcile(snap(1_100), 1_100, grace_ms=2_000).to_query == ("o1",)
    assert ledger.resolve("o1", NotFound(final=True), 12_000) == [change("o1", S.REJECTED)]


def test_replace_unknown_leaves_both_maybe_live() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    ledger.replace_sent("o1", req("o2", "2", price="99"), 100)
    assert ledger.on_replace_outcome("o1", "o2", Unknown(reason="timeout"), 150) == [change("o2", S.UNKNOWN)]
    assert (order(ledger, "o1").state, order(ledger, "o2").state) == (S.PENDING_CANCEL, S.UNKNOWN)
    assert [o.order_id for o in ledger.live_orders(ETH)] == ["o2"]


def test_replace_of_an_order_that_filled_meanwhile() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    ledger.replace_sent("o1", req("o2", "2", price="99"), 100)
    ledger.on_event(fill("o1", "t1", "2", venue_order_id="1"), 120)
    # The venue rejects the modify (the order is gone); the old order stays FILLED.
    assert ledger.on_replace_outcome("o1", "o2", Rejected(reason="filled"), 150) == [change("o2", S.REJECTED)]
    assert order(ledger, "o1").state is S.FILLED


# ---- events ---------------------------------------------------------------------------------------


def test_order_canceled_event() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    event = OrderCanceled(client_id="o1", venue_order_id="1", market=ETH, ts_ms=5, reason="margin")
    assert ledger.on_event(event, 10) == [change("o1", S.CANCELED)]
    assert order(ledger, "o1").reason == "margin"
    assert ledger.on_event(event, 11) == []  # terminal: no news
    unknown_order = OrderCanceled(client_id="zz", venue_order_id="404", market=ETH, ts_ms=5)
    assert ledger.on_event(unknown_order, 12) == []


def test_order_rejected_event() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    event = OrderRejected(client_id=None, venue_order_id="1", market=ETH, ts_ms=5, reason="reduce only")
    assert ledger.on_event(event, 10) == [change("o1", S.REJECTED)]
    assert order(ledger, "o1").reason == "reduce only"
    # Neither a terminal order nor an order the ledger cannot find is touched.
    resting(ledger, req("o2", "1"), "2")
    ledger.on_event(fill("o2", "t", "1", venue_order_id="2"), 11)
    late = OrderRejected(client_id="o2", venue_order_id="2", market=ETH, ts_ms=5, reason="late")
    assert ledger.on_event(late, 12) == []
    assert order(ledger, "o2").state is S.FILLED
    nobody = OrderRejected(client_id=None, venue_order_id=None, market=ETH, ts_ms=5, reason="?")
    assert ledger.on_event(nobody, 13) == []


def test_accepted_event_does_not_undo_a_fill_or_a_pending_cancel() -> None:
    ledger = OrderLedger()
    ledger.submitted(req("o1", "2"), 0)
    ledger.on_event(fill("o1", "t1", "1", venue_order_id="1"), 5)
    late = OrderAccepted(client_id="o1", venue_order_id="1", market=ETH, ts_ms=1)
    assert ledger.on_event(late, 6) == []
    assert order(ledger, "o1").state is S.PARTIALLY_FILLED
    ledger.cancel_sent("o1", 7)
    assert ledger.on_event(late, 8) == []
    assert order(ledger, "o1").state is S.PENDING_CANCEL
    assert ledger.on_event(OrderAccepted(client_id="zz", venue_order_id="9", market=ETH, ts_ms=1), 9) == []


def test_fills_are_deduplicated_by_trade_id_across_stream_and_snapshot() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "3"), "1")
    f = fill("o1", "T-1", "1", venue_order_id="1", fee="0.02")
    assert ledger.on_event(f, 10) == [change("o1", S.PARTIALLY_FILLED, "1")]
    assert ledger.on_event(f, 11) == []  # the stream repeats itself after a reconnect
    result = ledger.reconcile(snap(5_000, (report("o1", "1", "2", "3"),), {ETH: "1"}, fills=(f,)), 5_000)
    assert (result.inferred_fills, result.changes, result.position_corrections) == (0, (), ())
    o1 = order(ledger, "o1")
    assert (o1.filled, o1.remaining, ledger.position(ETH), ledger.fees_paid) == (D(1), D(2), D(1), D("0.02"))


def test_fill_memory_is_bounded() -> None:
    ledger = OrderLedger(fill_memory=2)
    resting(ledger, req("o1", "10"), "1")
    for trade_id in ("a", "b", "c"):
        ledger.on_event(fill("o1", trade_id, "1", venue_order_id="1"), 0)
    assert ledger.position(ETH) == 3
    ledger.on_event(fill("o1", "a", "1", venue_order_id="1"), 0)  # forgotten: counted again
    ledger.on_event(fill("o1", "c", "1", venue_order_id="1"), 0)  # remembered
    assert ledger.position(ETH) == 4


def test_stream_fills_of_unknown_orders_are_held_until_the_venue_confirms_them() -> None:
    ledger = OrderLedger()
    x1 = fill(None, "x1", "0.3", venue_order_id="999", side=Side.SELL, fee="0.01")
    x2 = fill("someone-else", "x2", "0.1", venue_order_id="998", fee="0.01")
    fake = fill(None, "fake", "1000", venue_order_id="1", price="1")
    for i, f in enumerate((x1, x2, fake)):
        assert ledger.on_event(f, 10 + i) == []
    # Nothing booked: no position, no fee, hedges see flat.
    assert (ledger.position(ETH), ledger.unmatched_fills, ledger.fees_paid) == (0, 0, 0)
    assert {h.fill.trade_id for h in ledger.held_fills()} == {"x1", "x2", "fake"}
    # The venue's records have x1 and x2 (not the fake): those are booked, the fake is dropped.
    result = ledger.reconcile(snap(5_000, fills=(x1, x2), positions={ETH: "-0.2"}), 5_000)
    assert {f.trade_id for f in result.confirmed_fills} == {"x1", "x2"}
    assert [h.fill.trade_id for h in result.discarded_fills] == ["fake"]
    assert (result.inferred_fills, result.position_corrections) == (0, ())
    assert (ledger.position(ETH), ledger.unmatched_fills, ledger.fees_paid) == (D("-0.2"), 2, D("0.02"))
    assert ledger.held_fills() == []


@pytest.mark.parametrize(
    ("size", "side", "price", "why"),
    [
        ("3", Side.BUY, "100", "already filled"),  # more than the order's size
        ("1", Side.SELL, "100", "fill of a buy"),  # wrong side
        ("1", Side.BUY, "101", "through the limit"),  # a buy filled above its limit
    ],
)
def test_stream_fills_that_do_not_fit_the_order_are_held(size: str, side: Side, price: str, why: str) -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    assert ledger.on_event(fill("o1", "t1", size, venue_order_id="1", side=side, price=price), 5) == []
    (held,) = ledger.held_fills()
    assert why in held.why
    assert (ledger.position(ETH), order(ledger, "o1").filled) == (0, 0)
    # A held fill the venue's records lack is discarded once a snapshot read after the grace lacks it.
    assert ledger.reconcile(snap(1_000), 1_000, grace_ms=2_000).discarded_fills == ()
    assert len(ledger.reconcile(snap(3_000), 3_000, grace_ms=2_000).discarded_fills) == 1


def test_fees_and_funding_accumulate() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "3"), "1")
    ledger.on_event(fill("o1", "t1", "1", venue_order_id="1", fee="0.05"), 1)
    ledger.on_event(fill("o1", "t2", "1", venue_order_id="1", fee="-0.02"), 2)  # a maker rebate
    t3 = fill(None, "t3", "1", venue_order_id="?", fee="0.10", market=BTC)
    ledger.reconcile(snap(3, (), {ETH: "2", BTC: "1"}, (t3,)), 3)
    assert ledger.fees_paid == D("0.13")
    for amount in ("1.25", "-0.5"):
        paid = FundingPaid(market=ETH, amount=D(amount), rate=D("0.0001"), position=D(2), ts_ms=4)
        assert ledger.on_event(paid, 4) == []
    assert ledger.funding_received == D("0.75")
    assert (ledger.position(ETH), ledger.position(BTC)) == (D(2), D(1))


def test_events_match_by_venue_id_when_the_client_id_is_missing() -> None:
    ledger = OrderLedger()
    unknown(ledger, req("o1", "2"), 0)
    # An unlinked venue id matches nothing: the fill is held for the venue's records.
    ledger.on_event(fill(None, "t0", "0.5", venue_order_id="42"), 1)
    assert (len(ledger.held_fills()), order(ledger, "o1").filled) == (1, D(0))
    # The accept carries both ids and links them; from then on the venue id alone is enough.
    assert ledger.on_event(OrderAccepted(client_id="o1", venue_order_id="42", market=ETH, ts_ms=2), 2) == [
        change("o1", S.ACCEPTED)
    ]
    assert ledger.on_event(fill(None, "t1", "0.5", venue_order_id="42"), 3) == [
        change("o1", S.PARTIALLY_FILLED, "0.5")
    ]
    assert ledger.on_event(OrderCanceled(client_id=None, venue_order_id="42", market=ETH, ts_ms=4), 4) == [
        change("o1", S.CANCELED)
    ]
    o1 = order(ledger, "o1")
    assert (o1.filled, ledger.position(ETH), ledger.unmatched_fills) == (D("0.5"), D("0.5"), 0)


def test_a_fill_under_a_new_venue_id_relinks_the_order() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    ledger.on_event(fill("o1", "t1", "0.5", venue_order_id="2"), 5)  # a modify kept o1 under venue id 2
    assert ledger.by_venue_id("2") is order(ledger, "o1")
    assert ledger.on_event(fill(None, "t2", "0.5", venue_order_id="2"), 6) == [
        change("o1", S.PARTIALLY_FILLED, "0.5")
    ]


def test_fills_after_filled_keep_it_filled() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "1"), "1")
    ledger.on_event(fill("o1", "t1", "1", venue_order_id="1"), 1)
    # A streamed over-fill does not fit the order: held until the venue's records have it, then booked
    # in the position (the venue's word); the state stays FILLED.
    t2 = fill("o1", "t2", "0.5", venue_order_id="1")
    assert ledger.on_event(t2, 2) == []
    assert ledger.position(ETH) == 1
    result = ledger.reconcile(snap(3, fills=(t2,), positions={ETH: "1.5"}), 3)
    assert result.changes == (change("o1", S.FILLED, "0.5"),)
    o1 = order(ledger, "o1")
    assert (o1.state, o1.filled, o1.remaining, ledger.position(ETH)) == (S.FILLED, D("1.5"), D(0), D("1.5"))


# ---- reconciliation -------------------------------------------------------------------------------


def test_reconcile_infers_missed_fills_in_time_order() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    missed = (
        fill("o1", "t2", "1.5", venue_order_id="1", ts_ms=200, fee="0.03"),
        fill("o1", "t1", "0.5", venue_order_id="1", ts_ms=100, fee="0.01"),
    )
    result = ledger.reconcile(snap(5_000, (), {ETH: "2"}, fills=missed), 5_000)
    assert result.inferred_fills == 2
    assert result.changes == (change("o1", S.PARTIALLY_FILLED, "0.5"), change("o1", S.FILLED, "1.5"))
    assert (result.to_query, result.position_corrections) == ((), ())
    assert (order(ledger, "o1").state, ledger.position(ETH), ledger.fees_paid) == (S.FILLED, D(2), D("0.04"))


def test_reconcile_adopts_open_orders_it_does_not_know() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "1"), "1")
    listed = (
        report("o1", "1", "1"),
        report("ext-7", "70", "2", side=Side.SELL, price="105", ts_ms=300),
        report(None, "71", "0.5", "2", price="95"),
    )
    result = ledger.reconcile(snap(5_000, listed), 5_100)
    assert result.adopted == ("ext-7", "x71")
    assert result.changes == ()
    ext = order(ledger, "ext-7")
    assert (ext.state, ext.external, ext.venue_order_id, ext.sent_ms, ext.updated_ms) == (
        S.ACCEPTED,
        True,
        "70",
        300,
        5_100,
    )
    x71 = order(ledger, "x71")
    assert (x71.state, x71.filled, x71.remaining, x71.request.size) == (
        S.PARTIALLY_FILLED,
        D("1.5"),
        D("0.5"),
        D(2),
    )
    assert ledger.by_venue_id("71") is x71
    assert [(o.order_id, o.size) for o in ledger.live_orders(ETH)] == [
        ("o1", D(1)),
        ("ext-7", D(2)),
        ("x71", D("0.5")),
    ]
    # Adopted again next time? No: now known by venue id.
    assert ledger.reconcile(snap(6_000, listed), 6_000).adopted == ()


def test_reconcile_queries_only_unlisted_orders_older_than_the_grace() -> None:
    ledger = OrderLedger()
    resting(ledger, req("old", "1"), "1", now_ms=1_000)
    unknown(ledger, req("old-unk", "1"), 1_000)
    ledger.submitted(req("old-sub", "1"), 1_000)
    resting(ledger, req("edge", "1"), "2", now_ms=3_000)  # exactly `grace` before the snapshot
    resting(ledger, req("recent", "1"), "3", now_ms=4_500)
    resting(ledger, req("listed", "1"), "4", now_ms=1_000)
    resting(ledger, req("done", "1"), "5", now_ms=1_000)
    ledger.on_cancel_outcome("done", Canceled(), 1_100)
    resting(ledger, req("recancel", "1"), "6", now_ms=1_000)
    ledger.cancel_sent("recancel", 4_000)  # an old order, but its cancel went out recently
    result = ledger.reconcile(snap(5_000, (report("listed", "4", "1"),)), 5_050, grace_ms=2_000)
    assert result.to_query == ("old", "old-unk", "old-sub")
    # Nothing is ruled on without the query.
    assert order(ledger, "old-unk").state is S.UNKNOWN
    assert order(ledger, "old").state is S.ACCEPTED


def test_reconcile_updates_remaining_but_never_reopens_a_terminal_order() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "3"), "1")
    resting(ledger, req("o2", "3"), "2")
    ledger.on_cancel_outcome("o2", Canceled(), 10)
    listed = (report("o1", "1", "1.25", "3"), report("o2", "2", "3"))  # o2: a snapshot older than the close
    result = ledger.reconcile(snap(5, listed), 20)
    assert result.changes == ()  # o1 was ACCEPTED: the fills, not the snapshot, move it
    assert order(ledger, "o1").remaining == D("1.25")
    o2 = order(ledger, "o2")
    assert (o2.state, o2.remaining) == (S.CANCELED, D(0))
    assert [o.order_id for o in ledger.live_orders(ETH)] == ["o1"]


def test_reconcile_takes_the_venues_positions() -> None:
    ledger = OrderLedger()
    resting(ledger, req("e", "1"), "1")
    resting(ledger, req("s", "2", market="SOL"), "2")
    ledger.on_event(fill("e", "a", "1", venue_order_id="1", market=ETH), 0)
    ledger.on_event(fill("s", "b", "2", venue_order_id="2", market="SOL"), 0)
    result = ledger.reconcile(snap(1_000, positions={ETH: "0.5", BTC: "-1", "SOL": "2"}), 1_000)
    # ETH differs, BTC we never saw, SOL agrees: (market, ours, venue's), sorted by market.
    assert result.position_corrections == ((BTC, D(0), D(-1)), (ETH, D(1), D("0.5")))
    assert (ledger.position(ETH), ledger.position(BTC), ledger.position("SOL")) == (D("0.5"), D(-1), D(2))
    # A market the venue no longer lists is flat.
    result = ledger.reconcile(snap(2_000, positions={BTC: "-1", "SOL": "2"}), 2_000)
    assert result.position_corrections == ((ETH, D("0.5"), D(0)),)
    assert ledger.position(ETH) == 0
    assert ledger.reconcile(snap(3_000, positions={BTC: "-1", "SOL": "2"}), 3_000).position_corrections == ()


def test_resolve_with_the_venues_report() -> None:
    ledger = OrderLedger()
    for cid in ("a", "b", "c", "d", "e"):
        unknown(ledger, req(cid, "2"), 0)
    # Open: accepted at the venue's remaining size.
    assert ledger.resolve("a", report("a", "10", "1.5", "2"), 100) == [change("a", S.ACCEPTED)]
    a = order(ledger, "a")
    assert (a.remaining, a.venue_order_id) == (D("1.5"), "10")
    # Filled: FILLED; `filled` and the position wait for the fills, which are counted once.
    assert ledger.resolve("b", report("b", "11", "0", "2", state=S.FILLED), 100) == [change("b", S.FILLED)]
    assert order(ledger, "b").filled == 0
    ledger.on_event(fill(None, "tb", "2", venue_order_id="11"), 110)
    assert (order(ledger, "b").filled, order(ledger, "b").state) == (D(2), S.FILLED)
    # Canceled with everything traded: FILLED; canceled with part traded: CANCELED.
    assert ledger.resolve("c", report("c", "12", "0", "2", state=S.CANCELED), 100) == [change("c", S.FILLED)]
    assert ledger.resolve("d", report("d", "13", "1", "2", state=S.CANCELED), 100) == [
        change("d", S.CANCELED)
    ]
    assert order(ledger, "d").reason == "closed at the venue"
    # The venue's own REJECTED verdict.
    assert ledger.resolve("e", report("e", "14", "2", state=S.REJECTED), 100) == [change("e", S.REJECTED)]
    # Terminal orders ignore further answers.
    assert ledger.resolve("d", report("d", "13", "1", "2"), 200) == []
    assert ledger.resolve("d", NotFound(final=True), 200) == []


def test_resolve_open_report_does_not_undo_a_pending_cancel() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "2"), "1")
    ledger.cancel_sent("o1", 10)
    assert ledger.resolve("o1", report("o1", "1", "0.75", "2"), 20) == []
    o1 = order(ledger, "o1")
    assert (o1.state, o1.remaining) == (S.PENDING_CANCEL, D("0.75"))


# ---- prune ----------------------------------------------------------------------------------------


def test_prune_forgets_only_old_terminal_orders() -> None:
    ledger = OrderLedger()
    resting(ledger, req("old-done", "1"), "1", now_ms=0)
    ledger.on_cancel_outcome("old-done", Canceled(), 100)
    resting(ledger, req("new-done", "1"), "2", now_ms=0)
    ledger.on_cancel_outcome("new-done", Canceled(), 900)
    unknown(ledger, req("old-unknown", "1"), 0)
    resting(ledger, req("old-live", "1"), "3", now_ms=0)
    ledger.submitted(req("old-rej", "1"), 0)
    ledger.on_submit_outcome("old-rej", Rejected(reason="no"), 50)
    assert ledger.prune(before_ms=500) == 2
    assert {o.client_id for o in ledger.orders()} == {"new-done", "old-unknown", "old-live"}
    assert ledger.get("old-done") is None
    assert ledger.by_venue_id("1") is None
    assert ledger.by_venue_id("2") is order(ledger, "new-done")
    assert ledger.prune(before_ms=500) == 0


def test_prune_keeps_a_venue_id_now_owned_by_the_replacement() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "1"), "7", now_ms=0)
    ledger.replace_sent("o1", req("o2", "1", price="99"), 10)
    # A venue whose modify keeps the venue order id.
    ledger.on_replace_outcome("o1", "o2", Resting(venue_order_id="7"), 20)
    assert ledger.prune(before_ms=1_000) == 1
    assert ledger.by_venue_id("7") is order(ledger, "o2")
    assert ledger.on_event(fill(None, "t", "1", venue_order_id="7", price="99"), 30) == [
        change("o2", S.FILLED, "1")
    ]


# ---- changes for the risk gate --------------------------------------------------------------------


class GateRecorder:
    """What the quoting loop does with each change: fills shrink the in-flight size, closes free it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Decimal | None]] = []

    def apply(self, changes: list[OrderChange] | tuple[OrderChange, ...]) -> None:
        for c in changes:
            if c.filled > 0:
                self.calls.append(("on_fill", c.client_id, c.filled))
            if c.state.terminal:
                self.calls.append(("on_done", c.client_id, None))


def test_changes_feed_the_risk_gate() -> None:
    ledger = OrderLedger()
    gate = GateRecorder()
    ledger.submitted(req("o1", "3"), 0)
    gate.apply(ledger.on_submit_outcome("o1", Resting(venue_order_id="1"), 1))
    gate.apply(ledger.on_event(fill("o1", "t1", "1", venue_order_id="1"), 2))
    gate.apply(ledger.on_event(fill("o1", "t1", "1", venue_order_id="1"), 3))  # duplicate: nothing
    gate.apply(
        ledger.reconcile(
            snap(10_000, (), {ETH: "3"}, (fill("o1", "t2", "2", venue_order_id="1"),)), 4
        ).changes
    )
    ledger.submitted(req("o2", "1"), 5)
    gate.apply(ledger.on_submit_outcome("o2", Unknown(reason="timeout"), 6))
    gate.apply(ledger.resolve("o2", NotFound(final=True), 7))
    ledger.submitted(req("o3", "1"), 8)
    gate.apply(ledger.on_submit_outcome("o3", Resting(venue_order_id="3"), 9))
    ledger.cancel_sent("o3", 10)
    gate.apply(ledger.on_cancel_outcome("o3", Canceled(), 11))
    assert gate.calls == [
        ("on_fill", "o1", D(1)),
        ("on_fill", "o1", D(2)),
        ("on_done", "o1", None),
        ("on_done", "o2", None),
        ("on_done", "o3", None),
    ]


def test_changes_fill_deltas_sum_to_the_orders_filled() -> None:
    ledger = OrderLedger()
    resting(ledger, req("o1", "5"), "1")
    deltas: list[OrderChange] = []
    for i, size in enumerate(("0.5", "1.25", "0.25")):
        deltas += ledger.on_event(fill("o1", f"t{i}", size, venue_order_id="1"), i)
    assert [c.state for c in deltas] == [S.PARTIALLY_FILLED] * 3
    assert sum((c.filled for c in deltas), D(0)) == order(ledger, "o1").filled == D(2)


# ---- properties -----------------------------------------------------------------------------------

N_ORDERS = 6
MARKETS = (ETH, BTC)
HALF = D("0.5")
_REPORT_STATES = (S.ACCEPTED, S.PARTIALLY_FILLED, S.CANCELED, S.FILLED, S.REJECTED)
_DT = st.integers(0, 1_500)


def _cid(i: int) -> str:
    return f"o{i}"


def _vid(i: int) -> str:
    return f"v{i}"


class LedgerMachine(RuleBasedStateMachine):
    """Random interleavings against a model of what the venue sent: each order has a plan of fills (unique
    trade ids, summing to at most its size) that the stream and snapshots may deliver any number of times,
    in any order. Snapshot positions are the model's, so a correction means the ledger booked wrongly."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = OrderLedger()
        self.now = 0
        self.requests: dict[str, OrderRequest] = {}
        self.plans: dict[str, list[OrderFilled]] = {}
        self.foreign = [
            fill(None, f"x{k}", str(HALF * (k + 1)), venue_order_id="vx", side=Side.SELL, fee="0.01")
            for k in range(3)
        ]
        self.delivered: dict[str, OrderFilled] = {}  # trade id -> fill, each once
        self.pending_replaces: list[tuple[str, str]] = []
        # Per step: who may turn REJECTED, who may have received a fill.
        self.reject_causes: set[str] = set()
        self.fill_targets: set[str] = set()
        self.before: dict[str, OrderState] = {}

    # -- helpers --

    def _begin(self, dt: int) -> None:
        self.now += dt
        self.reject_causes = set()
        self.fill_targets = set()
        self.before = {o.client_id: o.state for o in self.ledger.orders()}

    def _pick(self, data: st.DataObject) -> int:
        """One of the orders sent so far (the rules using it run only once there is one)."""
        return int(data.draw(st.sampled_from(sorted(self.requests)), label="order")[1:])

    def _deliver(self, f: OrderFilled) -> None:
        """A fill the ledger books: a plausible stream fill, or any fill in the venue's records."""
        self.delivered.setdefault(f.trade_id, f)
        if f.client_id is not None:
            self.fill_targets.add(f.client_id)

    def _model_position(self, market: str) -> Decimal:
        return sum((f.side.sign * f.size for f in self.delivered.values() if f.market == market), D(0))

    def _plan(self, i: int, request: OrderRequest, pieces: list[int]) -> None:
        plan: list[OrderFilled] = []
        total = D(0)
        for k, p in enumerate(pieces):
            size = HALF * p
            if total + size > request.size:
                break
            total += size
            plan.append(
                fill(
                    request.client_id,
                    f"t{i}-{k}",
                    str(size),
                    venue_order_id=_vid(i),
                    side=request.side,
                    market=request.market,
                    fee=str(D("0.001") * p),
                    ts_ms=k,
                )
            )
        self.plans[request.client_id] = plan

    def _outcome(self, i: int, kind: str, halves: int) -> SubmitOutcome:
        size = self.requests[_cid(i)].size
        if kind == "resting":
            return Resting(venue_order_id=_vid(i))
        if kind == "executed":
            return Executed(venue_order_id=_vid(i), filled_size=min(size, HALF * halves), avg_price=D(100))
        if kind == "rejected":
            return Rejected(reason="venue says no")
        return Unknown(reason="timeout")

    # -- rules --

    @precondition(lambda self: len(self.requests) < N_ORDERS)
    @rule(
        data=st.data(),
        halves=st.integers(1, 8),
        side=st.sampled_from(Side),
        tif=st.sampled_from(TimeInForce),
        pieces=st.lists(st.integers(1, 4), max_size=4),
        dt=_DT,
    )
    def submit(
        self, data: st.DataObject, halves: int, side: Side, tif: TimeInForce, pieces: list[int], dt: int
    ) -> None:
        self._begin(dt)
        i = data.draw(st.sampled_from([i for i in range(N_ORDERS) if _cid(i) not in self.requests]))
        request = req(_cid(i), str(HALF * halves), side=side, tif=tif, market=MARKETS[i % 2])
        self.requests[request.client_id] = request
        self._plan(i, request, pieces)
        self.ledger.submitted(request, self.now)

    @precondition(lambda self: self.requests)
    @rule(
        data=st.data(),
        kind=st.sampled_from(["resting", "executed", "rejected", "unknown"]),
        halves=st.integers(1, 8),
        dt=_DT,
    )
    def submit_outcome(self, data: st.DataObject, kind: str, halves: int, dt: int) -> None:
        self._begin(dt)
        i = self._pick(data)
        if kind == "rejected":
            self.reject_causes.add(_cid(i))
        self.ledger.on_submit_outcome(_cid(i), self._outcome(i, kind, halves), self.now)

    @precondition(lambda self: self.requests)
    @rule(
        data=st.data(),
        kind=st.sampled_from(["accepted", "canceled", "rejected"]),
        by_venue_id=st.booleans(),
        dt=_DT,
    )
    def order_event(self, data: st.DataObject, kind: str, by_venue_id: bool, dt: int) -> None:
        self._begin(dt)
        i = self._pick(data)
        cid = _cid(i)
        client_id = None if by_venue_id else cid  # matched by venue id, if the ledger has linked it yet
        market = self.requests[cid].market
        event: OrderAccepted | OrderCanceled | OrderRejected
        if kind == "accepted":
            event = OrderAccepted(client_id=client_id, venue_order_id=_vid(i), market=market, ts_ms=0)
        elif kind == "canceled":
            event = OrderCanceled(client_id=client_id, venue_order_id=_vid(i), market=market, ts_ms=0)
        else:
            self.reject_causes.add(cid)
            event = OrderRejected(
                client_id=client_id, venue_order_id=_vid(i), market=market, ts_ms=0, reason="r"
            )
        self.ledger.on_event(event, self.now)

    @precondition(lambda self: any(self.plans.values()))
    @rule(data=st.data(), dt=_DT)
    def stream_fill(self, data: st.DataObject, dt: int) -> None:
        """A planned fill, maybe again, maybe before an earlier one."""
        self._begin(dt)
        f = data.draw(st.sampled_from([f for plan in self.plans.values() for f in plan]), label="fill")
        self._deliver(f)
        self.ledger.on_event(f, self.now)

    @rule(k=st.integers(0, 2), dt=_DT)
    def foreign_fill(self, k: int, dt: int) -> None:
        self._begin(dt)
        # A streamed fill of no order of ours is held: not booked until a snapshot's fills have it.
        self.ledger.on_event(self.foreign[k], self.now)

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), dt=_DT)
    def cancel_sent(self, data: st.DataObject, dt: int) -> None:
        self._begin(dt)
        self.ledger.cancel_sent(_cid(self._pick(data)), self.now)

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), kind=st.sampled_from(["canceled", "rejected", "unknown"]), dt=_DT)
    def cancel_outcome(self, data: st.DataObject, kind: str, dt: int) -> None:
        self._begin(dt)
        outcome = {
            "canceled": Canceled(),
            "rejected": Rejected(reason="gone"),
            "unknown": Unknown(reason="t"),
        }
        # A refused cancel is not a reject of the order: no reject cause recorded.
        self.ledger.on_cancel_outcome(_cid(self._pick(data)), outcome[kind], self.now)

    @precondition(lambda self: self.requests and len(self.requests) < N_ORDERS)
    @rule(data=st.data(), halves=st.integers(1, 8), pieces=st.lists(st.integers(1, 4), max_size=3), dt=_DT)
    def replace_sent(self, data: st.DataObject, halves: int, pieces: list[int], dt: int) -> None:
        self._begin(dt)
        i = self._pick(data)
        free = [j for j in range(N_ORDERS) if _cid(j) not in self.requests and j % 2 == i % 2]
        if not free:
            return
        j = data.draw(st.sampled_from(free), label="new")
        old = self.requests[_cid(i)]
        request = req(_cid(j), str(HALF * halves), side=old.side, market=old.market)
        self.requests[request.client_id] = request
        self._plan(j, request, pieces)
        self.ledger.replace_sent(old.client_id, request, self.now)
        self.pending_replaces.append((old.client_id, request.client_id))

    @precondition(lambda self: self.pending_replaces)
    @rule(
        data=st.data(),
        kind=st.sampled_from(["resting", "executed", "rejected", "unknown"]),
        halves=st.integers(1, 8),
        dt=_DT,
    )
    def replace_outcome(self, data: st.DataObject, kind: str, halves: int, dt: int) -> None:
        self._begin(dt)
        n = data.draw(st.integers(0, len(self.pending_replaces) - 1), label="replace")
        old, new = self.pending_replaces.pop(n)
        if kind == "rejected":
            self.reject_causes.add(new)
        self.ledger.on_replace_outcome(old, new, self._outcome(int(new[1:]), kind, halves), self.now)

    @rule(
        data=st.data(),
        adopt=st.booleans(),
        lag=st.integers(0, 3_000),
        grace=st.integers(0, 3_000),
        dt=st.integers(0, 3_000),
    )
    def snapshot(self, data: st.DataObject, adopt: bool, lag: int, grace: int, dt: int) -> None:
        self._begin(dt)
        reports = []
        listed = (
            data.draw(
                st.lists(st.sampled_from(sorted(self.requests)), max_size=4, unique=True), label="listed"
            )
            if self.requests
            else []
        )
        for cid in listed:
            request = self.requests[cid]
            left = min(request.size, HALF * data.draw(st.integers(0, 8), label="left"))
            reports.append(
                report(
                    cid,
                    _vid(int(cid[1:])),
                    str(left),
                    str(request.size),
                    side=request.side,
                    market=request.market,
                )
            )
        if adopt:
            reports.append(report(None, "va", "1", "2", side=Side.SELL, price="110"))
        known = [f for plan in self.plans.values() for f in plan] + self.foreign
        fills = data.draw(st.lists(st.sampled_from(known), max_size=5), label="fills")
        for f in fills:
            self._deliver(f)
        positions = {m: str(self._model_position(m)) for m in MARKETS}
        result = self.ledger.reconcile(
            snap(self.now - lag, tuple(reports), positions, tuple(fills)), self.now, grace_ms=grace
        )
        assert result.position_corrections == ()
        assert result.inferred_fills <= len({f.trade_id for f in fills})
        assert set(result.adopted) <= {"xva"}
        assert not set(result.adopted) & set(self.before)
        for cid in result.to_query:
            o = self.ledger.get(cid)
            assert o is not None
            assert not o.state.terminal
            assert cid not in {r.client_id for r in reports}

    @precondition(lambda self: self.requests)
    @rule(
        data=st.data(),
        kind=st.sampled_from(["not-found", "final-not-found", "report"]),
        state=st.sampled_from(_REPORT_STATES),
        halves=st.integers(0, 8),
        dt=_DT,
    )
    def resolve(self, data: st.DataObject, kind: str, state: OrderState, halves: int, dt: int) -> None:
        self._begin(dt)
        i = self._pick(data)
        request = self.requests[_cid(i)]
        answer: OrderReport | NotFound
        if kind == "report":
            left = str(min(request.size, HALF * halves))
            answer = report(
                request.client_id,
                _vid(i),
                left,
                str(request.size),
                state=state,
                side=request.side,
                market=request.market,
            )
            if state is S.REJECTED:
                self.reject_causes.add(request.client_id)  # the venue's own verdict
        else:
            answer = NotFound(final=kind == "final-not-found")
            if answer.final:
                self.reject_causes.add(request.client_id)
        self.ledger.resolve(request.client_id, answer, self.now)

    # -- invariants (checked after every step) --

    @invariant()
    def transitions_are_allowed(self) -> None:
        """(1) REJECTED only from a reject of that order; (2) terminal stays, except fills completing it."""
        for o in self.ledger.orders():
            was = self.before.get(o.client_id)
            if was is None or was is o.state:
                continue
            if o.state is S.REJECTED:
                assert o.client_id in self.reject_causes, (o.client_id, was)
            if was.terminal:
                assert o.state is S.FILLED, (o.client_id, was, o.state)
                assert o.client_id in self.fill_targets
                assert o.filled >= o.request.size
        self.before = {o.client_id: o.state for o in self.ledger.orders()}

    @invariant()
    def positions_are_the_unique_fills(self) -> None:
        """(3) Position per market: the signed sum over distinct trade ids, whoever's the order."""
        for m in MARKETS:
            assert self.ledger.position(m) == self._model_position(m)
        assert self.ledger.fees_paid == sum((f.fee for f in self.delivered.values()), D(0))
        assert self.ledger.unmatched_fills == len({f.trade_id for f in self.foreign} & set(self.delivered))

    @invariant()
    def filled_is_the_unique_fills_of_the_order(self) -> None:
        """(4) `filled` counts each distinct fill once (so never above a size the venue respects), a
        fully filled order is FILLED, and nothing terminal has size left."""
        for cid, request in self.requests.items():
            o = order(self.ledger, cid)
            assert o.filled == sum((f.size for f in self.plans[cid] if f.trade_id in self.delivered), D(0))
            assert o.filled <= request.size
            assert o.remaining >= 0
            if o.filled >= request.size:
                assert o.state is S.FILLED
            if o.state.terminal:
                assert o.remaining == 0

    @invariant()
    def live_orders_are_maybe_live_and_not_cancelling(self) -> None:
        """(5) live_orders: exactly the non-terminal, non-cancelling, trusted orders with size left."""
        for m in MARKETS:
            expected = {
                o.client_id: o.remaining
                for o in self.ledger.orders()
                if o.request.market == m
                and not o.state.terminal
                and o.state is not S.PENDING_CANCEL
                and not o.suspect
                and o.remaining > 0
            }
            live = self.ledger.live_orders(m)
            assert {lo.order_id: lo.size for lo in live} == expected
            assert len(live) == len(expected)
        # The index of open orders is exactly the non-terminal ones.
        assert set(self.ledger._open) == {o.client_id for o in self.ledger.orders() if not o.state.terminal}


LedgerMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerMachine = LedgerMachine.TestCase


def test_positions_are_unique_fills_across_duplicates_and_reordering() -> None:
    """A seeded worked case of the machine's position invariant: the same fills via stream and
    snapshots, repeated and out of order, book once."""
    ledger = OrderLedger()
    resting(ledger, req("b", "3"), "1")
    resting(ledger, req("s", "2", side=Side.SELL, market=BTC), "2")
    fills = [
        fill("b", "1", "1", venue_order_id="1", ts_ms=3),
        fill("s", "2", "0.5", venue_order_id="2", side=Side.SELL, market=BTC, ts_ms=1),
        fill("b", "3", "0.5", venue_order_id="1", ts_ms=2),
    ]
    ledger.on_event(fills[2], 1)
    ledger.on_event(fills[0], 2)
    ledger.on_event(fills[2], 3)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for f in fills:
        totals[f.market] += f.side.sign * f.size
    result = ledger.reconcile(snap(10, (), {m: str(v) for m, v in totals.items()}, tuple(fills)), 10)
    assert (result.inferred_fills, result.position_corrections) == (1, ())
    assert (ledger.position(ETH), ledger.position(BTC)) == (D("1.5"), D("-0.5"))


def test_a_stream_fill_booked_after_the_snapshot_was_read_is_not_corrected_away() -> None:
    ledger = OrderLedger()
    ledger.submitted(
        OrderRequest(client_id="b1", market="ETH", side=Side.BUY, price=D(100), size=D(2)), 1_000
    )
    ledger.on_submit_outcome("b1", Resting(venue_order_id="v1"), 1_010)
    snapshot = VenueSnapshot(
        ts_ms=5_000,
        open_orders=(),
        positions=(),
        margin=MarginReport(equity=D(1_000), margin_used=D(0)),
    )
    fill = OrderFilled(
        client_id="b1",
        venue_order_id="v1",
        trade_id="t1",
        market="ETH",
        side=Side.BUY,
        price=D(100),
        size=D(2),
        fee=D(0),
        maker=True,
        ts_ms=5_050,
    )
    ledger.on_event(fill, 5_100)  # arrives while the snapshot (read at 5,000) is in flight
    result = ledger.reconcile(snapshot, 5_200)
    assert result.position_corrections == ()
    assert ledger.position("ETH") == D(2)
    # A later snapshot that still disagrees is believed.
    later = VenueSnapshot(
        ts_ms=6_000, open_orders=(), positions=(), margin=MarginReport(equity=D(1_000), margin_used=D(0))
    )
    assert ledger.reconcile(later, 6_100).position_corrections == (("ETH", D(2), D(0)),)
