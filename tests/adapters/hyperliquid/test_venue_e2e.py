"""HyperliquidVenue (the core venue interface) against the local venue server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from msgspec.structs import replace

from keeper.adapters.hyperliquid import (
    HyperliquidRestClient,
    HyperliquidTransportError,
    HyperliquidVenue,
    LocalVenueServer,
    ManualClock,
    approve_agent,
    start_local_venue,
)
from keeper.adapters.hyperliquid._venue_streams import VenueEventStream
from keeper.codecs.hyperliquid import Accepted, CloidMap, Filled, Meta, PrivateKeySigner, VenueEventMapper
from keeper.codecs.hyperliquid import Resting as HlResting
from keeper.core.types import Side
from keeper.core.venue import (
    BookTop,
    Canceled,
    CancelRequest,
    Executed,
    FundingPaid,
    MarketContext,
    NotFound,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderReport,
    OrderRequest,
    OrderState,
    Rejected,
    ReplaceRequest,
    Resting,
    StreamGap,
    TimeInForce,
    Unknown,
    VenueEvent,
)
from tests.adapters.hyperliquid.conftest import ALICE, BOB, T0, eth, eventually, make_config, orders
from tests.dev_keys import anvil_dev_key

D = Decimal
PREFIX = "feedfacecafebeef"
HOUR = 1_700_002_800_000  # the first hour boundary after T0
MAKER_FEE = D("0.00015")
TAKER_FEE = D("0.00045")


def order(
    client_id: str,
    side: Side = Side.BUY,
    price: str = "1990",
    size: str = "1",
    tif: TimeInForce = TimeInForce.POST_ONLY,
) -> OrderRequest:
    return OrderRequest(client_id=client_id, market="ETH", side=side, price=D(price), size=D(size), tif=tif)


class Events:
    """Reads a venue's event stream, keeping everything it has seen."""

    def __init__(self, venue: HyperliquidVenue) -> None:
        self._stream = venue.events()
        self.seen: list[VenueEvent] = []

    async def next(self, predicate: Callable[[VenueEvent], bool], timeout_s: float = 5.0) -> VenueEvent:
        async with asyncio.timeout(timeout_s):
            while True:
                event = await anext(self._stream)
                self.seen.append(event)
                if predicate(event):
                    return event

    async def drain(self, quiet_s: float = 0.2) -> None:
        """Read until nothing arrives for ``quiet_s``."""
        try:
            while True:
                async with asyncio.timeout(quiet_s):
                    self.seen.append(await anext(self._stream))
        except TimeoutError:
            return


@asynccontextmanager
async def open_venue(
    server: LocalVenueServer,
    *,
    signer: PrivateKeySigner = ALICE,
    clock: ManualClock | None = None,
    rest: HyperliquidRestClient | None = None,
    timeout_s: float = 5.0,
    **options: Any,
) -> AsyncIterator[HyperliquidVenue]:
    if rest is None:
        now_ms = {} if clock is None else {"now_ms": clock.now_ms, "sleep": clock.sleep}
        rest = HyperliquidRestClient(server.url, timeout_s=timeout_s, **now_ms)
    venue = HyperliquidVenue(
        rest,
        server.ws_url,
        signer,
        ALICE.address,
        ["ETH"],
        clock=clock,
        cloid_prefix=PREFIX,
        **options,
    )
    await venue.connect()
    try:
        yield venue
    finally:
        await venue.close()


def is_(kind: type[VenueEvent], **fields: object) -> Callable[[VenueEvent], bool]:
    return lambda e: isinstance(e, kind) and all(getattr(e, k) == v for k, v in fields.items())


