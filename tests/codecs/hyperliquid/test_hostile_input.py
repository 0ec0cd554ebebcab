"""Hostile input at the codec edge: nesting too deep to decode, NaN / absurd numbers in fills, funding
and reconciliation replies. Every case ends in the documented outcome (Malformed, InfoDecodeError,
Unknown, a counter), never in another exception."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from keeper.codecs.hyperliquid import (
    CloidMap,
    InfoDecodeError,
    Malformed,
    Unknown,
    VenueEventMapper,
    WsDecodeStats,
    account_reports,
    classify_http,
    decode_info,
    markets_from_meta,
    open_order_reports,
    order_status_report,
    parse_ws_message,
)
from keeper.core import venue as core
from tests.codecs.hyperliquid.test_venue_mapping import PREFIX, USER, frame, wire_fill, wire_order

D = Decimal
DEEP = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000


@pytest.mark.parametrize(
    "raw",
    [
        DEEP,
        DEEP_OBJECT,
        b'{"channel":"bbo","data":' + DEEP + b"}",
        b'{"channel":"noSuchChannel","data":' + DEEP + b"}",
        b'{"channel":"bbo","data":{"coin":"ETH","time":1,"bbo":[null,null],"extra":' + DEEP + b"}}",
        b'{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"a":'
        + DEEP
        + b"}}}",
        b'{"channel":"error","data":' + DEEP + b"}",
        b'{"channel":"post","data":{"id":1,"response":{"type":"info","payload":' + DEEP + b"}}}",
    ],
)
def test_nesting_too_deep_to_decode_is_a_malformed_frame(raw: bytes) -> None:
    stats = WsDecodeStats()
    event = parse_ws_message(raw, stats)
    assert isinstance(event, Malformed)
    assert stats.malformed == 1


@pytest.mark.parametrize("info_type", ["clearinghouseState", "frontendOpenOrders", "orderStatus", "allMids"])
def test_nesting_too_deep_in_an_info_reply_is_an_info_decode_error(info_type: str) -> None:
    for raw in (DEEP, b'{"unknownField":' + DEEP + b"}"):
        with pytest.raises(InfoDecodeError):
            decode_info(info_type, raw)


@pytest.mark.parametrize(
    "body",
    [
        b'{"status":"ok","response":' + DEEP + b"}",
        b'{"status":"ok","response":{"type":"order","data":{"statuses":[' + DEEP + b"]}}}",
        b'{"status":"err","response":' + DEEP + b"}",
        b'{"status":"ok","extra":' + DEEP_OBJECT + b"}",
    ],
)
def test_nesting_too_deep_in_an_exchange_reply_is_unknown(body: bytes) -> None:
    for kind in ("order", "cancel", "default"):
        [outcome] = classify_http(kind, 200, body, 1).outcomes  # type: ignore[call-overload]
        assert isinstance(outcome, Unknown)


@pytest.mark.parametrize(
    "field",
    [{"px": "NaN"}, {"sz": "Infinity"}, {"fee": "-sNaN"}, {"px": "1e300"}, {"sz": "1e999999999"}],
)
def test_a_fill_with_a_nan_or_absurd_number_is_counted_and_skipped(field: dict[str, str]) -> None:
    mapper = VenueEventMapper(CloidMap(PREFIX), ["ETH"])
    event = frame("userFills", {"user": USER, "fills": [wire_fill(1, 7, **field), wire_fill(2, 7)]})
    [good] = mapper.map(event, 0)
    assert isinstance(good, core.OrderFilled)
    assert good.trade_id == "2:7"
    assert mapper.stats.bad_numbers == 1


def test_a_funding_payment_with_a_nan_is_counted_and_skipped() -> None:
    mapper = VenueEventMapper(CloidMap(PREFIX), ["ETH"])
    funding = {"time": 1, "coin": "ETH", "usdc": "NaN", "szi": "1", "fundingRate": "0.0001"}
    assert mapper.map(frame("user", {"funding": funding}), 0) == []
    assert mapper.stats.bad_numbers == 1


def test_a_1000_eth_fill_of_an_unknown_oid_passes_the_codec() -> None:
    """Plausibility of fills is the ledger's call: the codec passes a big fill of a foreign order on."""
    mapper = VenueEventMapper(CloidMap(PREFIX), ["ETH"])
    [fill] = mapper.map(frame("user", {"fills": [wire_fill(9, 123_456_789, sz="1000")]}), 0)
    assert isinstance(fill, core.OrderFilled)
    assert (fill.client_id, fill.venue_order_id, fill.size) == (None, "123456789", D(1000))


def clearinghouse(szi: str = "-2.0", value: str = "4000.0", account_value: str = "100000") -> bytes:
    summary = {"accountValue": account_value, "totalNtlPos": "0", "totalRawUsd": "0", "totalMarginUsed": "0"}
    position = {
        "coin": "ETH",
        "szi": szi,
        "leverage": {"type": "cross", "value": 20},
        "entryPx": "1990.0",
        "positionValue": value,
        "unrealizedPnl": "0",
        "returnOnEquity": "0",
        "marginUsed": "0",
    }
    body: dict[str, Any] = {
        "assetPositions": [{"type": "oneWay", "position": position}],
        "marginSummary": summary,
        "crossMarginSummary": summary,
        "withdrawable": "0",
        "time": 1,
    }
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "state",
    [
        clearinghouse(szi="NaN"),
        clearinghouse(szi="sNaN"),
        clearinghouse(szi="1e-999999"),  # position value / |szi| would overflow
        clearinghouse(value="Infinity"),
        clearinghouse(account_value="1e300"),
    ],
)
def test_a_clearinghouse_state_with_a_bad_number_is_an_info_decode_error(state: bytes) -> None:
    with pytest.raises(InfoDecodeError, match="not finite"):
        account_reports(decode_info("clearinghouseState", state))


def test_an_open_order_or_order_status_with_a_bad_number_is_an_info_decode_error() -> None:
    cloids = CloidMap(PREFIX)
    for bad in ({"sz": "NaN"}, {"limitPx": "-Infinity"}, {"origSz": "sNaN"}, {"limitPx": "1e20"}):
        order = {**wire_order(5), **bad}
        rows = decode_info("frontendOpenOrders", json.dumps([order]))
        with pytest.raises(InfoDecodeError):
            open_order_reports(rows, cloids, {"ETH"})
        reply = {"status": "order", "order": {"order": order, "status": "open", "statusTimestamp": 1}}
        with pytest.raises(InfoDecodeError):
            order_status_report(decode_info("orderStatus", json.dumps(reply)), cloids, final=False)


@pytest.mark.parametrize(
    ("total", "avg"), [("NaN", "2000"), ("1", "Infinity"), ("1e999999", "2000"), ("1", "-sNaN")]
)
def test_a_filled_status_with_a_bad_number_is_unknown_not_filled(total: str, avg: str) -> None:
    status = {"filled": {"totalSz": total, "avgPx": avg, "oid": 7}}
    body = {"status": "ok", "response": {"type": "order", "data": {"statuses": [status]}}}
    [outcome] = classify_http("order", 200, json.dumps(body), 1).outcomes
    assert isinstance(outcome, Unknown)


@pytest.mark.parametrize("sz_decimals", [-1, 7, 10**40])
def test_a_market_with_an_absurd_sz_decimals_is_refused(sz_decimals: int) -> None:
    meta = decode_info(
        "meta", json.dumps({"universe": [{"name": "ETH", "szDecimals": sz_decimals, "maxLeverage": 25}]})
    )
    with pytest.raises(ValueError, match="szDecimals"):
        markets_from_meta(meta, ["ETH"])
