"""Fail-safe market data on a real local WS: hostile frames dropped and counted, staleness by content,
forced reconnects, the clock offset against the venue's timestamps, a reader that survives nesting."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from keeper.adapters.hyperliquid import (
    HyperliquidRestClient,
    LocalVenueServer,
    ManualClock,
    WallClock,
    wall_ms,
)
from keeper.core.md_guard import GuardConfig, Reason
from keeper.core.venue import BookTop, MarketContext, OrderAccepted, StreamGap
from tests.adapters.hyperliquid.conftest import BOB, T0, eth, eventually, orders
from tests.adapters.hyperliquid.test_venue_e2e import Events, is_, open_venue, order

D = Decimal


def bbo_frame(bid: str | None, ask: str | None, time_ms: int, coin: str = "ETH") -> str:
    def level(px: str | None) -> dict[str, Any] | None:
        return None if px is None else {"px": px, "sz": "1.5", "n": 1}

    return json.dumps(
        {"channel": "bbo", "data": {"coin": coin, "time": time_ms, "bbo": [level(bid), level(ask)]}}
    )


class SkewedClock(WallClock):
    """Wall time shifted by ``skew_ms``: a local clock that is off the venue's."""

    def __init__(self, skew_ms: int) -> None:
        self.skew_ms = skew_ms

    def now_ms(self) -> int:
        return wall_ms() + self.skew_ms


async def test_hostile_bbo_frames_are_counted_never_queued_and_leave_the_price_step(
    server: LocalVenueServer,
) -> None:
    async with open_venue(server) as venue:
        events = Events(venue)
        await events.next(is_(MarketContext))  # the oracle reference (2,000) is known
        assert venue.market("ETH").tick == D("0.1")
        now = wall_ms()
        hostile = [
            ("NaN", "2001", Reason.NON_FINITE),
            ("1999", "Infinity", Reason.NON_FINITE),
            ("0", "2001", Reason.NON_POSITIVE),
            ("-1999", "2001", Reason.NON_POSITIVE),  # a mid of 1 in a 2,000 market
            ("1999", "1e300", Reason.OUT_OF_RANGE),
            ("20001", "20000", Reason.CROSSED),  # a 20,000 mid would make the step 1
            ("24999", "25001", Reason.JUMP_VS_ORACLE),
        ]
        for bid, ask, _ in hostile:
            server.inject_ws_frame(bbo_frame(bid, ask, now))
        await eventually(lambda: venue.md_stats.total_rejected == len(hostile))
        expected: dict[str, int] = {}
        for _, _, reason in hostile:
            expected[reason] = expected.get(reason, 0) + 1
        assert venue.md_stats.rejected == expected
        assert venue.market("ETH").tick == D("0.1")
        assert venue.last_price("ETH") == D(2000)
        server.inject_ws_frame(bbo_frame("1999.5", "2000.5", now))  # a good one behind them
        await events.next(is_(BookTop, bid=D("1999.5")))
        tops = [e for e in events.seen if isinstance(e, BookTop)]
        assert all(t.bid is None or D(1900) < t.bid < D(2100) for t in tops)
        assert all(t.ask is None or D(1900) < t.ask < D(2100) for t in tops)
        assert venue.ws is not None
        assert venue.ws.stats.malformed == 0  # well-formed frames: rejected by the guard, not the codec


def context_frame(oracle: str, mark: str = "2000", funding: str = "0.0000125") -> str:
    ctx = {
        "funding": funding,
        "openInterest": "0",
        "prevDayPx": "2000",
        "dayNtlVlm": "0",
        "oraclePx": oracle,
        "markPx": mark,
    }
    return json.dumps({"channel": "activeAssetCtx", "data": {"coin": "ETH", "ctx": ctx}})


async def test_last_market_data_ms_advances_only_on_valid_data(
    manual_server: LocalVenueServer, clock: ManualClock
) -> None:
    async with open_venue(manual_server, clock=clock) as venue:
        await eventually(lambda: venue.last_oracle_ms("ETH") == T0 and venue.last_book_ms("ETH") == T0)
        assert venue.last_market_data_ms("ETH") == T0
        assert venue.last_market_data_ms("BTC") is None
        await clock.advance(1_000)  # the venue pushes the context every second; the empty book is quiet
        manual_server.inject_ws_frame(bbo_frame("NaN", "2001", clock.now_ms()))
        manual_server.inject_ws_frame(bbo_frame("2001", "1999", clock.now_ms()))
        await eventually(
            lambda: venue.md_stats.total_rejected == 2 and venue.last_oracle_ms("ETH") == T0 + 1_000
        )
        assert venue.last_book_ms("ETH") == T0  # the bad books did not count as data
        assert venue.last_market_data_ms("ETH") == T0 + 1_000
        await clock.advance(500)  # between context pushes
        manual_server.inject_ws_frame(bbo_frame("1999", "2001", clock.now_ms()))
        await eventually(lambda: venue.last_book_ms("ETH") == T0 + 1_500)
        assert (venue.last_market_data_ms("ETH"), venue.last_oracle_ms("ETH")) == (T0 + 1_500, T0 + 1_000)
        await clock.advance(200)
        for bad in (
            context_frame("NaN"),
            context_frame("2000", mark="0"),
            context_frame("2000", funding="Infinity"),
        ):
            manual_server.inject_ws_frame(bad)
        await eventually(lambda: venue.md_stats.total_rejected == 5)
        assert (venue.last_market_data_ms("ETH"), venue.last_oracle_ms("ETH")) == (T0 + 1_500, T0 + 1_000)
        await clock.advance(300)
        await eventually(lambda: venue.last_oracle_ms("ETH") == T0 + 2_000)
        assert venue.last_market_data_ms("ETH") == T0 + 2_000
        assert venue.last_book_ms("ETH") == T0 + 1_500


