"""scheduleCancel: 5 s minimum delay, firing cancels everything, clearing, 10 triggers per UTC day."""

from __future__ import annotations

from keeper.codecs.hyperliquid import schedule_cancel_action
from keeper.localvenue import LocalVenue
from tests.localvenue.conftest import ADDRESS_A, DOGE, ETH, T0, Trader, info, oid_of

OK = {"status": "ok", "response": {"type": "default"}}
TOO_EARLY = {
    "status": "err",
    "response": "Scheduled cancel time too early, must be at least 5 seconds after current time.",
}
CAPPED = {
    "status": "err",
    "response": "Too many scheduled cancel triggers today (10 per day, reset at 00:00 UTC).",
}
MIDNIGHT = 1_700_006_400_000  # 2023-11-15 00:00:00 UTC


def test_fires_at_its_time_and_cancels_all_open_orders(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    first = oid_of(alice.order(ETH, True, "1990", "1"))
    second = oid_of(alice.order(DOGE, False, "0.25", "100"))
    bobs = oid_of(bob.order(ETH, True, "1980", "1"))
    assert alice.send(schedule_cancel_action(T0 + 4_999)) == TOO_EARLY
    assert alice.send(schedule_cancel_action(T0 + 10_000)) == OK
    venue.drain_events()
    venue.advance(T0 + 9_999)
    assert len(info(venue, type="openOrders", user=ADDRESS_A)) == 2
    venue.advance(T0 + 10_000)
    assert info(venue, type="openOrders", user=ADDRESS_A) == []
    for oid in (first, second):
        status = info(venue, type="orderStatus", user=ADDRESS_A, oid=oid)["order"]
        assert (status["status"], status["statusTimestamp"]) == ("scheduledCancel", T0 + 10_000)
    assert info(venue, type="orderStatus", user=bob.address, oid=bobs)["order"]["status"] == "open"
    user_events = [
        e.data for e in venue.drain_events() if e.subscription == "userEvents" and e.user == ADDRESS_A
    ]
    assert user_events == [
        {"nonUserCancel": [{"coin": "ETH", "oid": first}]},
        {"nonUserCancel": [{"coin": "DOGE", "oid": second}]},
    ]
    # Disarmed after firing: a new order survives later times.
    alice.order(ETH, True, "1990", "1")
    venue.advance(T0 + 60_000)
    assert len(info(venue, type="openOrders", user=ADDRESS_A)) == 1


def test_scheduled_cancel_without_time_clears_it(venue: LocalVenue, alice: Trader) -> None:
    alice.order(ETH, True, "1990", "1")
    assert alice.send(schedule_cancel_action(T0 + 10_000)) == OK
    assert alice.send(schedule_cancel_action(None)) == OK
    venue.advance(T0 + 20_000)
    assert len(info(venue, type="openOrders", user=ADDRESS_A)) == 1


def test_requests_catch_up_time_first(venue: LocalVenue, alice: Trader) -> None:
    """A request after the scheduled time sees the cancel already done (no explicit advance)."""
    alice.order(ETH, True, "1990", "1")
    alice.send(schedule_cancel_action(T0 + 10_000))
    assert info(venue, now=T0 + 10_000, type="openOrders", user=ADDRESS_A) == []


def test_ten_triggers_per_day_reset_at_midnight_utc(venue: LocalVenue, alice: Trader) -> None:
    now = T0
    for _ in range(10):
        assert alice.send(schedule_cancel_action(now + 5_000), now=now) == OK
        now += 5_000
        venue.advance(now)  # fires (counts even with no open orders)
    assert alice.send(schedule_cancel_action(now + 5_000), now=now) == CAPPED
    assert alice.send(schedule_cancel_action(MIDNIGHT + 5_000), now=MIDNIGHT - 1) == CAPPED
    assert alice.send(schedule_cancel_action(MIDNIGHT + 5_000), now=MIDNIGHT) == OK
    alice.order(ETH, True, "1990", "1")
    venue.advance(MIDNIGHT + 5_000)
    assert info(venue, type="openOrders", user=ADDRESS_A) == []
