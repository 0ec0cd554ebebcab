"""clearinghouseState after fills, with worked numbers; realized pnl and position flips."""

from __future__ import annotations

from decimal import Decimal

from keeper.codecs.hyperliquid import update_leverage_action
from keeper.localvenue import LocalVenue
from tests.localvenue.conftest import ADDRESS_A, ADDRESS_B, ETH, KEY_AGENT1, Trader, info


def test_clearinghouse_state_after_a_fill(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    alice.order(ETH, False, "2000", "1")
    bob.order(ETH, True, "2000", "1", tif="Ioc")
    # Book now empty, last trade 2000; oracle 2010 -> mark = median(2010, 2010, 2000) = 2010.
    assert venue.set_oracle_px("ETH", Decimal(2010), venue.now_ms)
    state = info(venue, type="clearinghouseState", user=ADDRESS_B)
    # usdc = 100000 - 0.9 taker fee; upnl = +10; leverage 20 (default, under max 25).
    assert state["marginSummary"] == {
        "accountValue": "100009.1",
        "totalNtlPos": "2010.0",
        "totalRawUsd": "97999.1",
        "totalMarginUsed": "100.5",
    }
    assert state["crossMarginSummary"] == state["marginSummary"]
    assert state["crossMaintenanceMarginUsed"] == "40.2"  # 2010 / (2 * 25)
    assert state["withdrawable"] == "99908.6"
    assert state["time"] == venue.now_ms
    assert state["assetPositions"] == [
        {
            "type": "oneWay",
            "position": {
                "coin": "ETH",
                "szi": "1.0",
                "leverage": {"type": "cross", "value": 20},
                "entryPx": "2000.0",
                "positionValue": "2010.0",
                "unrealizedPnl": "10.0",
                "returnOnEquity": "0.1",  # 10 / (2000 / 20)
                "liquidationPx": None,  # far below zero for a 100k account
                "marginUsed": "100.5",
                "maxLeverage": 25,
                "cumFunding": {"allTime": "0.0", "sinceOpen": "0.0", "sinceChange": "0.0"},
            },
        }
    ]
    short = info(venue, type="clearinghouseState", user=ADDRESS_A)
    assert short["marginSummary"]["accountValue"] == "99989.7"  # 100000 - 0.3 maker fee - 10
    # Short: mark + (99989.7 - 40.2) / 1 / (1 + 1/50) = 2010 + 97989.70588235...
    assert short["assetPositions"][0]["position"]["liquidationPx"] == "99999.70588235"
    assert short["assetPositions"][0]["position"]["returnOnEquity"] == "-0.1"


def test_liquidation_price_of_a_small_long(venue: LocalVenue, alice: Trader) -> None:
    small = Trader(venue, KEY_AGENT1)
    venue.deposit(small.address, Decimal(150), venue.now_ms)
    alice.order(ETH, False, "2000", "1")
    small.order(ETH, True, "2000", "1", tif="Ioc")
    venue.set_oracle_px("ETH", Decimal(2010), venue.now_ms)
    position = info(venue, type="clearinghouseState", user=small.address)["assetPositions"][0]["position"]
    # value 150 - 0.9 + 10 = 159.1; maintenance 40.2; 2010 - 118.9 / 0.98 = 1888.67346938...
    assert position["liquidationPx"] == "1888.67346939"
    liq = Decimal("1888.67346939")
    assert abs((Decimal("149.1") + liq - 2000) - liq / 50) < Decimal(
        "0.000001"
    )  # equity == maintenance there


def test_realized_pnl_close_and_flip(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    alice.order(ETH, False, "2000", "1")
    bob.order(ETH, True, "2000", "1", tif="Ioc")  # bob long 1 @ 2000
    alice.order(ETH, True, "2010", "0.4")
    bob.order(ETH, False, "2010", "0.4", tif="Ioc")  # closes 0.4: +4.0
    alice.order(ETH, True, "1990", "1.6")
    bob.order(ETH, False, "1990", "1.6", tif="Ioc")  # closes 0.6 at -10 each, opens 1.0 short
    fills = info(venue, type="userFills", user=ADDRESS_B)
    assert [(f["dir"], f["startPosition"], f["closedPnl"]) for f in fills] == [
        ("Long > Short", "0.6", "-6.0"),
        ("Close Long", "1.0", "4.0"),
        ("Open Long", "0.0", "0.0"),
    ]
    [position] = info(venue, type="clearinghouseState", user=ADDRESS_B)["assetPositions"]
    assert (position["position"]["szi"], position["position"]["entryPx"]) == ("-1.0", "1990.0")
    # Alice took the other side each time: short 1 @ 2000 -> covered 0.4 @ 2010 (-4.0) -> ...
    alice_fills = info(venue, type="userFills", user=ADDRESS_A)
    assert [(f["dir"], f["closedPnl"]) for f in alice_fills] == [
        ("Short > Long", "6.0"),
        ("Close Short", "-4.0"),
        ("Open Short", "0.0"),
    ]
    fees = Decimal(0)
    for fill in fills:
        fees += Decimal(fill["fee"])
    assert fees == Decimal("0.9") + Decimal("0.3618") + Decimal("1.4328")  # 4.5 bp of 2000, 804, 3184
    balance = Decimal(100_000) + 4 - 6 - fees
    state = info(venue, type="clearinghouseState", user=ADDRESS_B)
    assert Decimal(state["marginSummary"]["totalRawUsd"]) == balance + 1990  # short 1 @ 1990


def test_update_leverage(venue: LocalVenue, alice: Trader, bob: Trader) -> None:
    ok = {"status": "ok", "response": {"type": "default"}}
    assert bob.send(update_leverage_action(ETH, 5, is_cross=True)) == ok
    assert bob.send(update_leverage_action(ETH, 26, is_cross=True)) == {
        "status": "err",
        "response": "Invalid leverage value",
    }
    assert bob.send(update_leverage_action(ETH, 5, is_cross=False))["response"].startswith("Isolated margin")
    alice.order(ETH, False, "2000", "1")
    bob.order(ETH, True, "2000", "1", tif="Ioc")
    position = info(venue, type="clearinghouseState", user=ADDRESS_B)["assetPositions"][0]["position"]
    assert position["leverage"] == {"type": "cross", "value": 5}
    assert position["marginUsed"] == "400.0"
    small = Trader(venue, KEY_AGENT1)
    venue.deposit(small.address, Decimal(150), venue.now_ms)
    small.order(ETH, True, "1000", "1")  # reserves 50 at 20x
    assert small.send(update_leverage_action(ETH, 6, is_cross=True)) == {
        "status": "err",
        "response": "Insufficient margin to change leverage.",
    }
    assert small.send(update_leverage_action(ETH, 7, is_cross=True)) == ok  # 1000 / 7 = 142.86
