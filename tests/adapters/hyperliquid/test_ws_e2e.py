"""WS client against the local venue: user streams, posts, reconnects, heartbeat, malformed frames."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

import pytest

from keeper.adapters.hyperliquid import (
    HyperliquidRestClient,
    HyperliquidWsClient,
    LocalVenueServer,
    WsNotConnectedError,
    classify_post,
)
from keeper.codecs.hyperliquid import (
    BackoffPolicy,
    Fill,
    L2Book,
    OrderUpdates,
    Resting,
    UserEvents,
    UserFills,
    WsEvent,
    decode_info,
    l2_book_subscription,
    open_orders_request,
    order_updates_subscription,
    user_events_subscription,
)
from tests.adapters.hyperliquid.conftest import ALICE, BOB, eth, eventually, orders


async def next_event(
    ws: HyperliquidWsClient, predicate: Callable[[WsEvent], bool], timeout_s: float = 5.0
) -> WsEvent:
    """The next queued event satisfying ``predicate`` (earlier ones are dropped)."""
    async with asyncio.timeout(timeout_s):
        while True:
            event = await ws.events.get()
            if predicate(event):
                return event


def fills_of(event: WsEvent) -> list[Fill]:
    return event.fills if isinstance(event, UserFills) and not event.is_snapshot else []


async def test_fill_arrives_on_user_fills_and_order_updates(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    async with HyperliquidWsClient(server.ws_url) as ws:
        await ws.subscribe_user(ALICE.address)
        snapshot = await next_event(ws, lambda e: isinstance(e, UserFills))
        assert isinstance(snapshot, UserFills)
        assert snapshot.is_snapshot
        assert snapshot.fills == []

        [resting] = (await rest.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)).outcomes
        assert isinstance(resting, Resting)
        opened = await next_event(ws, lambda e: isinstance(e, OrderUpdates))
        assert isinstance(opened, OrderUpdates)
        assert [(u.order.oid, u.status) for u in opened.updates] == [(resting.oid, "open")]

        await rest.exchange(orders(eth(False, "1990", "1", "Ioc")), BOB)
        fills: list[Fill] = []
        statuses: list[tuple[int, str]] = []
        async with asyncio.timeout(5):
            while not (fills and statuses):
                event = await ws.events.get()
                fills += fills_of(event)
                if isinstance(event, OrderUpdates):
                    statuses += [(u.order.oid, u.status) for u in event.updates]
        [fill] = fills
        assert (fill.oid, fill.px, fill.sz) == (resting.oid, Decimal(1990), Decimal(1))
        assert statuses == [(resting.oid, "filled")]
        assert ws.stats.malformed == 0


async def test_user_events_arrive_on_channel_user_and_one_user_per_socket(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    async with HyperliquidWsClient(server.ws_url) as ws:
        await ws.subscribe(user_events_subscription(ALICE.address))
        with pytest.raises(ValueError, match="one userEvents user per connection"):
            await ws.subscribe(user_events_subscription(BOB.address))
        await rest.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)
        await rest.exchange(orders(eth(False, "1990", "1", "Ioc")), BOB)
        event = await next_event(ws, lambda e: isinstance(e, UserEvents))
        assert isinstance(event, UserEvents)
        assert len(event.fills) == 1


async def test_l2_book_snapshot_then_unsubscribe(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    async with HyperliquidWsClient(server.ws_url) as ws:
        await rest.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)
        await ws.subscribe(l2_book_subscription("ETH"))
        book = await next_event(ws, lambda e: isinstance(e, L2Book))
        assert isinstance(book, L2Book)
        assert book.levels[0][0].px == Decimal(1990)
        await ws.unsubscribe(l2_book_subscription("ETH"))
        await eventually(lambda: server.ws_connection_count == 1)


async def test_post_info_and_action_over_ws(server: LocalVenueServer, rest: HyperliquidRestClient) -> None:
    async with HyperliquidWsClient(server.ws_url) as ws:
        signed = rest.sign(orders(eth(True, "1990", "1", "Alo")), ALICE)
        reply = await ws.post("action", signed, timeout_s=5)
        [outcome] = classify_post("order", reply).outcomes
        assert isinstance(outcome, Resting)
        info = await ws.post("info", open_orders_request(ALICE.address), timeout_s=5)
        assert info.type == "info"
        [order] = decode_info("openOrders", bytes(info.payload))
        assert order.oid == outcome.oid
        bad = await ws.post("info", {"type": "noSuchType"}, timeout_s=5)
        assert bad.type == "error"
        assert classify_post("order", bad).outcomes[0].__class__.__name__ == "Unknown"
    with pytest.raises(WsNotConnectedError):
        await ws.post("info", {"type": "allMids"})


async def test_post_timeout_leaves_the_connection_usable(server: LocalVenueServer) -> None:
    async with HyperliquidWsClient(server.ws_url) as ws:
        with pytest.raises(TimeoutError):
            await ws.post("info", {"type": "allMids"}, timeout_s=1e-6)  # the reply arrives too late
        reply = await ws.post("info", {"type": "allMids"}, timeout_s=5)  # late reply did not confuse ids
        assert decode_info("allMids", bytes(reply.payload)) == {"ETH": Decimal(2000)}
        assert ws.connected


async def test_reconnect_resubscribes_and_the_rest_snapshot_finds_the_missed_fill(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    rebuilt: list[list[Fill]] = []

    async def on_reconnected() -> None:
        rebuilt.append(await rest.user_fills(ALICE.address))  # rebuild state from REST

    ws = HyperliquidWsClient(server.ws_url, on_reconnected=on_reconnected, uniform=lambda: 0.5)
    await ws.start()
    try:
        await ws.subscribe_user(ALICE.address)
        [resting] = (await rest.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)).outcomes
        assert isinstance(resting, Resting)

        server.accept_ws = False  # keep the client out while the fill happens
        assert await server.drop_ws_connections() == 1
        await eventually(lambda: not ws.connected)
        await rest.exchange(orders(eth(False, "1990", "1", "Ioc")), BOB)
        await asyncio.sleep(0.3)  # at least one refused reconnect attempt
        assert not ws.connected
        server.accept_ws = True

        await ws.wait_connected(10)
        await eventually(lambda: len(rebuilt) == 1)
        assert (ws.connections, ws.reconnects) == (2, 1)
        assert [f.oid for f in rebuilt[0]] == [resting.oid]  # no fill missed
        # Resubscribed: the userFills snapshot repeats it, and new events flow again.
        snapshot = await next_event(
            ws, lambda e: isinstance(e, UserFills) and e.is_snapshot and bool(e.fills)
        )
        assert isinstance(snapshot, UserFills)
        assert snapshot.fills[0].oid == resting.oid
        await rest.exchange(orders(eth(True, "1980", "1", "Alo")), ALICE)
        update = await next_event(ws, lambda e: isinstance(e, OrderUpdates))
        assert isinstance(update, OrderUpdates)
        assert update.updates[0].order.limit_px == Decimal(1980)
    finally:
        await ws.close()


async def test_missing_pong_forces_a_reconnect(server: LocalVenueServer) -> None:
    hooks: list[int] = []

    async def on_reconnected() -> None:
        hooks.append(1)

    ws = HyperliquidWsClient(
        server.ws_url,
        on_reconnected=on_reconnected,
        ping_interval_s=0.1,
        pong_timeout_s=0.2,
        backoff=BackoffPolicy(base_s=0.05, cap_s=0.1),
    )
    async with ws:
        await ws.subscribe(order_updates_subscription(ALICE.address))
        await asyncio.sleep(0.4)  # several answered pings: no reconnect
        assert ws.reconnects == 0
        server.answer_pings = False
        await eventually(lambda: ws.reconnects >= 1, timeout_s=3)
        server.answer_pings = True
        await asyncio.sleep(0.4)  # a ping sent before the switch may still kill one more socket
        await ws.wait_connected(3)
        settled = ws.reconnects
        await asyncio.sleep(0.4)
        assert ws.connected
        assert ws.reconnects == settled  # answered pings keep it up again
        assert len(hooks) == settled
        assert server.ws_connection_count == 1


async def test_malformed_frames_are_counted_and_skipped(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    received: list[WsEvent] = []

    async def on_event(event: WsEvent) -> None:
        received.append(event)

    async with HyperliquidWsClient(server.ws_url, on_event=on_event) as ws:
        await ws.subscribe(order_updates_subscription(ALICE.address))
        server.inject_ws_frame("not json at all")
        server.inject_ws_frame('{"channel": "orderUpdates", "data": 5}')
        server.inject_ws_frame('{"channel": "mysteryChannel", "data": {}}')
        await rest.exchange(orders(eth(True, "1990", "1", "Alo")), ALICE)
        await eventually(lambda: any(isinstance(e, OrderUpdates) for e in received))
        assert (ws.stats.malformed, ws.stats.unknown_channel) == (2, 1)
        assert ws.connected
        assert ws.reconnects == 0
        assert [type(e).__name__ for e in received] == ["OrderUpdates"]


def test_ping_interval_is_capped_at_50_s() -> None:
    with pytest.raises(ValueError, match="ping_interval_s"):
        HyperliquidWsClient("ws://127.0.0.1:9/ws", ping_interval_s=55)
