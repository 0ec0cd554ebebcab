"""Hourly funding: premium samples, the 8-hour formula, payment on oracle notional, records."""

from __future__ import annotations

from decimal import Decimal

import pytest

from keeper.localvenue import AssetConfig, LocalVenue
from tests.localvenue.conftest import ADDRESS_A, ADDRESS_B, ETH, KEY_A, KEY_B, T0, Trader, info, make_config

HOUR = 1_700_002_800_000  # first hour boundary after T0
SAMPLES = (HOUR - T0) // 5_000  # 560 samples at T0+5s ... HOUR
ZERO_HASH = "0x" + "00" * 32


def _venue_with_long(bid: str | None) -> tuple[LocalVenue, Trader, Trader]:
    """Bob long 2 ETH @ 2000 against Alice; optionally a bid that lifts the impact bid over the oracle."""
    eth = AssetConfig(
        name="ETH", sz_decimals=4, max_leverage=25, start_px=Decimal(2000), impact_notional=Decimal(1000)
    )
    venue = LocalVenue(make_config(assets=(eth,)), T0)
    alice, bob = Trader(venue, KEY_A), Trader(venue, KEY_B)
    alice.order(ETH, False, "2000", "2", now=T0 + 1)
    bob.order(ETH, True, "2000", "2", tif="Ioc", now=T0 + 2)
    if bid is not None:
        alice.order(ETH, True, bid, "1", now=T0 + 3)
        alice.order(ETH, False, "3100", "1", now=T0 + 4)  # ask above the oracle: no negative term
    return venue, alice, bob


@pytest.mark.parametrize(
    ("bid", "premium", "rate", "paid"),
    [
        # no book: premium 0, F8 = 0 + clamp(0.0001) -> 0.0000125/h; 2 * 2000 * 0.0000125
        (None, "0.0", "0.0000125", "0.05"),
        # impact bid 2020: premium 0.01; F8 = 0.01 + clamp(0.0001 - 0.01, +-0.0005) = 0.0095; /8
        ("2020", "0.01", "0.0011875", "4.75"),
        # impact bid 3000: premium 0.5; 0.4995 / 8 = 0.0624375, capped at 4 %/h
        ("3000", "0.5", "0.04", "160.0"),
    ],
)
def test_funding_paid_at_the_hour(bid: str | None, premium: str, rate: str, paid: str) -> None:
    venue, _, _ = _venue_with_long(bid)
    venue.advance(HOUR - 1)
    assert info(venue, type="userFunding", user=ADDRESS_B, startTime=0) == []
    [[coin, [[source, predicted]]]] = info(venue, type="predictedFundings")
    assert (coin, source, predicted["fundingRate"], predicted["nextFundingTime"]) == (
        "ETH",
        "HlPerp",
        rate,
        HOUR,
    )
    venue.drain_events()

    venue.advance(HOUR)
    assert info(venue, type="fundingHistory", coin="ETH", startTime=0) == [
        {"coin": "ETH", "fundingRate": rate, "premium": premium, "time": HOUR}
    ]
    assert info(venue, type="userFunding", user=ADDRESS_B, startTime=0) == [
        {
            "time": HOUR,
            "hash": ZERO_HASH,
            "delta": {
                "type": "funding",
                "coin": "ETH",
                "usdc": f"-{paid}",
                "szi": "2.0",
                "fundingRate": rate,
                "nSamples": SAMPLES,
            },
        }
    ]
    [alice_row] = info(venue, type="userFunding", user=ADDRESS_A, startTime=0)
    assert (alice_row["delta"]["usdc"], alice_row["delta"]["szi"]) == (paid, "-2.0")
    state = info(venue, type="clearinghouseState", user=ADDRESS_B)
    # usdc 100000 - 1.8 taker fee - funding; raw usd = usdc - 2 * 2000
    assert (
        Decimal(state["marginSummary"]["totalRawUsd"])
        == Decimal(100_000) - Decimal("1.8") - Decimal(paid) - 4000
    )
    assert state["assetPositions"][0]["position"]["cumFunding"]["allTime"] == paid

    events = [e for e in venue.drain_events() if e.user == ADDRESS_B]
    funding = {
        "time": HOUR,
        "coin": "ETH",
        "usdc": f"-{paid}",
        "szi": "2.0",
        "fundingRate": rate,
        "nSamples": SAMPLES,
    }
    assert [e.message() for e in events] == [
        {"channel": "userFundings", "data": {"user": ADDRESS_B, "isSnapshot": False, "fundings": [funding]}},
        {"channel": "user", "data": {"funding": funding}},
    ]


def test_samples_restart_each_hour_and_time_ranges_filter() -> None:
    venue, _, _ = _venue_with_long("2020")
    venue.advance(HOUR + 3_600_000)
    rows = info(venue, type="userFunding", user=ADDRESS_B, startTime=0)
    assert [(r["time"], r["delta"]["nSamples"]) for r in rows] == [(HOUR, SAMPLES), (HOUR + 3_600_000, 720)]
    assert info(venue, type="userFunding", user=ADDRESS_B, startTime=HOUR + 1) == rows[1:]
    assert info(venue, type="fundingHistory", coin="ETH", startTime=0, endTime=HOUR) == [
        {"coin": "ETH", "fundingRate": "0.0011875", "premium": "0.01", "time": HOUR}
    ]
    ctx = info(venue, type="metaAndAssetCtxs")[1][0]
    assert (ctx["funding"], ctx["premium"], ctx["oraclePx"]) == ("0.0011875", "0.01", "2000.0")
    assert ctx["impactPxs"] == ["2020.0", "3100.0"]


def test_the_asset_context_is_pushed_every_second_on_a_quiet_market() -> None:
    """A subscriber tells a quiet market from a stalled feed by the context's regular push."""
    eth = AssetConfig(name="ETH", sz_decimals=4, max_leverage=25, start_px=Decimal(2000))
    venue = LocalVenue(make_config(assets=(eth,)), T0)
    venue.drain_events()
    venue.advance(T0 + 10_000)
    contexts = [e for e in venue.drain_events() if e.subscription == "activeAssetCtx"]
    assert len(contexts) >= 10
