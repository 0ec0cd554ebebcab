"""REST client against the local venue: place, fill, cancel, modify, batches, and failure outcomes."""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal

import pytest

from keeper.adapters.hyperliquid import (
    HyperliquidHttpError,
    HyperliquidRestClient,
    HyperliquidTransportError,
    LocalVenueServer,
    ManualClock,
    RateLimitedError,
    start_local_venue,
)
from keeper.codecs.hyperliquid import (
    Accepted,
    BackoffPolicy,
    Canceled,
    Filled,
    PrivateKeySigner,
    Refused,
    Resting,
    Unknown,
    WeightLimiter,
    cancel_action,
    cloid_from_int,
    modify_action,
    update_leverage_action,
)
from tests.adapters.hyperliquid.conftest import (
    ALICE,
    BOB,
    KEY_STRANGER,
    eth,
    make_config,
    orders,
)


async def test_alo_rests_and_a_crossing_order_fills(rest: HyperliquidRestClient) -> None:
    [resting] = (await rest.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)).outcomes
    assert isinstance(resting, Resting)
    [filled] = (await rest.exchange(orders(eth(False, "1990", "1", "Ioc")), BOB)).outcomes
    assert isinstance(filled, Filled)
    assert (filled.total_sz, filled.avg_px) == (Decimal(1), Decimal(1990))

    [maker_fill] = await rest.info("userFills", user=ALICE.address)
    assert (maker_fill.oid, maker_fill.px, maker_fill.sz, maker_fill.side, maker_fill.crossed) == (
        resting.oid,
        Decimal(1990),
        Decimal(1),
        "B",
        False,
    )
    [taker_fill] = await rest.user_fills(BOB.address)
    assert (taker_fill.oid, taker_fill.crossed, taker_fill.tid) == (filled.oid, True, maker_fill.tid)
    state = await rest.info("clearinghouseState", user=ALICE.address)
    assert state.asset_positions[0].position.szi == Decimal(1)
    status = await rest.order_status(ALICE.address, resting.oid)
    assert status.order is not None
    assert status.order.status == "filled"


async def test_alo_that_would_cross_is_rejected(rest: HyperliquidRestClient) -> None:
    await rest.exchange(orders(eth(False, "2000", "1", "Alo")), BOB)
    [outcome] = (await rest.exchange(orders(eth(True, "2000", "1", "Alo")), ALICE)).outcomes
    assert isinstance(outcome, Refused)
    assert not outcome.action_level
    assert outcome.message.startswith("Post only order would have immediately matched")


async def test_cancel(rest: HyperliquidRestClient) -> None:
    [resting] = (await rest.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)).outcomes
    assert isinstance(resting, Resting)
    assert (await rest.exchange(cancel_action([(0, resting.oid)]), ALICE)).outcomes == (Canceled(),)
    assert await rest.open_orders(ALICE.address) == []
    [again] = (await rest.exchange(cancel_action([(0, resting.oid)]), ALICE)).outcomes
    assert again == Refused("Order was never placed, already canceled, or filled.")


async def test_modify_replaces_price_and_size_and_keeps_the_cloid(rest: HyperliquidRestClient) -> None:
    cloid = cloid_from_int(7)
    [resting] = (await rest.exchange(orders(eth(True, "1990", "1", "Alo", cloid)), ALICE)).outcomes
    assert isinstance(resting, Resting)
    outcome = await rest.exchange(modify_action(resting.oid, eth(True, "1985", "2", "Alo", cloid)), ALICE)
    assert outcome.outcomes == (Accepted(),)
    [order] = await rest.open_orders(ALICE.address)
    assert (order.limit_px, order.sz, order.cloid) == (Decimal(1985), Decimal(2), cloid)
    by_cloid = await rest.order_status(ALICE.address, cloid)
    assert by_cloid.order is not None
    assert by_cloid.order.order.oid == order.oid
    [gone] = (await rest.exchange(modify_action(resting.oid, eth(True, "1980", "1", "Alo")), ALICE)).outcomes
    assert isinstance(gone, Refused)
    assert gone.action_level


async def test_batch_of_five_orders_then_one_cancel_batch(rest: HyperliquidRestClient) -> None:
    batch = orders(*(eth(True, str(1980 + i), "0.5", "Alo") for i in range(5)))
    placed = await rest.exchange(batch, ALICE)
    assert placed.http_status == 200
    assert len(placed.outcomes) == 5
    oids = [o.oid for o in placed.outcomes if isinstance(o, Resting)]
    assert len(set(oids)) == 5
    assert sorted(o.oid for o in await rest.open_orders(ALICE.address)) == sorted(oids)
    cancels = await rest.exchange(cancel_action([(0, oid) for oid in oids]), ALICE)
    assert cancels.outcomes == (Canceled(),) * 5


async def test_a_wrong_signature_is_rejected_with_the_venue_error(server: LocalVenueServer) -> None:
    """Signing for mainnet against a testnet venue recovers some other address, as a bad signature does."""
    async with HyperliquidRestClient(server.url, is_mainnet=True) as wrong_network:
        [outcome] = (await wrong_network.exchange(orders(eth(True, "1990", "1")), ALICE)).outcomes
    assert isinstance(outcome, Refused)
    assert outcome.action_level
    assert outcome.message.startswith("L1 error: User or API Wallet 0x")
    assert outcome.message.endswith("does not exist.")
    assert ALICE.address not in outcome.message
    async with HyperliquidRestClient(server.url) as client:
        stranger = PrivateKeySigner(KEY_STRANGER)
        [unknown_user] = (
            await client.exchange(update_leverage_action(0, 5, is_cross=True), stranger)
        ).outcomes
        assert unknown_user == Refused(
            f"L1 error: User or API Wallet {stranger.address} does not exist.", action_level=True
        )
        assert await client.open_orders(ALICE.address) == []


