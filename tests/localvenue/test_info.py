"""Info shapes not covered elsewhere, bad info requests, WS events and subscription snapshots."""

from __future__ import annotations

from decimal import Decimal

from keeper.localvenue import BadRequest, LocalVenue
from tests.localvenue.conftest import ADDRESS_A, ADDRESS_B, DOGE, ETH, T0, Trader, info, oid_of

CLOID = "0x0000000000000000000000000000000a"


def test_meta(venue: LocalVenue) -> None:
    meta = info(venue, type="meta")
    assert meta["universe"] == [
        {"name": "ETH", "szDecimals": 4, "maxLeverage": 25, "marginTableId": 25},
        {"name": "DOGE", "szDecimals": 0, "maxLeverage": 10, "marginTableId": 10},
    ]
    assert meta["marginTables"][0] == [
        10,
        {"description": "", "marginTiers": [{"lowerBound": "0.0", "maxLeverage": 10}]},
    ]
    meta_again, ctxs = info(venue, type="metaAndAssetCtxs")
    assert meta_again == meta
    assert ctxs[DOGE] == {
        "funding": "0.0000125",
        "openInterest": "0.0",
        "prevDayPx": "0.2",
        "dayNtlVlm": "0.0",
        "premium": None,
        "oraclePx": "0.2",
        "markPx": "0.2",
        "midPx": None,
        "impactPxs": None,
        "dayBaseVlm": "0.0",
    }


def test_bad_info_requests_are_422(venue: LocalVenue) -> None:
    bad = BadRequest("Failed to deserialize the JSON body into the target type", 422)
    assert venue.handle_info({"type": "nope"}, T0) == bad
    assert venue.handle_info({"type": "clearinghouseState", "user": "0x12"}, T0) == bad
    assert venue.handle_info({"type": "userFillsByTime", "user": ADDRESS_A}, T0) == bad
    assert venue.handle_info({"type": "l2Book", "coin": "ETH", "nSigFigs": 6}, T0) == bad
    assert venue.handle_info(["meta"], T0) == bad
    assert venue.handle_info({"type": "l2Book", "coin": "XYZ"}, T0) is None
    empty = info(venue, type="clearinghouseState", user="0x" + "11" * 20)
    assert empty["marginSummary"]["accountValue"] == "0.0"
    assert empty["assetPositions"] == []


