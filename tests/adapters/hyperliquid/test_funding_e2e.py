"""Hourly funding through the server on a manual clock: REST userFunding and WS userFundings."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from keeper.adapters.hyperliquid import (
    HyperliquidRestClient,
    HyperliquidWsClient,
    LocalVenueServer,
    ManualClock,
)
from keeper.codecs.hyperliquid import Filled, UserFundings, user_fundings_subscription
from tests.adapters.hyperliquid.conftest import ALICE, BOB, eth, orders

HOUR = 1_700_002_800_000  # the first hour boundary after T0


async def test_funding_is_paid_on_the_hour(
    manual_server: LocalVenueServer, manual_rest: HyperliquidRestClient, clock: ManualClock
) -> None:
    await manual_rest.exchange(orders(eth(False, "2000", "2", "Alo")), ALICE)
    [bought] = (await manual_rest.exchange(orders(eth(True, "2000", "2", "Ioc")), BOB)).outcomes
    assert isinstance(bought, Filled)
    async with HyperliquidWsClient(manual_server.ws_url) as ws:
        await ws.subscribe(user_fundings_subscription(BOB.address))
        async with asyncio.timeout(5):
            snapshot = await ws.events.get()
        assert isinstance(snapshot, UserFundings)
        assert snapshot.is_snapshot
        assert snapshot.fundings == []

        await clock.set(HOUR - 1)
        assert await manual_rest.info("userFunding", user=BOB.address, startTime=0) == []
        await clock.set(HOUR)
        [row] = await manual_rest.info("userFunding", user=BOB.address, startTime=0)
        # No book: premium 0, so the hourly rate is the interest term 0.01 % / 8; long pays.
        assert (row.time, row.delta.coin, row.delta.szi) == (HOUR, "ETH", Decimal(2))
        assert (row.delta.funding_rate, row.delta.usdc) == (Decimal("0.0000125"), Decimal("-0.05"))
        [alice_row] = await manual_rest.info("userFunding", user=ALICE.address, startTime=0)
        assert alice_row.delta.usdc == Decimal("0.05")

        async with asyncio.timeout(5):
            pushed = await ws.events.get()
        assert isinstance(pushed, UserFundings)
        assert not pushed.is_snapshot
        [payment] = pushed.fundings
        assert (payment.time, payment.usdc, payment.szi) == (HOUR, Decimal("-0.05"), Decimal(2))