async def test_undeserializable_info_body_is_http_422(rest: HyperliquidRestClient) -> None:
    with pytest.raises(HyperliquidHttpError) as raised:
        await rest.info_json({"type": "noSuchType"})
    assert (raised.value.status, raised.value.text) == (
        422,
        "Failed to deserialize the JSON body into the target type",
    )


async def test_server_down_is_unknown_never_rejected() -> None:
    venue = await start_local_venue(make_config())
    url = venue.url
    await venue.close()
    async with HyperliquidRestClient(url, timeout_s=2.0) as client:
        result = await client.exchange(orders(eth(True, "1990", "1"), eth(True, "1980", "1")), ALICE)
        assert result.http_status is None
        assert all(isinstance(o, Unknown) for o in result.outcomes)
        # Connection refused: nothing reached the venue, so resending would be safe.
        assert all(isinstance(o, Unknown) and o.retryable for o in result.outcomes)
        with pytest.raises(HyperliquidTransportError):
            await client.info("allMids")


async def test_timeout_is_unknown_and_the_order_may_well_exist(server: LocalVenueServer) -> None:
    server.response_delay_s = 0.5
    async with HyperliquidRestClient(server.url, timeout_s=0.1) as impatient:
        [outcome] = (await impatient.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)).outcomes
    assert isinstance(outcome, Unknown)
    assert not outcome.retryable
    server.response_delay_s = 0.0
    async with HyperliquidRestClient(server.url) as client:
        found = await client.open_orders(ALICE.address)
        async with asyncio.timeout(5):
            while not found:  # the venue handles the abandoned request once its delay ends
                await asyncio.sleep(0.05)
                found = await client.open_orders(ALICE.address)
    # Treating the timeout as a reject would have orphaned this live order.
    assert len(found) == 1


async def test_429_retries_reads_with_backoff_but_never_actions(clock: ManualClock) -> None:
    venue = await start_local_venue(make_config(), clock=clock, weight_per_minute=60)  # 1 weight / s
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await clock.advance(math.ceil(seconds * 1000))

    client = HyperliquidRestClient(
        venue.url,
        now_ms=clock.now_ms,
        sleep=sleep,
        backoff=BackoffPolicy(base_s=0.5, cap_s=8.0),
        uniform=lambda: 0.5,
    )
    try:
        for _ in range(30):  # allMids weighs 2: the venue budget is now spent
            await client.info("allMids")
        assert slept == []
        [outcome] = (await client.exchange(orders(eth(True, "1990", "1")), ALICE)).outcomes
        assert outcome == Unknown("rate limited (HTTP 429)", retryable=True)
        assert slept == []  # an action is never retried
        mids = await client.info("allMids")  # 429s, backs off 0.25, 0.5, 1, 2 s, then fits
        assert mids == {"ETH": Decimal(2000)}
        assert slept == [0.25, 0.5, 1.0, 2.0]
        await clock.advance(60_000)  # refill (openOrders weighs 20)
        assert await client.open_orders(ALICE.address) == []  # the 429'd order never executed
        stingy = HyperliquidRestClient(venue.url, now_ms=clock.now_ms, sleep=sleep, max_info_retries=0)
        try:
            for _ in range(20):  # 40 weight left after the openOrders above
                await stingy.info("allMids")
            with pytest.raises(RateLimitedError) as raised:
                await stingy.info("allMids")
            assert raised.value.status == 429
        finally:
            await stingy.close()
    finally:
        await client.close()
        await venue.close()


async def test_client_side_limiter_waits_instead_of_hitting_429(
    manual_server: LocalVenueServer, clock: ManualClock
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await clock.advance(math.ceil(seconds * 1000))

    async with HyperliquidRestClient(
        manual_server.url, now_ms=clock.now_ms, sleep=sleep, limiter=WeightLimiter(budget=10)
    ) as client:
        start = clock.now_ms()
        for _ in range(6):
            await client.info("allMids")
        assert slept == [60.0]  # the 6th request (weight 2) waited out the 60 s window
        assert clock.now_ms() - start == 60_000


async def test_concurrent_actions_of_one_signer_never_share_a_nonce(
    manual_rest: HyperliquidRestClient,
) -> None:
    """The clock is frozen: raw ms nonces would all collide; the allocator keeps them unique."""
    results = await asyncio.gather(
        *(manual_rest.exchange(orders(eth(True, str(1900 + i), "0.1", "Alo")), ALICE) for i in range(20))
    )
    assert all(isinstance(r.outcomes[0], Resting) for r in results)
    assert len(await manual_rest.open_orders(ALICE.address)) == 20


async def test_ten_thousand_concurrent_nonces_are_unique(clock: ManualClock) -> None:
    client = HyperliquidRestClient("http://127.0.0.1:9", now_ms=clock.now_ms)

    async def take(signer: str) -> tuple[str, int]:
        await asyncio.sleep(0)
        return signer, client.next_nonce(signer)

    signers = (ALICE.address, BOB.address)
    taken = await asyncio.gather(*(take(signers[i % 2]) for i in range(10_000)))
    assert len(set(taken)) == 10_000
    for signer in signers:
        nonces = [n for s, n in taken if s == signer]
        assert len(set(nonces)) == 5_000
        assert min(nonces) == clock.now_ms()
    await client.close()
