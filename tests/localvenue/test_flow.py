"""Seeded synthetic flow: deterministic per seed, independent of advance granularity, moves the market."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from keeper.localvenue import DEMO_MAKER, DEMO_TAKER, AssetConfig, FlowConfig, LocalVenue
from tests.localvenue.conftest import KEY_A, T0, Trader, info, make_config

DEMO = 0


def _venue(seed: int) -> LocalVenue:
    demo = AssetConfig(name="DEMO", sz_decimals=2, max_leverage=10, start_px=Decimal(100))
    config = make_config(assets=(demo,), flow=FlowConfig(enabled=True, seed=seed, coin="DEMO"))
    return LocalVenue(config, T0)


def _run(venue: LocalVenue, end: int, step: int) -> list[dict[str, Any]]:
    messages = []
    now = T0
    while now < end:
        now = min(end, now + step)
        venue.advance(now)
        messages += [event.message() for event in venue.drain_events()]
    return messages


def test_same_seed_same_market_whatever_the_advance_steps() -> None:
    one, two = _venue(7), _venue(7)
    end = T0 + 120_000
    events_one = _run(one, end, 120_000)
    events_two = _run(two, end, 733)
    assert events_one == events_two
    assert info(one, type="l2Book", coin="DEMO") == info(two, type="l2Book", coin="DEMO")
    assert info(one, type="userFills", user=DEMO_TAKER) == info(two, type="userFills", user=DEMO_TAKER)
    assert info(one, type="allMids") == info(two, type="allMids")


def test_different_seeds_diverge_and_the_market_moves() -> None:
    seven, eight = _venue(7), _venue(8)
    seven.advance(T0 + 300_000)
    eight.advance(T0 + 300_000)
    mids_seven = info(seven, type="allMids")["DEMO"]
    assert mids_seven != info(eight, type="allMids")["DEMO"]
    assert mids_seven != "100.0"
    ctx = info(seven, type="metaAndAssetCtxs")[1][DEMO]
    assert ctx["oraclePx"] != "100.0"
    # 300 steps, taker probability 0.2: some taker trades happened, all against the maker.
    taker_fills = info(seven, type="userFills", user=DEMO_TAKER)
    assert 20 < len(taker_fills) < 120
    assert {f["crossed"] for f in taker_fills} == {True}
    assert Decimal(ctx["dayNtlVlm"]) > 0
    book = info(seven, type="l2Book", coin="DEMO")["levels"]
    assert [len(side) for side in book] == [3, 3]
    assert {level["n"] for side in book for level in side} == {1}
    assert len(info(seven, type="openOrders", user=DEMO_MAKER)) == 6


def test_flow_fills_a_resting_user_order() -> None:
    venue = _venue(3)
    alice = Trader(venue, KEY_A)
    # Best ask at start is 100.05; a bid just under it waits for the fair price to drift down.
    assert "resting" in alice.order(DEMO, True, "100.04", "1", now=T0 + 10)
    venue.advance(T0 + 120_000)  # a requote puts the maker's ask at or under 100.04: it takes Alice's bid
    fills = info(venue, type="userFills", user=alice.address)
    assert [(f["px"], f["sz"], f["crossed"], f["dir"]) for f in fills] == [
        ("100.04", "1.0", False, "Open Long")
    ]