async def test_force_reconnect_emits_a_stream_gap_and_the_stream_resumes(server: LocalVenueServer) -> None:
    async with open_venue(server) as venue:
        ws = venue.ws
        assert ws is not None
        events = Events(venue)
        await events.next(is_(MarketContext))
        before = venue.last_market_data_ms("ETH")
        assert before is not None
        venue.force_reconnect("no market data for 12.0 s")
        gap = await events.next(is_(StreamGap))
        assert gap == StreamGap(reason="forced reconnect: no market data for 12.0 s", ts_ms=gap.ts_ms)
        assert (ws.reconnects, ws.forced_reconnects) == (1, 1)
        # Resubscribed: fresh snapshots, then live events again.
        await events.next(is_(MarketContext))
        assert (venue.last_market_data_ms("ETH") or 0) >= before
        await venue.submit([order("b1")])
        await events.next(is_(OrderAccepted, client_id="b1"))
        await eventually(lambda: server.ws_connection_count == 1)
        assert venue.stream_healthy()
        # The next ordinary reconnect is not reported as forced.
        await server.drop_ws_connections()
        later = await events.next(is_(StreamGap), timeout_s=10)
        assert isinstance(later, StreamGap)
        assert later.reason == "websocket reconnected"


async def test_force_reconnect_without_a_connection_does_nothing(server: LocalVenueServer) -> None:
    async with open_venue(server) as venue:
        ws = venue.ws
        assert ws is not None
        server.accept_ws = False
        await server.drop_ws_connections()
        await eventually(lambda: not ws.connected)
        venue.force_reconnect("stale")  # a reconnection is under way already
        assert ws.forced_reconnects == 0
        server.accept_ws = True
        events = Events(venue)
        gap = await events.next(is_(StreamGap), timeout_s=10)
        assert isinstance(gap, StreamGap)
        assert gap.reason == "websocket reconnected"


async def test_clock_offset_is_estimated_within_a_few_ms_of_an_injected_skew(
    server: LocalVenueServer, rest: HyperliquidRestClient
) -> None:
    skew = -15_000  # the production case: every action stamped 15 s late expires on arrival
    venue_rest = HyperliquidRestClient(server.url, timeout_s=5.0)
    async with open_venue(server, rest=venue_rest, clock=SkewedClock(skew)) as venue:  # type: ignore[arg-type]
        events = Events(venue)
        for i in range(5):  # book changes by someone else: bbo frames stamped with the venue's time
            await rest.exchange(orders(eth(True, f"{1990 + i}", "1", "Alo")), BOB)
            await events.next(is_(BookTop, bid=D(1990 + i)))
        offset = venue.clock_offset_ms()
        assert offset is not None
        assert skew - 1 <= offset <= skew + 50
        samples = venue._stream.clock_offset.stats.samples
        await venue.snapshot()  # clearinghouseState.time: one more sample
        assert venue._stream.clock_offset.stats.samples == samples + 1
        assert skew - 1 <= (venue.clock_offset_ms() or 0) <= skew + 50


async def test_a_frame_nested_10000_deep_is_skipped_without_dropping_the_connection(
    server: LocalVenueServer,
) -> None:
    async with open_venue(server) as venue:
        ws = venue.ws
        assert ws is not None
        events = Events(venue)
        await events.next(is_(MarketContext))
        deep = "[" * 10_000 + "]" * 10_000
        server.inject_ws_frame('{"channel":"bbo","data":' + deep + "}")
        server.inject_ws_frame(deep)
        server.inject_ws_frame(bbo_frame("1999", "2001", wall_ms()))
        await events.next(is_(BookTop, bid=D(1999)))
        assert ws.stats.malformed == 2
        assert (ws.reconnects, ws.handler_errors) == (0, 0)


class _NanMids(HyperliquidRestClient):
    async def info(self, type_name: str, **fields: Any) -> Any:  # type: ignore[override]
        reply = await super().info(type_name, **fields)  # type: ignore[call-overload]
        return {"ETH": D("NaN")} if type_name == "allMids" else reply


async def test_a_nan_mid_at_connect_sets_no_price(server: LocalVenueServer) -> None:
    # No context subscription: its mark would otherwise set the price step right after connect.
    async with open_venue(server, rest=_NanMids(server.url, timeout_s=5.0), asset_ctx=False) as venue:
        assert venue.last_price("ETH") is None
        assert venue.md_stats.rejected == {Reason.NON_FINITE: 1}
        assert venue.market("ETH").tick == D("0.01")  # the decimals tick: no price known


async def test_the_jump_band_is_set_through_the_constructor(server: LocalVenueServer) -> None:
    async with open_venue(server, md_guard=GuardConfig(jump_band=D("0.01"))) as venue:
        events = Events(venue)
        await events.next(is_(MarketContext))
        server.inject_ws_frame(bbo_frame("2029", "2031", wall_ms()))  # +1.5 %
        await eventually(lambda: venue.md_stats.total_rejected == 1)
        assert venue.md_stats.rejected == {Reason.JUMP_VS_ORACLE: 1}
