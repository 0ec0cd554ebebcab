"""Core venue types <-> Hyperliquid wire types: ids, orders, outcomes, events and reports, by example."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from keeper.codecs.hyperliquid import (
    CloidMap,
    HlMarket,
    Meta,
    VenueEventMapper,
    WsEvent,
    account_reports,
    cancel_outcome,
    decode_info,
    markets_from_meta,
    next_funding_ms,
    order_report,
    order_status_report,
    order_wire,
    parse_ws_message,
    status_family,
    submit_outcome,
    wire_price,
)
from keeper.codecs.hyperliquid import exchange_responses as hl
from keeper.core import venue as core
from keeper.core.types import Side

D = Decimal
PREFIX = "00112233445566ff"
ETH = HlMarket(coin="ETH", asset=1, sz_decimals=4)
T = 1_700_000_000_000  # 22:13:20 UTC: the next funding hour is 1_700_002_800_000
USER = "0x" + "ab" * 20


def frame(channel: str, data: object) -> WsEvent:
    event = parse_ws_message(json.dumps({"channel": channel, "data": data}))
    assert event is not None
    return event


def wire_order(oid: int, cloid: str | None = None, coin: str = "ETH", sz: str = "1.0") -> dict[str, Any]:
    order: dict[str, Any] = {
        "coin": coin,
        "side": "B",
        "limitPx": "1990.0",
        "sz": sz,
        "oid": oid,
        "timestamp": T,
        "origSz": "1.0",
    }
    if cloid is not None:
        order["cloid"] = cloid
    return order


def wire_fill(
    tid: int, oid: int, cloid: str | None = None, coin: str = "ETH", **extra: Any
) -> dict[str, Any]:
    fill = {
        "coin": coin,
        "px": "1990.0",
        "sz": "0.5",
        "side": "A",
        "time": T + 5,
        "startPosition": "0.0",
        "dir": "Open Short",
        "closedPnl": "0.0",
        "hash": "0x" + "00" * 32,
        "oid": oid,
        "crossed": False,
        "fee": "0.149250",
        "tid": tid,
        "feeToken": "USDC",
    }
    if cloid is not None:
        fill["cloid"] = cloid
    fill.update(extra)
    return fill


def request(
    side: Side = Side.BUY,
    price: str = "1990.5",
    size: str = "0.25",
    tif: core.TimeInForce = core.TimeInForce.POST_ONLY,
    **extra: Any,
) -> core.OrderRequest:
    return core.OrderRequest(
        client_id="o1", market="ETH", side=side, price=D(price), size=D(size), tif=tif, **extra
    )


# ---- ids ----


def test_cloids_are_prefix_plus_counter_deterministic_and_map_back() -> None:
    cloids = CloidMap(PREFIX)
    assert cloids.cloid_for("o1") == "0x00112233445566ff0000000000000000"
    assert cloids.cloid_for("o2") == "0x00112233445566ff0000000000000001"
    assert cloids.cloid_for("o1") == "0x00112233445566ff0000000000000000"  # stable per client id
    again = CloidMap("0x" + PREFIX.upper())  # 0x and case do not matter
    assert [again.cloid_for(c) for c in ("o1", "o2")] == [cloids.cloid_of("o1"), cloids.cloid_of("o2")]
    assert cloids.client_id_of("0x00112233445566FF0000000000000001") == "o2"
    assert cloids.cloid_of("o3") is None
    assert cloids.client_id_of("0x00112233445566ff0000000000000005") is None  # ours, never assigned
    assert cloids.client_id_of("0x99112233445566ff0000000000000000") is None  # another session
    assert cloids.client_id_of(None) is None
    assert CloidMap(PREFIX, start=2**64 - 1).cloid_for("last") == "0x00112233445566ffffffffffffffffff"


def test_cloid_map_is_bounded_and_refuses_bad_prefixes() -> None:
    cloids = CloidMap(PREFIX, capacity=2)
    first = cloids.cloid_for("a")
    cloids.cloid_for("b")
    cloids.cloid_for("c")
    assert len(cloids) == 2
    assert cloids.cloid_of("a") is None
    assert cloids.client_id_of(first) is None
    assert cloids.cloid_of("c") == "0x00112233445566ff0000000000000002"
    for bad in ("0011", "0x" + "g" * 16, PREFIX + "00"):
        with pytest.raises(ValueError, match="8 bytes of hex"):
            CloidMap(bad)
    exhausted = CloidMap(PREFIX, start=2**64 - 1)
    exhausted.cloid_for("x")
    with pytest.raises(ValueError, match="exhausted"):
        exhausted.cloid_for("y")


# ---- markets and orders ----


def test_market_spec_tick_and_lot_follow_sz_decimals() -> None:
    spec = ETH.spec()
    assert (spec.market, spec.tick, spec.lot, spec.min_notional) == ("ETH", D("0.01"), D("0.0001"), D(10))
    assert spec.funding_interval_s == 3600.0
    coarse = HlMarket(coin="X", asset=0, sz_decimals=0).spec()
    assert (coarse.tick, coarse.lot) == (D("0.000001"), D(1))


def test_markets_from_meta() -> None:
    meta = decode_info(
        "meta",
        json.dumps(
            {
                "universe": [
                    {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
                    {"name": "ETH", "szDecimals": 4, "maxLeverage": 25},
                    {"name": "OLD", "szDecimals": 1, "maxLeverage": 3, "isDelisted": True},
                ]
            }
        ),
    )
    assert isinstance(meta, Meta)
    assert markets_from_meta(meta, ["ETH", "BTC"]) == {
        "ETH": ETH,
        "BTC": HlMarket(coin="BTC", asset=0, sz_decimals=5),
    }
    with pytest.raises(ValueError, match="not in the venue's meta"):
        markets_from_meta(meta, ["DOGE"])
    with pytest.raises(ValueError, match="delisted"):
        markets_from_meta(meta, ["OLD"])


@pytest.mark.parametrize(
    ("price", "sz_decimals"),
    [
        ("1234.5", 4),  # 5 significant figures
        ("123456", 4),  # integers are always valid
        ("0.12345", 0),
        ("0.012345", 0),  # leading zeros are not significant
        ("99999", 4),
    ],
)
def test_wire_price_passes_valid_prices_unchanged(price: str, sz_decimals: int) -> None:
    assert wire_price(D(price), sz_decimals) == D(price)


@pytest.mark.parametrize(
    ("price", "sz_decimals"), [("1234.56", 4), ("1990.01", 4), ("0.123456", 0), ("99999.5", 4)]
)
def test_wire_price_refuses_what_it_would_have_to_round(price: str, sz_decimals: int) -> None:
    with pytest.raises(ValueError, match="significant figures"):
        wire_price(D(price), sz_decimals)


@pytest.mark.parametrize(
    ("price", "sz_decimals", "tick"),
    [
        ("2000", 4, "0.1"),
        ("999.99", 4, "0.01"),
        ("20000", 5, "1"),
        ("123456", 4, "1"),  # never coarser than 1: integers are always valid
        ("0.5", 0, "0.00001"),
        ("0.05", 0, "0.000001"),  # the decimals tick is the floor
    ],
)
def test_tick_at_follows_the_significant_figure_rule(price: str, sz_decimals: int, tick: str) -> None:
    market = HlMarket(coin="X", asset=0, sz_decimals=sz_decimals)
    assert market.tick_at(D(price)) == D(tick)
    assert market.spec(D(price)).tick == D(tick)
    on_grid = (D(price) / D(tick)).to_integral_value() * D(tick)
    assert wire_price(on_grid, sz_decimals) == on_grid


def test_wire_price_refuses_prices_off_the_tick() -> None:
    with pytest.raises(ValueError, match=r"not a positive multiple of the tick 0\.01"):
        wire_price(D("1990.005"), 4)
    for bad in ("0", "-1", "1e40", "NaN", "Infinity"):
        with pytest.raises(ValueError, match="tick"):
            wire_price(D(bad), 4)


def test_order_wire_maps_tif_side_reduce_only_cloid_and_numbers() -> None:
    cloid = CloidMap(PREFIX).cloid_for("o1")
    alo = order_wire(request(), ETH, cloid)
    assert (alo.asset, alo.is_buy, alo.price, alo.size, alo.reduce_only, alo.cloid) == (
        1,
        True,
        "1990.5",
        "0.25",
        False,
        cloid,
    )
    assert alo.order_type.limit is not None
    assert alo.order_type.limit.tif == "Alo"
    ioc = order_wire(request(Side.SELL, "1990.6", tif=core.TimeInForce.IOC, reduce_only=True), ETH, cloid)
    assert (ioc.is_buy, ioc.price, ioc.reduce_only) == (False, "1990.6", True)
    with pytest.raises(ValueError, match="significant figures"):  # refused, never rounded
        order_wire(request(Side.SELL, "1990.55"), ETH, cloid)
    assert ioc.order_type.limit is not None
    assert ioc.order_type.limit.tif == "Ioc"
    gtc = order_wire(request(tif=core.TimeInForce.GTC, size="2.5000"), ETH, cloid)
    assert gtc.order_type.limit is not None
    assert (gtc.order_type.limit.tif, gtc.size) == ("Gtc", "2.5")


def test_order_wire_refuses_what_would_round() -> None:
    cloid = CloidMap(PREFIX).cloid_for("o1")
    with pytest.raises(ValueError, match=r"order o1: size 0\.00001 has 5 decimals"):
        order_wire(request(size="0.00001"), ETH, cloid)
    with pytest.raises(ValueError, match=r"order o1: price 1990\.001"):
        order_wire(request(price="1990.001"), ETH, cloid)
    with pytest.raises(ValueError, match="market 'ETH' is not 'BTC'"):
        order_wire(request(), HlMarket(coin="BTC", asset=0, sz_decimals=5), cloid)


# ---- outcomes ----


def test_exchange_outcomes_map_to_core_outcomes() -> None:
    assert submit_outcome(hl.Resting(77, "0x" + "0" * 32)) == core.Resting(venue_order_id="77")
    assert submit_outcome(hl.Filled(78, D("0.02"), D("1891.4"))) == core.Executed(
        venue_order_id="78", filled_size=D("0.02"), avg_price=D("1891.4")
    )
    assert submit_outcome(hl.Refused("Order must have minimum value of $10.")) == core.Rejected(
        reason="Order must have minimum value of $10."
    )
    assert submit_outcome(hl.Unknown("HTTP 502")) == core.Unknown(reason="HTTP 502", unsent=False)
    assert submit_outcome(hl.Unknown("rate limited (HTTP 429)", retryable=True)) == core.Unknown(
        reason="rate limited (HTTP 429)", unsent=True
    )
    assert cancel_outcome(hl.Canceled()) == core.Canceled()
    assert cancel_outcome(hl.Refused("Order was never placed, already canceled, or filled.")) == (
        core.Rejected(reason="Order was never placed, already canceled, or filled.")
    )
    assert cancel_outcome(hl.Unknown("no HTTP response", retryable=True)) == core.Unknown(
        reason="no HTTP response", unsent=True
    )


# ---- statuses and events ----


@pytest.mark.parametrize(
    ("status", "family"),
    [
        ("open", "open"),
        ("filled", "filled"),
        ("triggered", "triggered"),
        ("canceled", "canceled"),
        ("marginCanceled", "canceled"),
        ("selfTradeCanceled", "canceled"),
        ("reduceOnlyCanceled", "canceled"),
        ("scheduledCancel", "canceled"),
        ("internalCancel", "canceled"),
        ("outcomeSettledCanceled", "canceled"),
        ("rejected", "rejected"),
        ("badAloPxRejected", "rejected"),
        ("iocCancelRejected", "rejected"),
        ("tooManyOpenOrdersRejected", "rejected"),
        ("someFutureStatus", "unknown"),
        ("", "unknown"),
        ("Canceled-ish", "unknown"),
    ],
)
def test_status_families(status: str, family: str) -> None:
    assert status_family(status) == family


def order_updates(*updates: tuple[dict[str, Any], str]) -> WsEvent:
    return frame("orderUpdates", [{"order": o, "status": s, "statusTimestamp": T + 1} for o, s in updates])


def test_order_updates_become_accepted_canceled_rejected_and_unknowns_are_only_counted() -> None:
    cloids = CloidMap(PREFIX)
    mine = cloids.cloid_for("o1")
    foreign = "0x" + "77" * 16
    mapper = VenueEventMapper(cloids, ["ETH"])
    events = mapper.map(
        order_updates(
            (wire_order(5, mine), "open"),
            (wire_order(6, foreign), "marginCanceled"),
            (wire_order(7), "scheduledCancel"),
            (wire_order(8, mine), "badAloPxRejected"),
            (wire_order(9, mine), "filled"),
            (wire_order(10, mine), "brandNewStatus"),
            (wire_order(11, mine), "brandNewStatus"),
            (wire_order(12, mine, coin="BTC"), "open"),
        ),
        received_ms=T + 50,
    )
    assert events == [
        core.OrderAccepted(client_id="o1", venue_order_id="5", market="ETH", ts_ms=T + 1),
        core.OrderCanceled(
            client_id=None, venue_order_id="6", market="ETH", ts_ms=T + 1, reason="marginCanceled"
        ),
        core.OrderCanceled(
            client_id=None, venue_order_id="7", market="ETH", ts_ms=T + 1, reason="scheduledCancel"
        ),
        core.OrderRejected(
            client_id="o1", venue_order_id="8", market="ETH", ts_ms=T + 1, reason="badAloPxRejected"
        ),
    ]
    assert not any(isinstance(e, core.OrderRejected) and e.venue_order_id in ("10", "11") for e in events)
    assert mapper.stats.unknown_statuses == {"brandNewStatus": 2}
    assert (mapper.stats.events, mapper.stats.other_markets) == (4, 1)


def test_fills_map_once_across_user_fills_and_the_user_channel() -> None:
    cloids = CloidMap(PREFIX)
    mine = cloids.cloid_for("o1")
    mapper = VenueEventMapper(cloids, ["ETH"])
    fill = wire_fill(42, 5, mine)
    expected = core.OrderFilled(
        client_id="o1",
        venue_order_id="5",
        trade_id="42:5",  # both sides of a trade share its tid
        market="ETH",
        side=Side.SELL,
        price=D(1990),
        size=D("0.5"),
        fee=D("0.14925"),
        maker=True,
        ts_ms=T + 5,
    )
    assert mapper.map(frame("userFills", {"user": USER, "isSnapshot": True, "fills": [fill]}), T) == []
    assert mapper.map(frame("userFills", {"user": USER, "fills": [fill]}), T) == [expected]
    assert mapper.map(frame("user", {"fills": [fill]}), T) == []  # the same fill again
    taker = wire_fill(43, 6, None, side="B", crossed=True, fee="-0.01")
    [event] = mapper.map(frame("user", {"fills": [taker, wire_fill(44, 7, coin="BTC")]}), T)
    assert isinstance(event, core.OrderFilled)
    assert (event.client_id, event.side, event.maker, event.fee) == (None, Side.BUY, False, D("-0.01"))
    assert (mapper.stats.snapshot_fills, mapper.stats.duplicate_fills, mapper.stats.other_markets) == (
        1,
        1,
        1,
    )


def test_both_sides_of_one_trade_between_our_orders_are_two_fills() -> None:
    cloids = CloidMap(PREFIX)
    mapper = VenueEventMapper(cloids, ["ETH"])
    sell, buy = wire_fill(50, 8, cloids.cloid_for("a1")), wire_fill(50, 9, cloids.cloid_for("b1"), side="B")
    events = mapper.map(frame("userFills", {"user": USER, "fills": [sell, buy]}), T)
    assert [(e.client_id, e.trade_id) for e in events if isinstance(e, core.OrderFilled)] == [
        ("a1", "50:8"),
        ("b1", "50:9"),
    ]


def test_funding_and_venue_cancels_on_the_user_channel() -> None:
    mapper = VenueEventMapper(CloidMap(PREFIX), ["ETH"])
    hour = next_funding_ms(T)
    assert hour == 1_700_002_800_000
    funding = {"time": hour, "coin": "ETH", "usdc": "-0.05", "szi": "2.0", "fundingRate": "0.0000125"}
    paid = core.FundingPaid(market="ETH", amount=D("-0.05"), rate=D("0.0000125"), position=D(2), ts_ms=hour)
    assert mapper.map(frame("user", {"funding": funding}), T) == [paid]
    # The same payment on userFundings (if subscribed) is not paid twice.
    assert mapper.map(frame("userFundings", {"user": USER, "fundings": [funding]}), T) == []
    assert mapper.stats.duplicate_fundings == 1
    cancels = {"nonUserCancel": [{"coin": "ETH", "oid": 9}, {"coin": "BTC", "oid": 10}]}
    assert mapper.map(frame("user", cancels), T + 7) == [
        core.OrderCanceled(
            client_id=None, venue_order_id="9", market="ETH", ts_ms=T + 7, reason="nonUserCancel"
        )
    ]


def test_market_data_becomes_book_top_and_market_context() -> None:
    mapper = VenueEventMapper(CloidMap(PREFIX), ["ETH"])
    bbo = {"coin": "ETH", "time": T, "bbo": [{"px": "1990.0", "sz": "1.5", "n": 2}, None]}
    assert mapper.map(frame("bbo", bbo), T + 3) == [
        core.BookTop(market="ETH", bid=D(1990), ask=None, bid_size=D("1.5"), ask_size=D(0), ts_ms=T)
    ]
    book = {
        "coin": "ETH",
        "time": T,
        "levels": [[{"px": "1990.0", "sz": "1", "n": 1}], [{"px": "2010.5", "sz": "3", "n": 2}]],
    }
    assert mapper.map(frame("l2Book", book), T) == [
        core.BookTop(market="ETH", bid=D(1990), ask=D("2010.5"), bid_size=D(1), ask_size=D(3), ts_ms=T)
    ]
    ctx = {
        "coin": "ETH",
        "ctx": {
            "funding": "0.0000125",
            "openInterest": "10.0",
            "prevDayPx": "1980.0",
            "dayNtlVlm": "0.0",
            "oraclePx": "2000.1",
            "markPx": "2000.5",
        },
    }
    assert mapper.map(frame("activeAssetCtx", ctx), T + 3) == [
        core.MarketContext(
            market="ETH",
            mark=D("2000.5"),
            oracle=D("2000.1"),
            funding_rate=D("0.0000125"),
            ts_ms=T + 3,
            next_funding_ms=1_700_002_800_000,
        )
    ]
    assert mapper.map(frame("allMids", {"mids": {"ETH": "2000"}}), T) == []
    assert mapper.stats.ignored == 1
    assert next_funding_ms(None) is None
    assert next_funding_ms(1_700_002_800_000) == 1_700_006_400_000  # on the hour: the next one


# ---- reports ----


def test_open_orders_become_reports() -> None:
    cloids = CloidMap(PREFIX)
    mine = cloids.cloid_for("o1")
    [row] = decode_info("frontendOpenOrders", json.dumps([wire_order(5, mine, sz="0.4")]))
    assert order_report(row, cloids) == core.OrderReport(
        client_id="o1",
        venue_order_id="5",
        market="ETH",
        side=Side.BUY,
        price=D(1990),
        size=D("0.4"),
        original_size=D(1),
        state=core.OrderState.PARTIALLY_FILLED,
        ts_ms=T,
    )
    legacy = wire_order(6, "0x" + "12" * 16)
    del legacy["origSz"]
    [old] = decode_info("openOrders", json.dumps([legacy]))
    report = order_report(old, cloids)
    assert (report.client_id, report.original_size, report.state) == (None, D(1), core.OrderState.ACCEPTED)


def status_reply(status: str, sz: str) -> bytes:
    order = {**wire_order(5, CloidMap(PREFIX).cloid_for("o1"), sz=sz), "tif": "Alo", "orderType": "Limit"}
    body = {"status": "order", "order": {"order": order, "status": status, "statusTimestamp": T + 9}}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("status", "sz", "state"),
    [
        ("open", "1.0", core.OrderState.ACCEPTED),
        ("open", "0.3", core.OrderState.PARTIALLY_FILLED),
        ("filled", "0.0", core.OrderState.FILLED),
        ("canceled", "0.3", core.OrderState.CANCELED),
        ("scheduledCancel", "1.0", core.OrderState.CANCELED),
        ("perpMarginRejected", "1.0", core.OrderState.REJECTED),
        ("mysteryStatus", "1.0", core.OrderState.UNKNOWN),
    ],
)
def test_order_status_reports(status: str, sz: str, state: core.OrderState) -> None:
    cloids = CloidMap(PREFIX)
    cloids.cloid_for("o1")
    report = order_status_report(decode_info("orderStatus", status_reply(status, sz)), cloids, final=True)
    assert isinstance(report, core.OrderReport)
    assert (report.client_id, report.state, report.size, report.original_size, report.ts_ms) == (
        "o1",
        state,
        D(sz),
        D(1),
        T + 9,
    )


def test_unknown_oid_is_not_found_final_only_as_the_caller_proves() -> None:
    reply = decode_info("orderStatus", b'{"status":"unknownOid"}')
    cloids = CloidMap(PREFIX)
    assert order_status_report(reply, cloids, final=False) == core.NotFound(final=False)
    assert order_status_report(reply, cloids, final=True) == core.NotFound(final=True)


def test_clearinghouse_state_becomes_positions_and_margin() -> None:
    def position(coin: str, szi: str, value: str) -> dict[str, Any]:
        return {
            "type": "oneWay",
            "position": {
                "coin": coin,
                "szi": szi,
                "leverage": {"type": "cross", "value": 20},
                "entryPx": "1990.0",
                "positionValue": value,
                "unrealizedPnl": "-1.5",
                "returnOnEquity": "0.0",
                "liquidationPx": None,
                "marginUsed": "100.0",
            },
        }

    summary = {
        "accountValue": "100000.5",
        "totalNtlPos": "4000",
        "totalRawUsd": "0",
        "totalMarginUsed": "200",
    }
    state = decode_info(
        "clearinghouseState",
        json.dumps(
            {
                "assetPositions": [position("ETH", "-2.0", "4000.0"), position("BTC", "0.0", "0.0")],
                "marginSummary": summary,
                "crossMarginSummary": summary,
                "crossMaintenanceMarginUsed": "50.0",
                "withdrawable": "99800.5",
                "time": T,
            }
        ),
    )
    positions, margin = account_reports(state)
    assert positions == [
        core.PositionReport(
            market="ETH", size=D(-2), entry_price=D(1990), mark_price=D(2000), unrealized_pnl=D("-1.5")
        )
    ]
    assert margin == core.MarginReport(
        equity=D("100000.5"), margin_used=D(200), maintenance_margin=D(50), withdrawable=D("99800.5")
    )