async def test_connect_loads_the_market_and_measures_the_round_trip(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    async with open_venue(server) as venue:
        assert venue.name == "hyperliquid"
        spec = venue.market("ETH")
        # At a mid of 2,000 the 5-significant-figure rule makes the step 0.1.
        assert (spec.tick, spec.lot, spec.min_notional) == (D("0.1"), D("0.0001"), D(10))
        with pytest.raises(KeyError):
            venue.market("BTC")
        model = venue.settlement_model()
        assert (model.tau_s, model.place_gas, model.replace_gas, model.max_batch) == (0.2, 0, 0, 20)
        assert model.supports_replace
        await venue.submit([order("b1")])
        assert venue.latency_s is not None
        assert venue.settlement_model().tau_s == venue.latency_s
        events = Events(venue)
        top = await events.next(is_(BookTop, bid=D(1990)))
        assert isinstance(top, BookTop)
        assert (top.market, top.ask, top.bid_size) == ("ETH", None, D(1))


async def test_post_only_bid_rests_and_is_accepted(server: LocalVenueServer) -> None:
    async with open_venue(server) as venue:
        events = Events(venue)
        [outcome] = await venue.submit([order("b1")])
        assert isinstance(outcome, Resting)
        accepted = await events.next(is_(OrderAccepted))
        assert accepted == OrderAccepted(
            client_id="b1", venue_order_id=outcome.venue_order_id, market="ETH", ts_ms=accepted.ts_ms
        )
        snapshot = await venue.snapshot()
        [listed] = snapshot.open_orders
        assert (listed.client_id, listed.venue_order_id, listed.price, listed.state) == (
            "b1",
            outcome.venue_order_id,
            D(1990),
            OrderState.ACCEPTED,
        )
        assert snapshot.margin.equity == D(100_000)
        status = await venue.order_status("b1", "ETH")
        assert isinstance(status, OrderReport)
        assert status.state is OrderState.ACCEPTED
        # A post-only order that would cross is refused with the venue's words.
        [crossing] = await venue.submit([order("a1", Side.SELL, "1990")])
        assert crossing == Rejected(
            reason="Post only order would have immediately matched, bbo was 1990.0@None."
        )


async def test_a_cross_by_bob_fills_us_and_the_snapshot_position_equals_the_fills(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    async with open_venue(server) as venue:
        events = Events(venue)
        [resting] = await venue.submit([order("b1", size="1")])
        assert isinstance(resting, Resting)
        for size in ("0.4", "0.25"):
            [taken] = (await rest.exchange(orders(eth(False, "1990", size, "Ioc")), BOB)).outcomes
            assert isinstance(taken, Filled)
        fills = [await events.next(is_(OrderFilled)) for _ in range(2)]
        for fill, size in zip(fills, ("0.4", "0.25"), strict=True):
            assert isinstance(fill, OrderFilled)
            assert (fill.client_id, fill.venue_order_id, fill.market, fill.side) == (
                "b1",
                resting.venue_order_id,
                "ETH",
                Side.BUY,
            )
            assert (fill.price, fill.size, fill.maker) == (D(1990), D(size), True)
            assert fill.fee == D(1990) * D(size) * MAKER_FEE
        await events.drain()
        assert len([e for e in events.seen if isinstance(e, OrderFilled)]) == 2  # userFills + user: once
        snapshot = await venue.snapshot()
        assert sorted(f.trade_id for f in snapshot.fills) == sorted(
            f.trade_id for f in fills if isinstance(f, OrderFilled)
        )
        assert snapshot.position("ETH") == sum(f.side.sign * f.size for f in snapshot.fills) == D("0.65")
        [partial] = snapshot.open_orders
        assert (partial.size, partial.original_size, partial.state) == (
            D("0.35"),
            D(1),
            OrderState.PARTIALLY_FILLED,
        )


async def test_cancel(server: LocalVenueServer) -> None:
    async with open_venue(server) as venue:
        events = Events(venue)
        [resting] = await venue.submit([order("b1")])
        assert isinstance(resting, Resting)
        assert await venue.cancel([CancelRequest(client_id="b1", market="ETH")]) == [Canceled()]
        canceled = await events.next(is_(OrderCanceled))
        assert isinstance(canceled, OrderCanceled)
        assert (canceled.client_id, canceled.venue_order_id, canceled.reason) == (
            "b1",
            resting.venue_order_id,
            "canceled",
        )
        assert (await venue.snapshot()).open_orders == ()
        again, unknown, elsewhere = await venue.cancel(
            [
                CancelRequest(client_id="b1", market="ETH"),
                CancelRequest(client_id="never-sent", market="ETH"),
                CancelRequest(client_id="b1", market="BTC"),
            ]
        )
        assert again == Rejected(reason="Order was never placed, already canceled, or filled.")
        assert isinstance(unknown, Rejected)
        assert unknown.reason.startswith("not sent: client id 'never-sent'")
        assert isinstance(elsewhere, Rejected)
        assert elsewhere.reason == "not sent: market 'BTC' is not connected"
        status = await venue.order_status("b1", "ETH")
        assert isinstance(status, OrderReport)
        assert status.state is OrderState.CANCELED


async def test_replace_rests_the_new_order_under_its_own_cloid(server: LocalVenueServer) -> None:
    async with open_venue(server) as venue:
        events = Events(venue)
        [old] = await venue.submit([order("b1")])
        assert isinstance(old, Resting)
        [new] = await venue.replace(
            [ReplaceRequest(client_id="b1", new=order("b2", price="1985.5", size="2"))]
        )
        assert isinstance(new, Resting)
        accepted = await events.next(is_(OrderAccepted, client_id="b2"))
        assert isinstance(accepted, OrderAccepted)
        assert accepted.venue_order_id == new.venue_order_id
        assert any(is_(OrderCanceled, client_id="b1")(e) for e in events.seen)
        [listed] = (await venue.snapshot()).open_orders
        assert (listed.client_id, listed.price, listed.size) == ("b2", D("1985.5"), D(2))
        assert venue.cloids.cloid_of("b2") != venue.cloids.cloid_of("b1")
        gone = await venue.order_status("b1", "ETH")
        assert isinstance(gone, OrderReport)
        assert gone.state is OrderState.CANCELED
        # The old order is gone now: replacing it again is refused by the venue, the new one stays.
        [refused] = await venue.replace([ReplaceRequest(client_id="b1", new=order("b3", price="1980"))])
        assert isinstance(refused, Rejected)
        assert [o.client_id for o in (await venue.snapshot()).open_orders] == ["b2"]


async def test_a_batch_is_one_action_with_one_outcome_per_order(server: LocalVenueServer) -> None:
    async with open_venue(server) as venue:
        outcomes = await venue.submit(
            [order("b1", price="1990"), order("b2", price="1989"), order("a1", Side.SELL, "2010")]
        )
        assert all(isinstance(o, Resting) for o in outcomes)
        assert len({o.venue_order_id for o in outcomes if isinstance(o, Resting)}) == 3
        snapshot = await venue.snapshot()
        assert sorted(o.client_id or "" for o in snapshot.open_orders) == ["a1", "b1", "b2"]
        # An order that cannot be put on the wire is not sent; the rest of the batch is.
        mixed = await venue.submit(
            [order("b3", price="1980"), order("b4", size="0.00001"), order("b5", price="1970")]
        )
        assert [type(o) for o in mixed] == [Resting, Rejected, Resting]
        assert isinstance(mixed[1], Rejected)
        assert mixed[1].reason.startswith("not sent: order b4: size 0.00001")
        cancels = await venue.cancel([CancelRequest(client_id=c, market="ETH") for c in ("b1", "b2", "a1")])
        assert cancels == [Canceled()] * 3


async def test_ioc_partially_filled_is_executed(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    [ask] = (await rest.exchange(orders(eth(False, "2000", "0.5", "Alo")), BOB)).outcomes
    assert isinstance(ask, HlResting)
    async with open_venue(server) as venue:
        events = Events(venue)
        [outcome] = await venue.submit([order("t1", price="2000", size="1", tif=TimeInForce.IOC)])
        assert isinstance(outcome, Executed)
        assert (outcome.filled_size, outcome.avg_price) == (D("0.5"), D(2000))
        fill = await events.next(is_(OrderFilled))
        assert isinstance(fill, OrderFilled)
        assert (fill.client_id, fill.side, fill.size, fill.maker) == ("t1", Side.BUY, D("0.5"), False)
        assert fill.fee == D(2000) * D("0.5") * TAKER_FEE
        rest_canceled = await events.next(is_(OrderCanceled, client_id="t1"))
        assert isinstance(rest_canceled, OrderCanceled)
        # An IOC that cannot match at all is the venue's reject.
        [nothing] = await venue.submit([order("t2", price="1900", tif=TimeInForce.IOC)])
        assert nothing == Rejected(reason="Order could not immediately match against any resting orders.")


class StaleMetaRest(HyperliquidRestClient):
    """Serves a meta with ETH at szDecimals 2, as if the venue changed it after we loaded meta."""

    async def info(self, type_name: str, **fields: Any) -> Any:
        reply = await super().info(type_name, **fields)
        if isinstance(reply, Meta):
            return replace(reply, universe=[replace(asset, sz_decimals=2) for asset in reply.universe])
        return reply


async def test_an_order_off_the_venues_tick_is_rejected_with_the_venues_message(
    server: LocalVenueServer,
) -> None:
    async with open_venue(server, rest=StaleMetaRest(server.url, timeout_s=5.0)) as venue:
        assert venue.market("ETH").lot == D("0.01")  # stale: the venue's szDecimals is 4
        [outcome] = await venue.submit([order("b1", price="19.125", size="1")])
        assert outcome == Rejected(reason="Price must be divisible by tick size.")
        [fine] = await venue.submit([order("b2", price="19.12", size="1")])
        assert isinstance(fine, Resting)


async def test_a_timeout_is_unknown_and_order_status_settles_it(server: LocalVenueServer) -> None:
    async with open_venue(server, timeout_s=0.2) as venue:
        events = Events(venue)
        server.response_delay_s = 0.5
        [outcome] = await venue.submit([order("b1")])
        assert outcome == Unknown(reason="no response within 0.2 s", unsent=False)
        server.response_delay_s = 0.0
        accepted = await events.next(is_(OrderAccepted, client_id="b1"))  # it landed after all
        assert isinstance(accepted, OrderAccepted)
        report = await venue.order_status("b1", "ETH")
        assert isinstance(report, OrderReport)
        assert (report.client_id, report.state) == ("b1", OrderState.ACCEPTED)
        assert report.venue_order_id == accepted.venue_order_id
        [listed] = (await venue.snapshot()).open_orders
        assert listed.client_id == "b1"


async def test_server_down_is_unknown_never_rejected_then_settled(server: LocalVenueServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    async with open_venue(server) as venue:
        await server.close()
        # The first send may go out on a pooled keep-alive connection: not provably unsent.
        outcomes = await venue.submit([order("b1"), order("b2", price="1980")])
        assert all(isinstance(o, Unknown) for o in outcomes)
        # Now the connection is refused: nothing can have reached the venue.
        [refused] = await venue.submit([order("b3", price="1970")])
        assert isinstance(refused, Unknown)
        assert refused.unsent
        [cancel] = await venue.cancel([CancelRequest(client_id="b1", market="ETH")])
        assert isinstance(cancel, Unknown)
        with pytest.raises(HyperliquidTransportError):
            await venue.snapshot()
        revived = await start_local_venue(make_config(), port=port)
        try:
            assert (await venue.snapshot()).open_orders == ()
            assert await venue.order_status("b3", "ETH") == NotFound(final=True)  # provably never sent
            assert await venue.order_status("b1", "ETH") == NotFound(final=False)  # could still land
        finally:
            await revived.close()


async def test_not_found_is_final_only_after_expires_after_passed(
    manual_server: LocalVenueServer, clock: ManualClock
) -> None:
    async with open_venue(
        manual_server, clock=clock, timeout_s=0.2, expires_after_ms=10_000, expiry_grace_ms=1_000
    ) as venue:
        manual_server.response_delay_s = 0.5
        [outcome] = await venue.submit([order("b1")])
        assert isinstance(outcome, Unknown)
        assert not outcome.unsent
        manual_server.response_delay_s = 0.0
        assert await venue.order_status("b1", "ETH") == NotFound(final=False)  # may still land
        await clock.advance(11_000)  # expiresAfter + grace: not yet past
        assert await venue.order_status("b1", "ETH") == NotFound(final=False)
        await clock.advance(1)
        assert await venue.order_status("b1", "ETH") == NotFound(final=True)
        await asyncio.sleep(0.6)  # the delayed request reaches the engine now: too late, refused
        assert await venue.order_status("b1", "ETH") == NotFound(final=True)
        assert (await venue.snapshot()).open_orders == ()
        assert await venue.order_status("never-sent", "ETH") == NotFound(final=False)


async def test_a_dropped_stream_gives_a_gap_and_the_snapshot_misses_no_fill(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    async with open_venue(server) as venue:
        events = Events(venue)
        [resting] = await venue.submit([order("b1")])
        assert isinstance(resting, Resting)
        ws = venue.ws
        assert ws is not None
        server.accept_ws = False
        assert await server.drop_ws_connections() == 1
        await eventually(lambda: not ws.connected)
        await rest.exchange(orders(eth(False, "1990", "1", "Ioc")), BOB)
        server.accept_ws = True
        gap = await events.next(is_(StreamGap), timeout_s=10)
        assert isinstance(gap, StreamGap)
        assert gap.reason == "websocket reconnected"
        assert not any(isinstance(e, OrderFilled) for e in events.seen)  # the stream missed it
        snapshot = await venue.snapshot()
        [fill] = snapshot.fills
        assert (fill.client_id, fill.venue_order_id, fill.size) == ("b1", resting.venue_order_id, D(1))
        assert snapshot.position("ETH") == D(1)
        assert snapshot.open_orders == ()


async def test_funding_paid_on_the_hour(
    manual_server: LocalVenueServer, manual_rest: HyperliquidRestClient, clock: ManualClock
) -> None:
    async with open_venue(manual_server, clock=clock) as venue:
        events = Events(venue)
        [resting] = await venue.submit([order("a1", Side.SELL, "2000", "2")])
        assert isinstance(resting, Resting)
        [bought] = (await manual_rest.exchange(orders(eth(True, "2000", "2", "Ioc")), BOB)).outcomes
        assert isinstance(bought, Filled)
        await events.next(is_(OrderFilled, client_id="a1"))
        await clock.set(HOUR)
        paid = await events.next(is_(FundingPaid))
        assert paid == FundingPaid(
            market="ETH", amount=D("0.05"), rate=D("0.0000125"), position=D(-2), ts_ms=HOUR
        )
        await events.drain()
        assert len([e for e in events.seen if isinstance(e, FundingPaid)]) == 1


async def test_an_agent_trades_while_streams_and_reads_use_the_master(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    agent = PrivateKeySigner(anvil_dev_key(4))
    assert await approve_agent(rest, ALICE, agent.address) == Accepted()
    async with open_venue(server, signer=agent) as venue:
        events = Events(venue)
        [outcome] = await venue.submit([order("b1")])
        assert isinstance(outcome, Resting)
        await events.next(is_(OrderAccepted, client_id="b1"))
        [listed] = (await venue.snapshot()).open_orders
        assert listed.client_id == "b1"
        assert [o.oid for o in await rest.open_orders(ALICE.address)] == [int(outcome.venue_order_id)]
        assert await rest.open_orders(agent.address) == []
        assert await venue.cancel([CancelRequest(client_id="b1", market="ETH")]) == [Canceled()]


async def test_cancel_all_cancels_every_open_order_of_the_account(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    await rest.exchange(orders(eth(True, "1900", "1", "Alo")), ALICE)  # placed elsewhere, no cloid
    async with open_venue(server) as venue:
        await venue.submit([order("b1"), order("a1", Side.SELL, "2010")])
        snapshot = await venue.snapshot()
        assert sorted(str(o.client_id) for o in snapshot.open_orders) == ["None", "a1", "b1"]
        await venue.cancel_all("BTC")  # nothing there
        assert len(await rest.open_orders(ALICE.address)) == 3
        await venue.cancel_all("ETH")
        assert await rest.open_orders(ALICE.address) == []


async def test_dead_man_switch_is_armed_while_connected_and_cleared_on_close_once_allowed(
    manual_server: LocalVenueServer, manual_rest: HyperliquidRestClient, clock: ManualClock
) -> None:
    async with open_venue(manual_server, clock=clock, dead_man_s=10) as venue:
        dead_man = venue.dead_man
        assert dead_man is not None
        assert dead_man.armed_until == T0 + 10_000
        await venue.submit([order("b1")])
        venue.allow_disarm()
    assert dead_man.armed_until is None
    await clock.advance(20_000)
    assert len(await manual_rest.open_orders(ALICE.address)) == 1  # cleared: nothing fired


async def test_close_without_allow_disarm_leaves_the_dead_man_switch_armed(
    manual_server: LocalVenueServer, manual_rest: HyperliquidRestClient, clock: ManualClock
) -> None:
    async with open_venue(manual_server, clock=clock, dead_man_s=10) as venue:
        dead_man = venue.dead_man
        assert dead_man is not None
        await venue.submit([order("b1")])
    assert dead_man.armed_until == T0 + 10_000
    await clock.advance(20_000)
    assert await manual_rest.open_orders(ALICE.address) == []  # the switch fired on its own


async def test_events_end_after_close(server: LocalVenueServer) -> None:
    async with open_venue(server, asset_ctx=False) as venue:  # only our order's events in the stream
        await venue.submit([order("b1")])
        await eventually(lambda: venue.event_stats.events >= 2)
    seen = [event async for event in venue.events()]
    assert any(isinstance(e, OrderAccepted) for e in seen)
    assert venue.dropped_events == 0


async def test_a_full_event_queue_drops_events_and_then_reports_a_gap() -> None:
    clock = ManualClock(T0)
    stream = VenueEventStream(VenueEventMapper(CloidMap(PREFIX), ["ETH"]), clock.now_ms, max_queue=3)
    tops = [BookTop(market="ETH", bid=D(1990 + i), ask=None, ts_ms=T0 + i) for i in range(6)]
    for top in tops[:5]:
        stream.push(top)
    assert stream.dropped == 2
    received = stream.events()
    assert [await anext(received) for _ in range(2)] == tops[:2]
    stream.push(tops[5])  # room again: the gap notice goes first
    stream.close()
    rest = [event async for event in received]
    assert rest == [tops[2], StreamGap(reason="2 events dropped: queue full", ts_ms=T0), tops[5]]
    assert [event async for event in stream.events()] == []  # closed for every reader


async def test_market_context_arrives_with_mark_oracle_and_the_next_hour(server: LocalVenueServer) -> None:
    async with open_venue(server) as venue:
        events = Events(venue)
        context = await events.next(is_(MarketContext))
        assert isinstance(context, MarketContext)
        assert (context.market, context.oracle, context.mark) == ("ETH", D(2000), D(2000))
        assert context.next_funding_ms is not None
        assert context.next_funding_ms % 3_600_000 == 0
        # An oracle move is pushed at once.
        server.engine.set_oracle_px("ETH", D(2010), server.clock.now_ms())
        server.flush()
        moved = await events.next(lambda e: isinstance(e, MarketContext) and e.oracle == D(2010))
        assert isinstance(moved, MarketContext)


async def test_orders_of_another_session_are_cancelled_and_replaced_by_venue_id(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    placed = await rest.exchange(orders(eth(True, "1900", "1", "Alo"), eth(True, "1901", "1", "Alo")), ALICE)
    oids = [str(o.oid) for o in placed.outcomes if isinstance(o, HlResting)]
    assert len(oids) == 2
    async with open_venue(server) as venue:
        adopted = [o for o in (await venue.snapshot()).open_orders if o.client_id is None]
        assert sorted(o.venue_order_id for o in adopted) == sorted(oids)
        cancel = CancelRequest(client_id=f"x{oids[0]}", market="ETH", venue_order_id=oids[0])
        assert await venue.cancel([cancel]) == [Canceled()]
        swap = ReplaceRequest(client_id=f"x{oids[1]}", new=order("n1", price="1902"), venue_order_id=oids[1])
        [outcome] = await venue.replace([swap])
        assert isinstance(outcome, Resting)
        [left] = (await venue.snapshot()).open_orders
        assert (left.client_id, left.price) == ("n1", D(1902))
