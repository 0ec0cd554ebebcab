"""Dead-man switch on a manual clock: fires when not re-armed, re-arm loop, clean stop, daily cap."""

from __future__ import annotations

import pytest

from keeper.adapters.hyperliquid import DeadManSwitch, HyperliquidRestClient, ManualClock
from keeper.codecs.hyperliquid import Accepted, Refused, Resting
from tests.adapters.hyperliquid.conftest import ALICE, BOB, T0, eth, eventually, orders

MIDNIGHT = 1_700_006_400_000  # 2023-11-15 00:00:00 UTC


def switch(rest: HyperliquidRestClient, clock: ManualClock) -> DeadManSwitch:
    return DeadManSwitch(rest, ALICE, window_s=10, now_ms=clock.now_ms, sleep=clock.sleep)


async def place_two(rest: HyperliquidRestClient) -> list[int]:
    placed = await rest.exchange(orders(eth(True, "1990", "1", "Alo"), eth(False, "2010", "1", "Alo")), ALICE)
    oids = [o.oid for o in placed.outcomes if isinstance(o, Resting)]
    assert len(oids) == 2
    return oids


async def test_an_unrefreshed_switch_cancels_every_open_order(
    manual_rest: HyperliquidRestClient, clock: ManualClock
) -> None:
    oids = await place_two(manual_rest)
    bobs = await manual_rest.exchange(orders(eth(True, "1980", "1", "Alo")), BOB)
    dms = switch(manual_rest, clock)
    assert await dms.arm() == Accepted()
    assert dms.armed_until == T0 + 10_000

    await clock.advance(9_999)
    assert len(await manual_rest.open_orders(ALICE.address)) == 2
    await clock.advance(1)
    assert await manual_rest.open_orders(ALICE.address) == []
    for oid in oids:
        status = await manual_rest.order_status(ALICE.address, oid)
        assert status.order is not None
        assert status.order.status == "scheduledCancel"
    assert len(await manual_rest.open_orders(BOB.address)) == 1  # only the switch owner's orders
    assert isinstance(bobs.outcomes[0], Resting)

    assert dms.triggers_today() == 0
    assert await dms.arm() == Accepted()  # re-arming notices the deadline passed: one trigger
    assert dms.triggers_today() == 1


async def test_the_rearm_loop_keeps_orders_alive_and_stop_clears_the_switch(
    manual_rest: HyperliquidRestClient, clock: ManualClock
) -> None:
    await place_two(manual_rest)
    dms = switch(manual_rest, clock)
    assert await dms.start() == Accepted()
    for step in range(1, 7):  # 30 s in 5 s steps, three windows' worth
        await clock.advance(5_000)
        await eventually(lambda step=step: dms.arms == step + 1)
        assert dms.armed_until == clock.now_ms() + 10_000
    assert len(await manual_rest.open_orders(ALICE.address)) == 2

    assert await dms.stop() == Accepted()
    assert dms.armed_until is None
    await clock.advance(60_000)
    assert len(await manual_rest.open_orders(ALICE.address)) == 2  # cleared: nothing fired
    assert dms.triggers_today() == 0
    assert dms.failures == 0


async def test_halt_leaves_it_armed(manual_rest: HyperliquidRestClient, clock: ManualClock) -> None:
    """A crashed keeper (no clean stop) has its orders cancelled at the deadline."""
    await place_two(manual_rest)
    dms = switch(manual_rest, clock)
    await dms.start()
    await dms.halt()
    await clock.advance(10_000)
    assert await manual_rest.open_orders(ALICE.address) == []


async def test_trigger_cap_counts_per_utc_day(manual_rest: HyperliquidRestClient, clock: ManualClock) -> None:
    dms = switch(manual_rest, clock)
    for _ in range(10):
        assert await dms.arm() == Accepted()
        await clock.advance(10_000)  # fires (counts even without open orders)
    assert dms.triggers_today() == 9  # the 10th is noticed at the next arm
    refused = await dms.arm()
    assert dms.triggers_today() == 10
    assert dms.cap_reached
    assert isinstance(refused, Refused)
    assert "10 per day" in refused.message
    await clock.set(MIDNIGHT)
    assert dms.triggers_today() == 0
    assert not dms.cap_reached
    assert await dms.arm() == Accepted()


def test_window_must_leave_room_for_the_five_second_minimum(manual_rest: HyperliquidRestClient) -> None:
    with pytest.raises(ValueError, match="window_s"):
        DeadManSwitch(manual_rest, ALICE, window_s=6)
