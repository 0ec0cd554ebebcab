"""Per-order validation with the venue's strings, price-time matching, cancels and modifies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from keeper.codecs.hyperliquid import (
    LIMIT_GTC,
    OrderAction,
    OrderType,
    OrderWire,
    TriggerSpec,
    batch_modify_action,
    cancel_action,
    cancel_by_cloid_action,
    modify_action,
)
from keeper.localvenue import LocalVenue
from tests.localvenue.conftest import ADDRESS_A, ADDRESS_B, DOGE, ETH, KEY_AGENT1, Trader, info, oid_of

CLOID = "0x00000000000000000000000000000007"
OK_DEFAULT = {"status": "ok", "response": {"type": "default"}}


@pytest.mark.parametrize(
    ("asset", "px", "sz", "expected"),
    [
        (ETH, "2000.55", "1", "Price must be divisible by tick size."),  # 6 significant figures
        (ETH, "1999.123", "1", "Price must be divisible by tick size."),  # 3 > 6 - szDecimals decimals
        (DOGE, "0.123456", "100", "Price must be divisible by tick size."),
        (ETH, "0", "1", "Order has invalid price."),
        (ETH, "2000", "0.00001", "Order has invalid size."),  # 5 > szDecimals 4
        (DOGE, "0.2", "100.5", "Order has invalid size."),
        (ETH, "2000", "0", "Order has zero size."),
        (ETH, "2000", "0.0049", "Order must have minimum value of $10."),  # 9.8 USDC
        (DOGE, "0.12345", "81", "Order must have minimum value of $10."),  # 9.99945 USDC
        (7, "2000", "1", "Unknown asset 7."),
    ],
)
def test_order_rejections(alice: Trader, asset: int, px: str, sz: str, expected: str) -> None:
    assert alice.order(asset, True, px, sz) == {"error": expected}


@pytest.mark.parametrize(
    ("asset", "px", "sz"),
    [
        (ETH, "2000.5", "0.005"),  # 10.0025 USDC
        (ETH, "2000.50", "0.0050"),  # trailing zeros are not extra precision
        (ETH, "123456", "0.0001"),  # integer prices are always allowed, whatever their figures
        (DOGE, "0.12345", "82"),
    ],
)
def test_orders_on_tick_and_lot_rest(alice: Trader, asset: int, px: str, sz: str) -> None:
    assert "resting" in alice.order(asset, True, px, sz)


def test_trigger_orders_are_rejected(alice: Trader) -> None:
    trigger = OrderType(trigger=TriggerSpec(True, "1900", "sl"))
    reply = alice.send(OrderAction((OrderWire(ETH, False, "1900", "1", False, trigger),), "na"))
    assert reply["response"]["data"]["statuses"] == [
        {"error": "Trigger orders are not supported on the local venue."}
    ]


def test_post_only_that_would_cross(alice: Trader, bob: Trader) -> None:
    alice.order(ETH, True, "1999", "1")
    alice.order(ETH, False, "2001", "1")
    assert bob.order(ETH, True, "2001.5", "1", tif="Alo") == {
        "error": "Post only order would have immediately matched, bbo was 1999.0@2001.0."
    }
    assert "resting" in bob.order(ETH, True, "2000.5", "1", tif="Alo")


def test_ioc_without_a_match(alice: Trader, bob: Trader) -> None:
    alice.order(ETH, False, "2001", "1")
    assert bob.order(ETH, True, "2000", "1", tif="Ioc") == {
        "error": "Order could not immediately match against any resting orders."
    }
    assert info(bob.venue, type="openOrders", user=bob.address) == []


def test_price_time_priority_with_partial_fills(
    venue: LocalVenue, alice: Trader, bob: Trader, carol: Trader
) -> None:
    a1 = oid_of(alice.order(ETH, False, "2001", "1", now=venue.now_ms + 1))
    b1 = oid_of(bob.order(ETH, False, "2001", "0.5", now=venue.now_ms + 1))
    a2 = oid_of(alice.order(ETH, False, "2002", "1", now=venue.now_ms + 1))
    b2 = oid_of(bob.order(ETH, False, "2000.5", "0.25", now=venue.now_ms + 1))  # better price, placed last
    status = carol.order(ETH, True, "2002", "2", cloid=CLOID, now=venue.now_ms + 1)
    # 0.25 @ 2000.5, 1 @ 2001 (alice first in time), 0.5 @ 2001 (bob), 0.25 @ 2002 of alice's 1:
    # avg = (500.125 + 2001 + 1000.5 + 500.5) / 2 = 2001.0625
    assert status == {"filled": {"totalSz": "2.0", "avgPx": "2001.0625", "oid": 5, "cloid": CLOID}}
    fills = list(reversed(info(venue, type="userFills", user=carol.address)))
    assert [(f["px"], f["sz"], f["oid"], f["crossed"]) for f in fills] == [
        ("2000.5", "0.25", 5, True),
        ("2001.0", "1.0", 5, True),
        ("2001.0", "0.5", 5, True),
        ("2002.0", "0.25", 5, True),
    ]
    assert [f["tid"] for f in fills] == [1, 2, 3, 4]
    assert [f["startPosition"] for f in fills] == ["0.0", "0.25", "1.25", "1.75"]
    assert {f["dir"] for f in fills} == {"Open Long"}
    # taker fee 4.5 bp per fill, rounded to micro-USDC: 2001 * 1 * 0.00045 = 0.90045
    assert fills[1]["fee"] == "0.90045"
    assert fills[0]["fee"] == "0.225056"  # 2000.5 * 0.25 * 0.00045 = 0.22505625
    maker_fills = {f["oid"]: f for f in info(venue, type="userFills", user=ADDRESS_A)}
    assert maker_fills[a1]["fee"] == "0.30015"
    assert maker_fills[a1]["crossed"] is False
    assert maker_fills[a1]["side"] == "A"
    assert maker_fills[a1]["dir"] == "Open Short"
    assert maker_fills[a2]["sz"] == "0.25"
    open_a = info(venue, type="openOrders", user=ADDRESS_A)
    assert [(o["oid"], o["sz"], o["origSz"]) for o in open_a] == [(a2, "0.75", "1.0")]
    assert info(venue, type="openOrders", user=ADDRESS_B) == []
    assert info(venue, type="orderStatus", user=ADDRESS_B, oid=b1)["order"]["status"] == "filled"
    assert info(venue, type="orderStatus", user=ADDRESS_B, oid=b2)["order"]["status"] == "filled"
    assert info(venue, type="l2Book", coin="ETH")["levels"] == [[], [{"px": "2002.0", "sz": "0.75", "n": 1}]]


def test_gtc_partially_filled_rests_the_remainder(alice: Trader, bob: Trader) -> None:
    alice.order(ETH, False, "2000", "0.4")
    status = bob.order(ETH, True, "2000", "1")
    assert status == {"resting": {"oid": 2}}
    assert info(bob.venue, type="openOrders", user=bob.address)[0] | {"timestamp": 0} == {
        "coin": "ETH",
        "side": "B",
        "limitPx": "2000.0",
        "sz": "0.6",
        "oid": 2,
        "timestamp": 0,
        "origSz": "1.0",
    }


def test_ioc_partial_fill_cancels_the_rest(alice: Trader, bob: Trader) -> None:
    alice.order(ETH, False, "2000", "0.4")
    assert bob.order(ETH, True, "2010", "1", tif="Ioc") == {
        "filled": {"totalSz": "0.4", "avgPx": "2000.0", "oid": 2}
    }
    assert info(bob.venue, type="orderStatus", user=bob.address, oid=2)["order"]["status"] == "canceled"


def test_self_trade_cancels_the_resting_order(alice: Trader) -> None:
    resting = oid_of(alice.order(ETH, True, "1999", "1"))
    assert alice.order(ETH, False, "1999", "1", tif="Ioc") == {
        "error": "Order could not immediately match against any resting orders."
    }
    status = info(alice.venue, type="orderStatus", user=alice.address, oid=resting)
    assert status["order"]["status"] == "selfTradeCanceled"


def test_cancel_and_cancel_by_cloid(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    oid = oid_of(alice.order(ETH, True, "1990", "1"))
    other = oid_of(bob.order(ETH, True, "1980", "1"))
    missing = {"error": "Order was never placed, already canceled, or filled."}
    reply = alice.send(cancel_action([(ETH, oid), (ETH, other), (DOGE, oid)]))
    assert reply == {
        "status": "ok",
        "response": {"type": "cancel", "data": {"statuses": ["success", missing, missing]}},
    }
    assert alice.send(cancel_action([(ETH, oid)]))["response"]["data"]["statuses"] == [missing]
    assert info(venue, type="orderStatus", user=ADDRESS_A, oid=oid)["order"]["status"] == "canceled"

    by_cloid = oid_of(alice.order(ETH, True, "1990", "1", cloid=CLOID))
    statuses = alice.send(cancel_by_cloid_action([(DOGE, CLOID), (ETH, CLOID)]))["response"]["data"][
        "statuses"
    ]
    assert statuses == [missing, "success"]
    status = info(venue, type="orderStatus", user=ADDRESS_A, oid=CLOID)
    assert status["order"]["status"] == "canceled"
    assert status["order"]["order"]["oid"] == by_cloid
    assert info(venue, type="orderStatus", user=ADDRESS_B, oid=by_cloid) == {"status": "unknownOid"}


def test_modify_replaces_the_order(venue: LocalVenue, alice: Trader) -> None:
    oid = oid_of(alice.order(ETH, True, "1990", "1", cloid=CLOID))
    new = OrderWire(ETH, True, "1991", "2", False, LIMIT_GTC)
    assert alice.send(modify_action(oid, new)) == OK_DEFAULT
    [order] = info(venue, type="frontendOpenOrders", user=ADDRESS_A)
    assert (order["limitPx"], order["sz"], order["cloid"]) == ("1991.0", "2.0", CLOID)
    assert order["oid"] != oid
    assert info(venue, type="orderStatus", user=ADDRESS_A, oid=oid)["order"]["status"] == "canceled"
    # A rejected replacement leaves the order alone.
    bad = OrderWire(ETH, True, "1991.55", "2", False, LIMIT_GTC)
    assert alice.send(modify_action(CLOID, bad)) == {
        "status": "err",
        "response": "Price must be divisible by tick size.",
    }
    assert alice.send(modify_action(oid, new)) == {
        "status": "err",
        "response": "Cannot modify canceled or filled order",
    }
    assert [o["oid"] for o in info(venue, type="openOrders", user=ADDRESS_A)] == [order["oid"]]


def test_batch_modify(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    first = oid_of(alice.order(ETH, True, "1990", "1"))
    second = oid_of(alice.order(ETH, False, "2010", "1"))
    bob.order(ETH, True, "2005", "0.5")
    reply = alice.send(
        batch_modify_action(
            [
                (first, OrderWire(ETH, True, "1995", "1", False, LIMIT_GTC)),
                (second, OrderWire(ETH, False, "2005", "1", False, LIMIT_GTC)),  # now crosses bob's bid
                (999, OrderWire(ETH, True, "1995", "1", False, LIMIT_GTC)),
            ]
        )
    )
    assert reply["response"]["type"] == "order"
    assert reply["response"]["data"]["statuses"] == [
        {"resting": {"oid": 4}},
        {"resting": {"oid": 5}},
        {"error": "Cannot modify canceled or filled order"},
    ]
    assert [(o["oid"], o["limitPx"], o["sz"]) for o in info(venue, type="openOrders", user=ADDRESS_A)] == [
        (5, "2005.0", "0.5"),
        (4, "1995.0", "1.0"),
    ]


def test_reduce_only(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    assert bob.order(ETH, False, "2100", "1", reduce_only=True) == {
        "error": "Reduce only order would increase position."
    }
    alice.order(ETH, False, "2000", "0.5")
    bob.order(ETH, True, "2000", "0.5", tif="Ioc")  # bob long 0.5
    assert bob.order(ETH, True, "1900", "1", reduce_only=True) == {
        "error": "Reduce only order would increase position."
    }
    capped = oid_of(bob.order(ETH, False, "2100", "1", reduce_only=True))
    [order] = info(venue, type="openOrders", user=ADDRESS_B)
    assert (order["sz"], order["origSz"], order["reduceOnly"]) == ("0.5", "0.5", True)
    # Bob closes elsewhere: the reduce-only order would now open a short, so it is canceled.
    alice.order(ETH, True, "1999", "0.5")
    bob.order(ETH, False, "1999", "0.5", tif="Ioc")
    assert (
        info(venue, type="orderStatus", user=ADDRESS_B, oid=capped)["order"]["status"] == "reduceOnlyCanceled"
    )


def test_insufficient_margin_counts_open_orders_and_position(venue: LocalVenue, alice: Trader) -> None:
    small = Trader(venue, KEY_AGENT1)
    assert venue.deposit(small.address, Decimal(100), venue.now_ms)
    # 20x cross: 1 ETH at 2000 needs 100 USDC of initial margin.
    assert small.order(ETH, True, "2000", "1.0001") == {"error": "Insufficient margin to place order."}
    assert "resting" in small.order(ETH, True, "1999", "1")  # reserves 99.95
    assert small.order(ETH, True, "1999", "0.01") == {"error": "Insufficient margin to place order."}
    alice.order(ETH, False, "1999", "1", tif="Ioc")  # small is now long 1; mark 2000
    # Account value 100 - 0.29985 fee + 1 upnl = 100.70015; position margin 100.
    assert "resting" in small.order(ETH, False, "2050", "1")  # only closes: no extra margin
    assert small.order(ETH, False, "2050", "1.01") == {"error": "Insufficient margin to place order."}