def test_l2_book_levels_and_sig_fig_buckets(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    alice.order(ETH, True, "1999.5", "1")
    bob.order(ETH, True, "1999.5", "2")
    alice.order(ETH, True, "1998.7", "1")
    alice.order(ETH, False, "2001.2", "0.5")
    book = info(venue, type="l2Book", coin="ETH")
    assert book == {
        "coin": "ETH",
        "time": T0,
        "levels": [
            [{"px": "1999.5", "sz": "3.0", "n": 2}, {"px": "1998.7", "sz": "1.0", "n": 1}],
            [{"px": "2001.2", "sz": "0.5", "n": 1}],
        ],
    }
    coarse = info(venue, type="l2Book", coin="ETH", nSigFigs=4)["levels"]
    assert coarse == [  # bids round down, asks up
        [{"px": "1999.0", "sz": "3.0", "n": 2}, {"px": "1998.0", "sz": "1.0", "n": 1}],
        [{"px": "2002.0", "sz": "0.5", "n": 1}],
    ]
    assert info(venue, type="allMids") == {"ETH": "2000.35", "DOGE": "0.2"}


def test_open_orders_frontend_and_order_status(venue: LocalVenue, alice: Trader) -> None:
    first = oid_of(alice.order(ETH, True, "1990", "1", cloid=CLOID))
    second = oid_of(alice.order(DOGE, False, "0.25", "100"))
    assert [o["oid"] for o in info(venue, type="openOrders", user=ADDRESS_A)] == [second, first]
    assert info(venue, type="openOrders", user=ADDRESS_A)[1] == {
        "coin": "ETH",
        "side": "B",
        "limitPx": "1990.0",
        "sz": "1.0",
        "oid": first,
        "timestamp": T0,
        "origSz": "1.0",
        "cloid": CLOID,
    }
    frontend = info(venue, type="frontendOpenOrders", user=ADDRESS_A)[0]
    assert frontend == {
        "coin": "DOGE",
        "side": "A",
        "limitPx": "0.25",
        "sz": "100.0",
        "oid": second,
        "timestamp": T0,
        "triggerCondition": "N/A",
        "isTrigger": False,
        "triggerPx": "0.0",
        "children": [],
        "isPositionTpsl": False,
        "reduceOnly": False,
        "orderType": "Limit",
        "origSz": "100.0",
        "tif": "Gtc",
        "cloid": None,
    }
    by_cloid = info(venue, type="orderStatus", user=ADDRESS_A, oid=CLOID)
    assert by_cloid == {
        "status": "order",
        "order": {"order": by_cloid["order"]["order"], "status": "open", "statusTimestamp": T0},
    }
    assert by_cloid["order"]["order"]["oid"] == first
    assert info(venue, type="orderStatus", user=ADDRESS_A, oid=12345) == {"status": "unknownOid"}


def test_user_rate_limit_and_fills_by_time(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    assert info(venue, type="userRateLimit", user=ADDRESS_B) == {
        "cumVlm": "0.0",
        "nRequestsUsed": 0,
        "nRequestsCap": 10_000,
    }
    alice.order(ETH, False, "2000", "1.5", now=T0 + 1)
    bob.order(ETH, True, "2000", "1", tif="Ioc", now=T0 + 2)
    bob.order(ETH, True, "2000", "0.5", tif="Ioc", now=T0 + 3)
    assert info(venue, type="userRateLimit", user=ADDRESS_B) == {
        "cumVlm": "3000.0",
        "nRequestsUsed": 2,
        "nRequestsCap": 13_000,
    }
    by_time = info(venue, type="userFillsByTime", user=ADDRESS_B, startTime=T0 + 3)
    assert [(f["sz"], f["time"]) for f in by_time] == [("0.5", T0 + 3)]
    everything = info(venue, type="userFillsByTime", user=ADDRESS_B, startTime=0, endTime=T0 + 10)
    assert [f["time"] for f in everything] == [T0 + 2, T0 + 3]  # oldest first
    assert [f["time"] for f in info(venue, type="userFills", user=ADDRESS_B)] == [
        T0 + 3,
        T0 + 2,
    ]  # newest first


def test_ws_events_for_an_order_and_a_trade(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    venue.drain_events()
    oid = oid_of(alice.order(ETH, False, "2000", "1", cloid=CLOID, now=T0 + 1))
    bob.order(ETH, True, "2000", "0.25", tif="Ioc", now=T0 + 2)
    events = venue.drain_events()
    assert venue.drain_events() == []
    channels = [(e.channel, e.user or e.coin) for e in events]
    assert channels == [
        ("orderUpdates", ADDRESS_A),
        ("l2Book", "ETH"),
        ("bbo", "ETH"),  # no allMids: mark (oracle 2000 with one side empty) did not move
        ("userFills", ADDRESS_B),
        ("user", ADDRESS_B),
        ("userFills", ADDRESS_A),
        ("user", ADDRESS_A),
        ("trades", "ETH"),
        ("orderUpdates", ADDRESS_B),
        ("l2Book", "ETH"),
        ("bbo", "ETH"),
    ]
    assert events[0].message() == {
        "channel": "orderUpdates",
        "data": [
            {
                "order": {
                    "coin": "ETH",
                    "side": "A",
                    "limitPx": "2000.0",
                    "sz": "1.0",
                    "oid": oid,
                    "timestamp": T0 + 1,
                    "origSz": "1.0",
                    "cloid": CLOID,
                },
                "status": "open",
                "statusTimestamp": T0 + 1,
            }
        ],
    }
    trade = events[7].data[0]
    assert trade | {"hash": ""} == {
        "coin": "ETH",
        "side": "B",
        "px": "2000.0",
        "sz": "0.25",
        "hash": "",
        "time": T0 + 2,
        "tid": 1,
        "users": [ADDRESS_B, ADDRESS_A],
    }
    assert events[7].data[0]["hash"] == events[3].data["fills"][0]["hash"]
    assert events[10].data == {
        "coin": "ETH",
        "time": T0 + 2,
        "bbo": [None, {"px": "2000.0", "sz": "0.75", "n": 1}],
    }


def test_subscription_snapshots(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    alice.order(ETH, False, "2000", "1")
    bob.order(ETH, True, "2000", "1", tif="Ioc")
    fills = venue.subscription_snapshot({"type": "userFills", "user": ADDRESS_B}, T0)
    assert fills is not None
    assert fills.data["isSnapshot"] is True
    assert len(fills.data["fills"]) == 1
    book = venue.subscription_snapshot({"type": "l2Book", "coin": "ETH"}, T0)
    assert book is not None
    assert book.message()["data"] == info(venue, type="l2Book", coin="ETH")
    assert venue.subscription_snapshot({"type": "orderUpdates", "user": ADDRESS_B}, T0) is None
    assert venue.set_oracle_px("ETH", Decimal(-1), T0) is False
