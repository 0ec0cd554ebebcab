"""WS codec: outgoing message shapes (checked against the SDK), typed events, malformed frames counted."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest
from hyperliquid.websocket_manager import (  # type: ignore[import-untyped]
    subscription_to_identifier,
    ws_msg_to_identifier,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.codecs.hyperliquid import ws_messages as ws
from keeper.codecs.hyperliquid.exchange_responses import Resting, decode_order_response
from keeper.codecs.hyperliquid.info_types import L2Book, decode_info
from keeper.codecs.hyperliquid.ws_messages import Malformed, WsDecodeStats, parse_ws_message

D = Decimal
MASTER = "0x5E9EE1089755C3435139848E47E6635505D5A13A"


def test_subscribe_unsubscribe_ping_messages() -> None:
    sub = ws.l2_book_subscription("BTC", n_sig_figs=5, mantissa=2)
    assert json.loads(ws.subscribe_message(sub)) == {
        "method": "subscribe",
        "subscription": {"type": "l2Book", "coin": "BTC", "nSigFigs": 5, "mantissa": 2},
    }
    assert json.loads(ws.unsubscribe_message(sub)) == {"method": "unsubscribe", "subscription": sub}
    assert json.loads(ws.ping_message()) == {"method": "ping"}
    assert isinstance(ws.subscribe_message(sub), str)  # text frame, not binary


def test_subscription_objects_and_sdk_identifiers() -> None:
    master = MASTER.lower()
    cases = [
        (ws.all_mids_subscription(), {"type": "allMids"}, "allMids"),
        (ws.l2_book_subscription("ETH"), {"type": "l2Book", "coin": "ETH"}, "l2Book:eth"),
        (ws.trades_subscription("ETH"), {"type": "trades", "coin": "ETH"}, "trades:eth"),
        (ws.bbo_subscription("ETH"), {"type": "bbo", "coin": "ETH"}, "bbo:eth"),
        (
            ws.active_asset_ctx_subscription("ETH"),
            {"type": "activeAssetCtx", "coin": "ETH"},
            "activeAssetCtx:eth",
        ),
        (ws.order_updates_subscription(MASTER), {"type": "orderUpdates", "user": master}, "orderUpdates"),
        (ws.user_events_subscription(MASTER), {"type": "userEvents", "user": master}, "userEvents"),
        (ws.user_fills_subscription(MASTER), {"type": "userFills", "user": master}, f"userFills:{master}"),
        (
            ws.user_fundings_subscription(MASTER),
            {"type": "userFundings", "user": master},
            f"userFundings:{master}",
        ),
    ]
    for ours, expected, sdk_id in cases:
        assert ours == expected
        assert subscription_to_identifier(ours) == sdk_id
    assert ws.user_fills_subscription(MASTER, aggregate_by_time=True)["aggregateByTime"] is True
    assert ws.all_mids_subscription("xyz") == {"type": "allMids", "dex": "xyz"}
    with pytest.raises(ValueError, match="master"):
        ws.user_events_subscription("0x1234")
    with pytest.raises(ValueError, match="coin"):
        ws.trades_subscription("")


def test_post_message_with_integer_id_and_verbatim_signed_payload() -> None:
    info = json.loads(ws.post_message(7, "info", {"type": "l2Book", "coin": "BTC"}))
    assert info == {
        "method": "post",
        "id": 7,
        "request": {"type": "info", "payload": {"type": "l2Book", "coin": "BTC"}},
    }
    signed = b'{"action":{"type":"noop"},"nonce":1700000000000,"signature":{"r":"0x1","s":"0x2","v":27}}'
    text = ws.post_message(8, "action", msgspec.Raw(signed))
    assert signed.decode() in text  # the exact signed bytes are embedded
    assert json.loads(text)["request"]["type"] == "action"
    for bad_id in (-1, True, 1.0, "1"):
        with pytest.raises(ValueError, match="request_id"):
            ws.post_message(bad_id, "info", {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind"):
        ws.post_message(1, "explorer", {})  # type: ignore[arg-type]


def _parse(raw: bytes | str, stats: WsDecodeStats | None = None) -> ws.WsEvent | None:
    return parse_ws_message(raw, stats if stats is not None else WsDecodeStats())


def test_greeting_ack_pong() -> None:
    stats = WsDecodeStats()
    assert parse_ws_message("Websocket connection established.", stats) is None
    assert parse_ws_message(b"Websocket connection established.\n", stats) is None
    ack = parse_ws_message(
        '{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"trades","coin":"SOL"}}}',
        stats,
    )
    assert isinstance(ack, ws.SubscriptionAck)
    assert (ack.method, ack.subscription) == ("subscribe", {"type": "trades", "coin": "SOL"})
    assert isinstance(parse_ws_message('{"channel":"pong"}', stats), ws.Pong)
    assert (stats.ignored, stats.events, stats.malformed, stats.unknown_channel) == (2, 2, 0, 0)


def test_post_replies_feed_the_info_and_exchange_decoders() -> None:
    info = _parse(
        b'{"channel":"post","data":{"id":7,"response":{"type":"info","payload":'
        b'{"coin":"BTC","time":1,"levels":[[{"px":"1","sz":"2","n":1}],[]]}}}}'
    )
    assert isinstance(info, ws.PostResponse)
    assert (info.id, info.type) == (7, "info")
    book = decode_info("l2Book", bytes(info.payload))
    assert book is not None
    assert book.levels[0][0].sz == D("2")
    action = _parse(
        b'{"channel":"post","data":{"id":8,"response":{"type":"action","payload":'
        b'{"status":"ok","response":{"type":"order","data":{"statuses":[{"resting":{"oid":88}}]}}}}}}'
    )
    assert isinstance(action, ws.PostResponse)
    assert action.id == 8
    assert decode_order_response(action.payload, 1) == (Resting(88),)
    error = _parse(
        b'{"channel":"post","data":{"id":9,"response":{"type":"error","payload":"Too many inflight"}}}'
    )
    assert isinstance(error, ws.PostResponse)
    assert error.type == "error"
    assert msgspec.json.decode(error.payload) == "Too many inflight"


def test_market_data_channels() -> None:
    book = _parse(
        b'{"channel":"l2Book","data":{"coin":"ETH","time":1700000000000,"levels":'
        b'[[{"px":"3071.9","sz":"12.5","n":4}],[{"px":"3072.0","sz":"0.3","n":1}]]}}'
    )
    assert isinstance(book, L2Book)
    assert book.levels[1][0].px == D("3072.0")
    trades = _parse(
        b'{"channel":"trades","data":[{"coin":"ETH","side":"B","px":"3072.0","sz":"0.1","hash":"0xabc",'
        b'"time":1700000000001,"tid":901,"users":["0x1111111111111111111111111111111111111111",'
        b'"0x2222222222222222222222222222222222222222"]}]}'
    )
    assert isinstance(trades, ws.Trades)
    assert trades.trades[0].tid == 901
    assert trades.trades[0].users is not None
    assert trades.trades[0].users[0].startswith("0x1111")
    bbo = _parse(
        b'{"channel":"bbo","data":{"coin":"ETH","time":5,"bbo":[{"px":"3071.9","sz":"1","n":2},null]}}'
    )
    assert isinstance(bbo, ws.Bbo)
    assert bbo.bbo[1] is None
    assert bbo.bbo[0] is not None
    assert bbo.bbo[0].px == D("3071.9")
    mids = _parse(b'{"channel":"allMids","data":{"mids":{"BTC":"30135.0","@107":"0.00046"}}}')
    assert isinstance(mids, ws.AllMids)
    assert mids.mids["@107"] == D("0.00046")
    ctx = _parse(
        b'{"channel":"activeAssetCtx","data":{"coin":"ETH","ctx":{"funding":"0.0000125","openInterest":"1",'
        b'"prevDayPx":"3000","dayNtlVlm":"5","premium":"0.0001","oraclePx":"3071.0","markPx":"3071.9",'
        b'"midPx":"3072.0","impactPxs":["3071.9","3072.1"],"dayBaseVlm":"2"}}}'
    )
    assert isinstance(ctx, ws.ActiveAssetCtx)
    assert ctx.ctx.oracle_px == D("3071.0")
    spot = _parse(
        b'{"channel":"activeSpotAssetCtx","data":{"coin":"@107","ctx":{"dayNtlVlm":"1","markPx":"0.5",'
        b'"midPx":null,"prevDayPx":"0.4","circulatingSupply":"100","coin":"@107"}}}'
    )
    assert isinstance(spot, ws.ActiveSpotAssetCtx)
    assert spot.ctx.mid_px is None


def test_order_updates() -> None:
    event = _parse(
        b'{"channel":"orderUpdates","data":[{"order":{"coin":"ETH","side":"B","limitPx":"3000.0","sz":"0.0",'
        b'"oid":42,"timestamp":1700000000000,"origSz":"0.5","cloid":"0x00000000000000000000000000000007"},'
        b'"status":"filled","statusTimestamp":1700000000500},{"order":{"coin":"ETH","side":"A","limitPx":"3100",'
        b'"sz":"0.5","oid":43,"timestamp":1700000000000,"origSz":"0.5"},"status":"badAloPxRejected",'
        b'"statusTimestamp":1700000000600}]}'
    )
    assert isinstance(event, ws.OrderUpdates)
    filled, rejected = event.updates
    assert (filled.status, filled.order.oid, filled.order.orig_sz) == ("filled", 42, D("0.5"))
    assert filled.order.cloid == "0x00000000000000000000000000000007"
    assert (rejected.status, rejected.order.cloid) == ("badAloPxRejected", None)


FILL = (
    b'{"coin":"ETH","px":"3072.0","sz":"0.1","side":"B","time":1700000000001,"startPosition":"0.0",'
    b'"dir":"Open Long","closedPnl":"0.0","hash":"0xabc","oid":42,"crossed":false,"fee":"-0.0003",'
    b'"tid":901,"feeToken":"USDC"}'
)


def test_user_channel_carries_user_events() -> None:
    # Subscribed as {"type":"userEvents"} but the frames arrive on channel "user".
    sdk_id = ws_msg_to_identifier({"channel": "user", "data": {"fills": []}})
    assert sdk_id == subscription_to_identifier(ws.user_events_subscription(MASTER))
    fills = _parse(b'{"channel":"user","data":{"fills":[' + FILL + b"]}}")
    assert isinstance(fills, ws.UserEvents)
    assert fills.fills[0].fee == D("-0.0003")
    assert not fills.fills[0].crossed
    funding = _parse(
        b'{"channel":"user","data":{"funding":{"time":1700002800000,"coin":"ETH","usdc":"-0.0123","szi":"0.1",'
        b'"fundingRate":"0.0000125","nSamples":720}}}'
    )
    assert isinstance(funding, ws.UserEvents)
    assert funding.funding is not None
    assert funding.funding.usdc == D("-0.0123")
    assert funding.fills == []
    liq = _parse(
        b'{"channel":"user","data":{"liquidation":{"lid":7,"liquidator":"0x1111111111111111111111111111111111111111",'
        b'"liquidated_user":"0x2222222222222222222222222222222222222222","liquidated_ntl_pos":"1000.5",'
        b'"liquidated_account_value":"40.1"}}}'
    )
    assert isinstance(liq, ws.UserEvents)
    assert liq.liquidation is not None
    assert liq.liquidation.liquidated_ntl_pos == D("1000.5")
    cancel = _parse(b'{"channel":"user","data":{"nonUserCancel":[{"coin":"ETH","oid":42}]}}')
    assert isinstance(cancel, ws.UserEvents)
    assert cancel.non_user_cancel[0].oid == 42


def test_user_fills_snapshot_flag_and_user_fundings() -> None:
    snap = _parse(
        b'{"channel":"userFills","data":{"user":"0xabc","isSnapshot":true,"fills":[' + FILL + b"]}}"
    )
    assert isinstance(snap, ws.UserFills)
    assert snap.is_snapshot
    assert len(snap.fills) == 1
    live = _parse(b'{"channel":"userFills","data":{"user":"0xabc","fills":[' + FILL + b"]}}")
    assert isinstance(live, ws.UserFills)
    assert not live.is_snapshot
    fundings = _parse(
        b'{"channel":"userFundings","data":{"user":"0xabc","isSnapshot":true,"fundings":[{"time":1700002800000,'
        b'"coin":"BTC","usdc":"0.5","szi":"-0.01","fundingRate":"0.0001"}]}}'
    )
    assert isinstance(fundings, ws.UserFundings)
    assert fundings.is_snapshot
    assert fundings.fundings[0].n_samples is None
    assert fundings.fundings[0].szi == D("-0.01")


def test_error_channel() -> None:
    err = _parse(b'{"channel":"error","data":"Invalid subscription {\\"type\\":\\"nope\\"}"}')
    assert isinstance(err, ws.WsError)
    assert err.message.startswith("Invalid subscription")
    odd = _parse(b'{"channel":"error","data":{"code":1}}')
    assert isinstance(odd, ws.WsError)
    assert "code" in odd.message


@pytest.mark.parametrize(
    ("raw", "counter"),
    [
        (b"", "malformed"),
        (b"not json", "malformed"),
        ("Ping", "malformed"),
        (b"[1,2]", "malformed"),
        (b'{"data":{}}', "malformed"),  # no channel
        (b'{"channel":5}', "malformed"),
        (b'{"channel":"l2Book"}', "malformed"),  # data missing
        (b'{"channel":"l2Book","data":{"coin":"ETH","time":"soon","levels":[[],[]]}}', "malformed"),
        (
            b'{"channel":"trades","data":[{"coin":"ETH","side":"sell","px":"1","sz":"1","hash":"0x","time":1,"tid":1}]}',
            "malformed",
        ),
        (b'{"channel":"allMids","data":{"mids":{"BTC":"NaN-ish"}}}', "malformed"),
        (b'{"channel":"user","data":{}}', "malformed"),  # none of the user event kinds
        (b'{"channel":"post","data":{"response":{"type":"info","payload":{}}}}', "malformed"),  # no id
        (b'{"channel":"userFills","data":{"isSnapshot":true,"fills":[]}}', "malformed"),  # no user
        (b'{"channel":"candle","data":{"t":1}}', "unknown_channel"),
        (b'{"channel":"webData2","data":{}}', "unknown_channel"),
    ],
)
def test_malformed_and_unknown_frames_are_counted_not_raised(raw: bytes | str, counter: str) -> None:
    stats = WsDecodeStats()
    event = parse_ws_message(raw, stats)
    assert isinstance(event, Malformed)
    assert event.reason
    assert getattr(stats, counter) == 1
    assert stats.events == 0
    assert stats.malformed + stats.unknown_channel == 1


def test_a_stream_with_bad_frames_keeps_decoding_the_good_ones() -> None:
    stats = WsDecodeStats()
    frames: list[bytes | str] = [
        "Websocket connection established.",
        b'{"channel":"pong"}',
        b"garbage",
        b'{"channel":"allMids","data":{"mids":{"BTC":"1"}}}',
        b'{"channel":"notification","data":{"notification":"hi"}}',
        b'{"channel":"allMids","data":{"mids":{"BTC":2.5}}}',  # JSON number also decodes exactly
    ]
    events = [parse_ws_message(f, stats) for f in frames]
    good = [e for e in events if e is not None and not isinstance(e, Malformed)]
    assert len(good) == 3
    assert isinstance(good[-1], ws.AllMids)
    assert good[-1].mids["BTC"] == D("2.5")
    assert (stats.events, stats.malformed, stats.unknown_channel, stats.ignored) == (3, 1, 1, 1)


_KEYS = st.sampled_from(["channel", "data", "coin", "levels", "id", "response", "fills", "mids", "user"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=300, deadline=None)
@given(channel=st.sampled_from([*ws._CHANNELS, "candle", ""]), data=_json, noise=st.binary(max_size=20))
def test_parser_never_raises(channel: str, data: object, noise: bytes) -> None:
    stats = WsDecodeStats()
    frame = msgspec.json.encode({"channel": channel, "data": data})
    for raw in (frame, frame.decode(), noise, frame[: len(frame) // 2]):
        parse_ws_message(raw, stats)
    assert stats.events + stats.malformed + stats.unknown_channel + stats.ignored == 4
