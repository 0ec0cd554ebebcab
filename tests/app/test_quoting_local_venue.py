"""The quoting loop end to end on the bundled Hyperliquid venue: quotes rest, a taker fills one, the ledger
agrees with the venue, and stopping leaves nothing on the book."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from decimal import Decimal

from keeper.adapters.hyperliquid import HyperliquidRestClient, HyperliquidVenue, start_local_venue
from keeper.app._maker_setup import build_maker
from keeper.app._quoting import QuotingLoop, QuotingSettings
from keeper.app._run import risk_limits
from keeper.app._venues import open_hyperliquid
from keeper.codecs.hyperliquid import Filled
from keeper.config import load_config
from keeper.core.venue import OrderState
from keeper.localvenue import FlowConfig
from tests.adapters.hyperliquid.conftest import ALICE, BOB, CAROL, eth, eventually, make_config, orders
from tests.app.test_reload import REPO

LOCAL = REPO / "chain_config" / "local.toml"


async def test_quotes_rest_fill_reconcile_and_are_cancelled_on_stop() -> None:
    config = load_config(LOCAL)
    server = await start_local_venue(make_config(flow=FlowConfig(enabled=True, seed=3, coin="ETH")))
    rest = HyperliquidRestClient(server.url, timeout_s=5.0)
    venue = HyperliquidVenue(rest, server.ws_url, ALICE, ALICE.address, ["ETH"], dead_man_s=10.0)
    stop = asyncio.Event()
    try:
        await venue.connect()
        spec = venue.market("ETH")
        maker = build_maker(config, spec, 2000.0, venue.settlement_model(), risk_limits(config))
        loop = QuotingLoop(
            venue, maker, QuotingSettings(market="ETH", requote_interval_s=0.2, reconcile_interval_s=1.0)
        )
        task = asyncio.create_task(loop.run(stop))
        await eventually(lambda: len(loop.ledger.live_orders("ETH")) >= 2, timeout_s=10.0)
        assert loop.stats.last_state == "active"
        # Every order the ledger holds as live rests at the venue under our cloid.
        snapshot = await venue.snapshot()
        ours = {o.client_id for o in snapshot.open_orders if o.client_id is not None}
        assert ours, "our quotes rest at the venue"
        # A taker sweeps our bid (and whatever else rests above the limit).
        bid = max((o for o in loop.ledger.live_orders("ETH") if o.side.value == "buy"), key=lambda o: o.price)
        async with HyperliquidRestClient(server.url, timeout_s=5.0) as bob:
            hit = await bob.exchange(orders(eth(False, str(bid.price - 50), str(bid.size), "Ioc")), BOB)
        assert isinstance(hit.outcomes[0], Filled)
        await eventually(lambda: loop.stats.fills >= 1, timeout_s=5.0)
        await eventually(lambda: loop.stats.reconciliations >= 3, timeout_s=10.0)
        position = (await venue.snapshot()).position("ETH")
        assert loop.ledger.position("ETH") == position
        assert position > 0
        assert loop.stats.position_corrections == 0
        assert loop.stats.rejected == 0
        stop.set()
        await task
        assert await rest.open_orders(ALICE.address) == []
        assert loop.unresolved() == 0
        assert not [o for o in loop.ledger.orders() if o.state is OrderState.UNKNOWN]
    finally:
        stop.set()
        await venue.close()
        await rest.close()
        await server.close()


async def test_open_hyperliquid_serves_the_local_venue_and_trades_through_the_agent() -> None:
    config = load_config(LOCAL)
    name = config.strategy.venue
    assert name is not None
    async with AsyncExitStack() as stack:
        venue, mid = await open_hyperliquid(name, config.venues[name], config, LOCAL.parent, stack)  # type: ignore[arg-type]
        assert mid == 2000.0
        snapshot = await venue.snapshot()
        assert snapshot.margin.equity == Decimal(1_000_000)
        master = venue.master_address
        assert master == "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"  # anvil account 0 (operator)
        assert venue.dead_man is not None


async def test_a_fill_while_the_stream_is_down_is_recovered_by_reconciliation() -> None:
    config = load_config(LOCAL)
    server = await start_local_venue(make_config())
    rest = HyperliquidRestClient(server.url, timeout_s=5.0)
    venue = HyperliquidVenue(rest, server.ws_url, ALICE, ALICE.address, ["ETH"])
    stop = asyncio.Event()
    try:
        await venue.connect()
        # Someone else's book around 2,000 so the maker has a market to quote.
        async with HyperliquidRestClient(server.url, timeout_s=5.0) as carol:
            await carol.exchange(orders(eth(True, "1990", "5", "Alo"), eth(False, "2010", "5", "Alo")), CAROL)
        maker = build_maker(
            config, venue.market("ETH"), 2000.0, venue.settlement_model(), risk_limits(config)
        )
        loop = QuotingLoop(
            venue, maker, QuotingSettings(market="ETH", requote_interval_s=0.2, reconcile_interval_s=60.0)
        )
        task = asyncio.create_task(loop.run(stop))
        await eventually(lambda: len(loop.ledger.live_orders("ETH")) >= 2, timeout_s=10.0)
        bid = max((o for o in loop.ledger.live_orders("ETH") if o.side.value == "buy"), key=lambda o: o.price)
        # The stream goes down and stays down while a taker hits our bid.
        server.accept_ws = False
        await server.drop_ws_connections()
        async with HyperliquidRestClient(server.url, timeout_s=5.0) as bob:
            hit = await bob.exchange(orders(eth(False, str(bid.price), str(bid.size), "Ioc")), BOB)
        assert isinstance(hit.outcomes[0], Filled)
        assert loop.stats.fills == 0  # nothing reached us
        gaps = loop.stats.stream_gaps
        server.accept_ws = True
        # Reconnect → StreamGap → reconciliation (the interval is a minute: only the gap can trigger it).
        await eventually(lambda: loop.stats.stream_gaps > gaps, timeout_s=15.0)
        await eventually(lambda: loop.ledger.position("ETH") == bid.size, timeout_s=10.0)
        assert loop.stats.inferred_fills >= 1
        assert loop.stats.position_corrections == 0  # the fill itself was recovered, not patched over
        filled = loop.ledger.get(bid.order_id)
        assert filled is not None
        assert filled.state is OrderState.FILLED
        stop.set()
        await task
    finally:
        stop.set()
        await venue.close()
        await rest.close()
        await server.close()
