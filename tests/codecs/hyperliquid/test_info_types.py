"""/info codec: worked samples in the venue's JSON shapes (doc §3.1), tolerance, refusals, SDK bodies."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

import pytest
from hyperliquid.info import Info  # type: ignore[import-untyped]
from hyperliquid.utils.types import Cloid  # type: ignore[import-untyped]

from keeper.codecs.hyperliquid import info_types as it
from keeper.codecs.hyperliquid.info_types import InfoDecodeError, InfoRequestError, decode_info

D = Decimal
USER = "0x5E9EE1089755C3435139848E47E6635505D5A13A"
USER_LC = USER.lower()

META = b"""{"universe":[
 {"name":"BTC","szDecimals":5,"maxLeverage":40,"marginTableId":56},
 {"name":"ETH","szDecimals":4,"maxLeverage":25,"marginTableId":55,"brandNewField":[1,2]},
 {"name":"MATIC","szDecimals":1,"maxLeverage":20,"marginTableId":20,"onlyIsolated":true,"isDelisted":true}],
 "marginTables":[[56,{"description":"tiered 40x","marginTiers":[
   {"lowerBound":"0.0","maxLeverage":40},{"lowerBound":"150000000.0","maxLeverage":20}]}]],
 "collateralToken":0,"anotherNewTopLevelField":{"x":1}}"""

CTX_FULL = (
    b'{"funding":"0.0000125","openInterest":"688.11","prevDayPx":"2931.1","dayNtlVlm":"1234567.89",'
    b'"premium":"0.00031774","oraclePx":"3071.0","markPx":"3071.9","midPx":"3072.05",'
    b'"impactPxs":["3071.9","3072.1"],"dayBaseVlm":"402.5"}'
)
CTX_SPARSE = (
    b'{"funding":"-0.0001","openInterest":"0.0","prevDayPx":"0.5","dayNtlVlm":"0.0","premium":null,'
    b'"oraclePx":"0.51","markPx":"0.5","midPx":null,"impactPxs":null,"dayBaseVlm":"0.0"}'
)


def test_meta_decodes_universe_margin_tables_and_ignores_new_fields() -> None:
    meta = decode_info("meta", META)
    assert [a.name for a in meta.universe] == ["BTC", "ETH", "MATIC"]  # asset id = list index
    assert meta.universe[0].sz_decimals == 5
    assert meta.universe[1].max_leverage == 25
    assert meta.universe[2].is_delisted
    assert meta.universe[2].only_isolated
    assert not meta.universe[0].is_delisted
    table_id, table = meta.margin_tables[0]
    assert table_id == 56
    assert [(t.lower_bound, t.max_leverage) for t in table.margin_tiers] == [
        (D("0.0"), 40),
        (D("1.5E+8"), 20),
    ]
    assert meta.collateral_token == 0


def test_meta_and_asset_ctxs_are_parallel_and_nullable_fields_decode() -> None:
    raw = b"[" + META + b",[" + CTX_FULL + b"," + CTX_FULL + b"," + CTX_SPARSE + b"]]"
    both = decode_info("metaAndAssetCtxs", raw)
    assert len(both.asset_ctxs) == len(both.meta.universe) == 3
    eth = both.asset_ctxs[1]
    assert eth.funding == D("0.0000125")
    assert type(eth.mark_px) is Decimal
    assert eth.mark_px == D("3071.9")
    assert eth.impact_pxs == (D("3071.9"), D("3072.1"))
    sparse = both.asset_ctxs[2]
    assert sparse.premium is None
    assert sparse.mid_px is None
    assert sparse.impact_pxs is None
    assert sparse.funding == D("-0.0001")


def test_l2_book_levels_and_unknown_market_null() -> None:
    raw = b"""{"coin":"BTC","time":1700000000123,"levels":[
        [{"px":"30135.0","sz":"1.2","n":3},{"px":"30134.0","sz":"0.5","n":1}],
        [{"px":"30136.0","sz":"0.00011","n":1}]]}"""
    book = decode_info("l2Book", raw)
    assert book is not None
    bids, asks = book.levels
    assert (bids[0].px, bids[0].sz, bids[0].n) == (D("30135.0"), D("1.2"), 3)
    assert bids[0].px > bids[1].px
    assert asks[0].sz == D("0.00011")
    assert book.time == 1700000000123
    assert decode_info("l2Book", b"null") is None


def test_clearinghouse_state_cross_and_isolated_positions() -> None:
    raw = b"""{"assetPositions":[
      {"type":"oneWay","position":{"coin":"ETH","szi":"-0.0138","entryPx":"2986.3","leverage":{"type":"cross","value":20},
       "liquidationPx":null,"marginUsed":"2.0615","positionValue":"41.23","returnOnEquity":"-0.0265",
       "unrealizedPnl":"-0.0546","maxLeverage":50,"cumFunding":{"allTime":"-0.003","sinceOpen":"0.001","sinceChange":"0.0"}}},
      {"type":"oneWay","position":{"coin":"BTC","szi":"0.001","entryPx":"30000.0",
       "leverage":{"type":"isolated","value":10,"rawUsd":"-27.0"},"liquidationPx":"27300.5","marginUsed":"3.0",
       "positionValue":"30.0","returnOnEquity":"0.0","unrealizedPnl":"0.0","maxLeverage":40}}],
     "marginSummary":{"accountValue":"13104.5","totalNtlPos":"71.23","totalRawUsd":"13061.8","totalMarginUsed":"5.06"},
     "crossMarginSummary":{"accountValue":"13104.5","totalNtlPos":"41.23","totalRawUsd":"13061.8","totalMarginUsed":"2.06"},
     "crossMaintenanceMarginUsed":"0.6","withdrawable":"13099.4","time":1708622398623}"""
    state = decode_info("clearinghouseState", raw)
    eth, btc = (p.position for p in state.asset_positions)
    assert eth.szi == D("-0.0138")
    assert eth.liquidation_px is None
    assert eth.leverage.type == "cross"
    assert eth.leverage.raw_usd is None
    assert eth.cum_funding is not None
    assert eth.cum_funding.all_time == D("-0.003")
    assert btc.leverage.raw_usd == D("-27.0")
    assert btc.liquidation_px == D("27300.5")
    assert btc.cum_funding is None
    assert state.margin_summary.account_value == D("13104.5")
    assert state.cross_margin_summary.total_ntl_pos == D("41.23")
    assert state.withdrawable == D("13099.4")
    assert state.time == 1708622398623


def test_open_orders_old_and_new_shapes() -> None:
    raw = b"""[{"coin":"ETH","side":"A","limitPx":"2412.7","sz":"0.0","oid":1,"timestamp":1724361546645},
      {"coin":"BTC","side":"B","limitPx":"60000","sz":"0.01","oid":123456789012,"timestamp":1724361546645,
       "origSz":"0.02","cloid":"0x00000000000000000000000000000007","reduceOnly":true}]"""
    old, new = decode_info("openOrders", raw)
    assert (old.side, old.orig_sz, old.cloid, old.reduce_only) == ("A", None, None, False)
    assert (new.side, new.limit_px, new.sz, new.orig_sz) == ("B", D("60000"), D("0.01"), D("0.02"))
    assert new.oid == 123456789012
    assert new.reduce_only
    assert new.cloid == "0x00000000000000000000000000000007"


def test_frontend_open_orders_with_trigger_children() -> None:
    raw = b"""[{"coin":"ETH","side":"B","limitPx":"2000.0","sz":"0.1","oid":9,"timestamp":1,"origSz":"0.1",
      "isTrigger":false,"triggerPx":"0.0","triggerCondition":"N/A","isPositionTpsl":false,"reduceOnly":false,
      "orderType":"Limit","tif":"Gtc","cloid":null,"children":[
        {"coin":"ETH","side":"A","limitPx":"1900.0","sz":"0.1","oid":10,"timestamp":1,"origSz":"0.1","isTrigger":true,
         "triggerPx":"1910.0","triggerCondition":"Price below 1910","isPositionTpsl":false,"reduceOnly":true,
         "orderType":"Stop Market","tif":null,"cloid":null,"children":[]}]}]"""
    (parent,) = decode_info("frontendOpenOrders", raw)
    assert parent.order_type == "Limit"
    assert parent.tif == "Gtc"
    assert not parent.is_trigger
    (child,) = parent.children
    assert child.is_trigger
    assert child.trigger_px == D("1910.0")
    assert child.tif is None
    assert child.order_type == "Stop Market"
    assert child.reduce_only


FILLS = b"""[{"coin":"AVAX","px":"18.435","sz":"93.53","side":"B","time":1681222254710,
  "startPosition":"26.86","dir":"Open Long","closedPnl":"0.0",
  "hash":"0x2d7f6b9fd0d5dd4a6f0a04b1e4d5e2f8a0a1b0c2d3e4f5a6b7c8d9e0f1a2b3c4","oid":2468,"crossed":true,
  "fee":"0.01","feeToken":"USDC","tid":118906512037719,"builderFee":"0.005",
  "liquidation":{"liquidatedUser":"0x1111111111111111111111111111111111111111","markPx":"18.4",
   "method":"market"}},
 {"coin":"@107","px":"0.00046","sz":"10000","side":"A","time":1681222254711,"startPosition":"0","dir":"Sell",
  "closedPnl":"-0.1","hash":"0x00","oid":2469,"crossed":false,"fee":"-0.0001","feeToken":"HYPE","tid":7,
  "cloid":"0x000000000000000000000000000000ff","twapId":null}]"""


@pytest.mark.parametrize("type_name", ["userFills", "userFillsByTime"])
def test_user_fills(type_name: Literal["userFills", "userFillsByTime"]) -> None:
    taker, maker = decode_info(type_name, FILLS)
    assert taker.crossed
    assert not maker.crossed
    assert (taker.px, taker.sz, taker.fee, taker.builder_fee) == (
        D("18.435"),
        D("93.53"),
        D("0.01"),
        D("0.005"),
    )
    assert taker.liquidation is not None
    assert taker.liquidation.method == "market"
    assert taker.liquidation.mark_px == D("18.4")
    assert maker.fee == D("-0.0001")
    assert maker.fee_token == "HYPE"
    assert maker.closed_pnl == D("-0.1")
    assert maker.liquidation is None
    assert maker.twap_id is None
    assert maker.builder_fee is None
    assert taker.tid == 118906512037719


def test_funding_history_user_funding_predicted_fundings() -> None:
    history = decode_info(
        "fundingHistory",
        b'[{"coin":"ETH","fundingRate":"-0.00022196","premium":"-0.00052196","time":1683849600076}]',
    )
    assert history[0].funding_rate == D("-0.00022196")
    assert history[0].time % 3_600_000 == 76
    funding = decode_info(
        "userFunding",
        b'[{"time":1681948800000,"hash":"0x0000000000000000000000000000000000000000000000000000000000000000",'
        b'"delta":{"type":"funding","coin":"ETH","usdc":"-0.00349","szi":"0.0138","fundingRate":"0.0000125",'
        b'"nSamples":3}}]',
    )
    assert funding[0].delta.usdc == D("-0.00349")
    assert funding[0].delta.n_samples == 3
    assert funding[0].time % 3_600_000 == 0
    predicted = decode_info(
        "predictedFundings",
        b'[["AVAX",[["BinPerp",{"fundingRate":"0.0001","nextFundingTime":1733961600000}],'
        b'["HlPerp",{"fundingRate":"0.0000125","nextFundingTime":1733958000000,"fundingIntervalHours":1}],'
        b'["BybitPerp",null]]]]',
    )
    (avax,) = predicted
    assert avax.coin == "AVAX"
    venues = {v.venue: v.prediction for v in avax.venues}
    hl = venues["HlPerp"]
    assert hl is not None
    assert hl.funding_rate == D("0.0000125")
    assert hl.funding_interval_hours == 1
    assert venues["BybitPerp"] is None


def test_order_status_found_and_unknown() -> None:
    found = decode_info(
        "orderStatus",
        b'{"status":"order","order":{"order":{"coin":"ETH","side":"A","limitPx":"2412.7","sz":"0.0","oid":1,'
        b'"timestamp":1724361546645,"origSz":"0.0076","cloid":null,"isTrigger":false,"triggerPx":"0.0",'
        b'"orderType":"Market","tif":"FrontendMarket","children":[],"reduceOnly":false,"isPositionTpsl":false,'
        b'"triggerCondition":"N/A"},"status":"filled","statusTimestamp":1724361546645}}',
    )
    assert found.order is not None
    assert (found.order.status, found.order.order.oid, found.order.order.orig_sz) == (
        "filled",
        1,
        D("0.0076"),
    )
    unknown = decode_info("orderStatus", b'{"status":"unknownOid"}')
    assert unknown.status == "unknownOid"
    assert unknown.order is None


def test_user_rate_limit_and_all_mids() -> None:
    limit = decode_info(
        "userRateLimit", b'{"cumVlm":"2854574.593578","nRequestsUsed":2890,"nRequestsCap":2864574}'
    )
    assert limit.cum_vlm == D("2854574.593578")
    assert limit.n_requests_used == 2890
    assert limit.n_requests_cap == int(limit.cum_vlm) + 10_000  # cassette: cap = cumVlm + 10000
    mids = decode_info("allMids", b'{"BTC":"30135.0","@107":"0.00046","PURR/USDC":"0.1"}')
    assert mids == {"BTC": D("30135.0"), "@107": D("0.00046"), "PURR/USDC": D("0.1")}


def test_every_listed_type_has_a_decoder() -> None:
    assert {
        "meta", "metaAndAssetCtxs", "l2Book", "clearinghouseState", "openOrders", "frontendOpenOrders",
        "userFills", "userFillsByTime", "fundingHistory", "userFunding", "predictedFundings",
        "orderStatus", "userRateLimit", "allMids",
    } == it.INFO_TYPES  # fmt: skip


@pytest.mark.parametrize(
    ("type_name", "raw"),
    [
        ("spotMeta", b"{}"),  # not supported here
        ("meta", b"{not json"),
        ("meta", b'{"universe":[{"name":"BTC","maxLeverage":40}]}'),  # szDecimals missing
        ("meta", b'{"universe":[{"name":"BTC","szDecimals":"5","maxLeverage":40}]}'),  # int as string
        ("l2Book", b'{"coin":"BTC","time":1,"levels":[[{"px":"abc","sz":"1","n":1}],[]]}'),  # bad decimal
        ("allMids", b'["BTC"]'),
        ("openOrders", b'[{"coin":"ETH","side":"X","limitPx":"1","sz":"1","oid":1,"timestamp":1}]'),
        ("userRateLimit", b""),
    ],
)
def test_bad_bodies_raise_info_decode_error(type_name: str, raw: bytes) -> None:
    with pytest.raises(InfoDecodeError):
        decode_info(type_name, raw)


def test_request_bodies_have_venue_field_names_and_omit_absent_optionals() -> None:
    assert it.meta_request() == {"type": "meta"}
    assert it.meta_request("xyz") == {"type": "meta", "dex": "xyz"}
    assert it.meta_and_asset_ctxs_request() == {"type": "metaAndAssetCtxs"}
    assert it.all_mids_request() == {"type": "allMids"}
    assert it.l2_book_request("BTC") == {"type": "l2Book", "coin": "BTC"}
    assert it.l2_book_request("BTC", 5, 2) == {"type": "l2Book", "coin": "BTC", "nSigFigs": 5, "mantissa": 2}
    assert it.clearinghouse_state_request(USER) == {"type": "clearinghouseState", "user": USER_LC}
    assert it.open_orders_request(USER) == {"type": "openOrders", "user": USER_LC}
    assert it.frontend_open_orders_request(USER) == {"type": "frontendOpenOrders", "user": USER_LC}
    assert it.user_fills_request(USER, True) == {
        "type": "userFills",
        "user": USER_LC,
        "aggregateByTime": True,
    }
    assert it.user_fills_by_time_request(USER, 1000) == {
        "type": "userFillsByTime",
        "user": USER_LC,
        "startTime": 1000,
    }
    assert it.user_funding_request(USER, 5, 9) == {
        "type": "userFunding",
        "user": USER_LC,
        "startTime": 5,
        "endTime": 9,
    }
    assert it.funding_history_request("ETH", 5) == {"type": "fundingHistory", "coin": "ETH", "startTime": 5}
    assert it.predicted_fundings_request() == {"type": "predictedFundings"}
    assert it.order_status_request(USER, 77) == {"type": "orderStatus", "user": USER_LC, "oid": 77}
    cloid = "0x000000000000000000000000000000AB"
    assert it.order_status_request(USER, cloid)["oid"] == cloid.lower()
    assert it.user_rate_limit_request(USER) == {"type": "userRateLimit", "user": USER_LC}


@pytest.mark.parametrize(
    "build",
    [
        lambda: it.clearinghouse_state_request("0x1234"),
        lambda: it.open_orders_request("not an address at all, forty chars long!!"),
        lambda: it.funding_history_request("", 0),
        lambda: it.funding_history_request("ETH", -1),
        lambda: it.funding_history_request("ETH", 10, 9),  # end before start
        lambda: it.user_funding_request(USER, True),  # bool is not a time
        lambda: it.user_fills_by_time_request(USER, 1.5),  # type: ignore[arg-type]  # float ms
        lambda: it.order_status_request(USER, "0x1234"),
        lambda: it.order_status_request(USER, -1),
        lambda: it.l2_book_request("BTC", 6),
        lambda: it.l2_book_request("BTC", 4, 2),  # mantissa needs nSigFigs 5
    ],
)
def test_request_builders_refuse_bad_arguments(build: Any) -> None:
    with pytest.raises(InfoRequestError):
        build()


def _sdk_info() -> tuple[Info, list[dict[str, Any]]]:
    # meta/spot_meta given and no perp_dexs: the SDK constructor makes no network call.
    meta = {"universe": [{"name": "BTC", "szDecimals": 5}]}
    info = Info("http://127.0.0.1:9", skip_ws=True, meta=meta, spot_meta={"universe": [], "tokens": []})
    sent: list[dict[str, Any]] = []

    def capture(_path: str, payload: dict[str, Any]) -> None:
        sent.append(payload)

    info.post = capture
    return info, sent


def test_request_bodies_match_the_official_sdk() -> None:
    info, sent = _sdk_info()
    cloid = "0x000000000000000000000000000000ab"
    u = USER_LC
    calls: list[tuple[Callable[[], object], it.InfoRequest]] = [
        (lambda: info.funding_history("BTC", 100, 200), it.funding_history_request("BTC", 100, 200)),
        (lambda: info.funding_history("BTC", 100), it.funding_history_request("BTC", 100)),
        (lambda: info.user_funding_history(u, 100, 200), it.user_funding_request(u, 100, 200)),
        (
            lambda: info.user_fills_by_time(u, 100, 200, True),
            it.user_fills_by_time_request(u, 100, 200, True),
        ),
        (lambda: info.query_order_by_oid(u, 42), it.order_status_request(u, 42)),
        (lambda: info.query_order_by_cloid(u, Cloid(cloid)), it.order_status_request(u, cloid)),
        (lambda: info.user_rate_limit(u), it.user_rate_limit_request(u)),
        (lambda: info.l2_snapshot("BTC"), it.l2_book_request("BTC")),
        (lambda: info.open_orders(u, "dx"), it.open_orders_request(u, "dx")),
        (lambda: info.frontend_open_orders(u, "dx"), it.frontend_open_orders_request(u, "dx")),
        (lambda: info.user_state(u, "dx"), it.clearinghouse_state_request(u, "dx")),
        (lambda: info.user_fills(u), it.user_fills_request(u)),
        (info.meta_and_asset_ctxs, it.meta_and_asset_ctxs_request()),
        (lambda: info.all_mids("dx"), it.all_mids_request("dx")),
    ]
    for call, ours in calls:
        sent.clear()
        call()
        (theirs,) = sent
        assert {k: v for k, v in theirs.items() if v is not None} == ours
