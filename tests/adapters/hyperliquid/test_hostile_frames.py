"""Fuzzing: hostile WS frames and REST replies through the real decode -> map -> guard -> queue path.

WS: >= 10,000 frames through ``HyperliquidWsClient.handle_frame`` (the reader's per-frame step) into
``VenueEventStream``: random JSON shapes, valid frames with hostile values (NaN / Infinity / sNaN as
strings and bare tokens, 1e300, huge integers, 10,000-deep nesting, 100 kB strings, wrong types,
missing fields), unknown channels, binary garbage. Nothing may escape; every frame is counted once
in the codec's stats; nothing insane reaches the queue or the price step.

REST: >= 10,000 replies through the ``/info`` decoders and mappings of snapshot / order_status /
open_orders / connect, and the ``/exchange`` response classifier: only the codec's documented error
(``HyperliquidCodecError``) may come out.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import zlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeper.adapters.hyperliquid import HyperliquidWsClient
from keeper.adapters.hyperliquid._venue_streams import VenueEventStream
from keeper.codecs.hyperliquid import (
    CloidMap,
    HyperliquidCodecError,
    VenueEventMapper,
    account_reports,
    cancel_outcome,
    classify_http,
    decode_info,
    fill_event,
    markets_from_meta,
    open_order_reports,
    order_status_report,
    submit_outcome,
)
from keeper.codecs.hyperliquid.venue_events import sane_fill
from keeper.core.md_guard import MarketDataGuard, sane_number
from keeper.core.venue import BookTop, MarketContext, OrderFilled
from tests.adapters.hyperliquid.conftest import T0

D = Decimal
PREFIX = "feedfacecafebeef"
USER = "0x" + "ab" * 20
DRAWS_PER_EXAMPLE = 10
EXAMPLES = 100  # x 10 drawn x 10 variants = 10,000 frames (and as many REST replies)

# Bare JSON tokens msgspec cannot produce from Python values: spliced in after encoding.
_SPLICES = {
    "\x00DEEP": b"[" * 10_000 + b"]" * 10_000,
    "\x00DEEPOBJ": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "\x00NaN": b"NaN",
    "\x00Inf": b"-Infinity",
    "\x00BIGEXP": b"1e999999",
    "\x00BIGINT": b"1" + b"0" * 5_000,
}
HOSTILE: list[object] = [
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1e300",
    "-1e300",
    "1e999999999",
    "1e-999999",
    "0",
    "-0",
    "-1",
    "-2000",
    "9" * 400,
    "",
    "x" * 100_000,
    "1_000",
    " 2000 ",
    1e300,
    -1.0,
    0,
    0.5,
    2**63,
    -(2**63) - 1,
    2**64,
    10**40,
    True,
    False,
    None,
    [],
    {},
    [[[]]],
    {"px": "1"},
    *_SPLICES,
]
PLAUSIBLE = ["1999", "2001", "2000.5", "1500", "2400", "25000", "0.00000001", "1", "3"]
leaf = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(PLAUSIBLE))

LEVEL = {"px": "1999", "sz": "1.5", "n": 1}
ASK = {"px": "2001", "sz": "2", "n": 2}
ORDER = {
    "coin": "ETH",
    "side": "B",
    "limitPx": "1999",
    "sz": "1",
    "oid": 7,
    "timestamp": T0,
    "origSz": "1",
    "cloid": "0x" + PREFIX + "0" * 16,
}
FILL = {
    "coin": "ETH",
    "px": "2000",
    "sz": "0.5",
    "side": "A",
    "time": T0,
    "oid": 7,
    "tid": 1,
    "hash": "0x" + "00" * 32,
    "crossed": False,
    "fee": "0.1",
    "cloid": "0x" + PREFIX + "0" * 16,
}
CTX = {
    "funding": "0.0000125",
    "openInterest": "10",
    "prevDayPx": "2000",
    "dayNtlVlm": "0",
    "oraclePx": "2000",
    "markPx": "2000.5",
    "midPx": "2000",
    "impactPxs": ["1999", "2001"],
}
FUNDING = {"time": T0, "coin": "ETH", "usdc": "-1.5", "szi": "2", "fundingRate": "0.0001"}
WS_TEMPLATES: dict[str, object] = {
    "bbo": {"coin": "ETH", "time": T0, "bbo": [LEVEL, ASK]},
    "l2Book": {"coin": "ETH", "time": T0, "levels": [[LEVEL], [ASK]]},
    "activeAssetCtx": {"coin": "ETH", "ctx": CTX},
    "activeSpotAssetCtx": {"coin": "ETH", "ctx": {"markPx": "1", "prevDayPx": "1", "dayNtlVlm": "1"}},
    "orderUpdates": [{"order": ORDER, "status": "open", "statusTimestamp": T0}],
    "user": {"fills": [FILL], "funding": FUNDING, "nonUserCancel": [{"coin": "ETH", "oid": 7}]},
    "userFills": {"user": USER, "fills": [FILL], "isSnapshot": False},
    "userFundings": {"user": USER, "fundings": [FUNDING]},
    "trades": [{"coin": "ETH", "side": "B", "px": "2000", "sz": "1", "time": T0, "hash": "0x", "tid": 1}],
    "allMids": {"mids": {"ETH": "2000"}},
    "subscriptionResponse": {"method": "subscribe", "subscription": {"type": "bbo", "coin": "ETH"}},
    "post": {"id": 1, "response": {"type": "info", "payload": {"a": 1}}},
    "pong": None,
    "error": "Invalid subscription",
}


def _roll(options: tuple[int, object, object]) -> object:
    """Weighted choice made from drawn values (hypothesis does not weight ``one_of`` branches)."""
    roll, kept, changed = options
    return kept if roll < 95 else changed


def _reshape_dict(options: tuple[int, dict[str, object], int, object]) -> object:
    roll, parts, index, value = options
    if roll < 94:
        return parts
    if roll < 96:
        return {key: v for i, (key, v) in enumerate(parts.items()) if i != index % max(len(parts), 1)}
    if roll < 98:
        return {**parts, "unknownField": value}
    return value


def _reshape_list(options: tuple[int, list[object], int, object]) -> object:
    roll, items, count, value = options
    if roll < 94:
        return items
    if roll < 98:
        return (items * 4)[: count % 5]  # shortened, emptied or repeated
    return value


def mutated(template: object) -> st.SearchStrategy[object]:
    """The template with a leaf hostile now and then, a key missing or added, a list shortened or
    repeated, a whole part replaced: a node in twenty changes, so that most frames stay decodable
    and carry their hostile value on to the guard. Each subtree is drawn once (no exponential draws)."""
    rolls = st.integers(0, 99)
    if isinstance(template, dict):
        parts = st.fixed_dictionaries({key: mutated(value) for key, value in template.items()})
        return st.tuples(rolls, parts, st.integers(0, 7), leaf).map(_reshape_dict)
    if isinstance(template, list):
        items = st.tuples(*(mutated(item) for item in template)).map(list)
        return st.tuples(rolls, items, st.integers(0, 7), leaf).map(_reshape_list)
    return st.tuples(rolls, st.just(template), leaf).map(_roll)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


# Hostile tokens swapped for one value of a drawn frame: cheap variants (hypothesis draws are the slow
# part, so each drawn frame is fed ten ways). Numbers-as-strings get hostile numbers-as-strings, so the
# frame still decodes and the value reaches the guard; any value may get any token.
_VALUE = re.compile(rb'(?<=:)(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)')
_DECIMAL_STRING = re.compile(rb'(?<=:)"-?\d+(?:\.\d+)?"')
_HOSTILE_DECIMALS = [
    b'"NaN"',
    b'"-NaN"',
    b'"sNaN"',
    b'"Infinity"',
    b'"-Infinity"',
    b'"1e300"',
    b'"-1e300"',
    b'"0"',
    b'"-1"',
    b'"-2000"',
    b'"1e-999999"',
    b'"1e999999999"',
    b'"2500"',
    b'"1500"',
    b'"20000"',
    b'"2000.5"',
]
_HOSTILE_TOKENS = [
    *_HOSTILE_DECIMALS,
    b"NaN",
    b"Infinity",
    b"1e999999",
    b"-1",
    b"0",
    b"null",
    b"[]",
    b"{}",
    b"true",
    b"1" + b"0" * 5_000,
    b"[" * 10_000 + b"]" * 10_000,
    b'"' + b"x" * 100_000 + b'"',
    rb'"\u0000"',
]


def _swap(raw: bytes, salt: int, where: re.Pattern[bytes], hostile: list[bytes]) -> bytes:
    found = list(where.finditer(raw))
    if not found:
        return raw + bytes([salt])
    pick = zlib.crc32(raw + bytes([salt]))
    token = found[pick % len(found)]
    return raw[: token.start()] + hostile[pick // len(found) % len(hostile)] + raw[token.end() :]


def variants(raw: bytes) -> list[str | bytes]:
    """A drawn frame as a text frame, as a binary frame cut short, and with one value swapped eight
    ways (four decimal strings for hostile decimal strings, four values for any hostile token)."""
    return [
        raw.decode("utf-8", "replace"),
        raw[: len(raw) * 2 // 3],
        *(_swap(raw, salt, _DECIMAL_STRING, _HOSTILE_DECIMALS) for salt in range(4)),
        *(_swap(raw, salt, _VALUE, _HOSTILE_TOKENS) for salt in range(4, 8)),
    ]


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """No garbage collection while frames nested to the recursion limit are decoded: hypothesis's gc
    callback, run at that depth, would hit the limit itself and fail the test as unraisable (the code
    under test is fine: the decoder's RecursionError is caught)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def encode(value: object) -> bytes:
    raw = msgspec.json.encode(value)
    for marker, splice in _SPLICES.items():
        raw = raw.replace(msgspec.json.encode(marker), splice)
    return raw


channel_names = st.sampled_from([*WS_TEMPLATES, "candle", "", "BBO", "notification"])
# Built once per template (a strategy built inside a draw, e.g. by flatmap, is slow to validate).
envelopes = st.one_of(
    *(
        st.fixed_dictionaries(
            {
                "channel": st.tuples(
                    st.integers(0, 99), st.just(channel), st.one_of(channel_names, leaf)
                ).map(_roll),
                "data": mutated(data),
            }
        )
        for channel, data in WS_TEMPLATES.items()
    )
)
frames: st.SearchStrategy[bytes] = st.one_of(
    envelopes.map(encode),
    envelopes.map(encode),
    envelopes.map(lambda e: encode(e) + b" trailing"),
    st.fixed_dictionaries({"channel": channel_names, "data": json_values}).map(encode),
    json_values.map(encode),
    st.binary(max_size=64),
    st.text(max_size=64).map(str.encode),
    st.just(b"Websocket connection established."),
)


def test_the_reader_path_survives_10000_hostile_frames() -> None:
    totals = {"frames": 0, "events": 0, "malformed": 0, "unknown": 0, "accepted": 0, "rejected": 0}
    loop = asyncio.new_event_loop()

    async def feed(batch: list[str | bytes]) -> None:
        stream = VenueEventStream(
            VenueEventMapper(CloidMap(PREFIX), ["ETH"]), lambda: T0 + 5, max_queue=1_000
        )
        stream.seed_mid("ETH", D(2000))
        client = HyperliquidWsClient(
            "ws://127.0.0.1:9/ws", on_event=stream.on_ws_event, on_reconnected=stream.on_reconnected
        )
        for raw in batch:
            await client.handle_frame(raw)  # raises nothing, whatever the frame
        stats = client.stats
        assert client.handler_errors == 0
        assert stats.events + stats.malformed + stats.unknown_channel + stats.ignored == len(batch)
        stream.close()
        for event in [e async for e in stream.events()]:
            if isinstance(event, BookTop):
                sides = [p for p in (event.bid, event.ask) if p is not None]
                assert all(p.is_finite() and D("1e-8") <= p <= D("1e12") for p in sides)
                assert event.bid is None or event.ask is None or event.bid < event.ask
                assert all(sane_number(s) and s >= 0 for s in (event.bid_size, event.ask_size))
            elif isinstance(event, MarketContext):
                assert all(p.is_finite() and p > 0 for p in (event.mark, event.oracle))
                assert event.funding_rate.is_finite()
                assert abs(event.funding_rate) < 1
            elif isinstance(event, OrderFilled):
                assert all(sane_number(n) for n in (event.price, event.size, event.fee))
        assert all(D(1000) <= px <= D(5000) for px in stream.last_px.values())  # within bands of 2,000
        totals["frames"] += len(batch)
        totals["events"] += stats.events
        totals["malformed"] += stats.malformed
        totals["unknown"] += stats.unknown_channel
        totals["accepted"] += stream.guard.stats.books + stream.guard.stats.contexts
        totals["rejected"] += stream.guard.stats.total_rejected

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(frames, min_size=DRAWS_PER_EXAMPLE, max_size=DRAWS_PER_EXAMPLE))
    def run(drawn: list[bytes]) -> None:
        with _no_gc():
            loop.run_until_complete(feed([v for raw in drawn for v in variants(raw)]))

    try:
        run()
    finally:
        loop.close()
    assert totals["frames"] >= 10_000
    # Every stage was reached: decoded events, codec rejects, unknown channels, guard accepts and rejects.
    assert all(totals[key] > 0 for key in ("events", "malformed", "unknown", "accepted", "rejected")), totals


# ---- REST ----------------------------------------------------------------------------------------

SUMMARY = {"accountValue": "1000", "totalNtlPos": "0", "totalRawUsd": "0", "totalMarginUsed": "0"}
POSITION = {
    "coin": "ETH",
    "szi": "-2",
    "leverage": {"type": "cross", "value": 20},
    "entryPx": "1990",
    "positionValue": "4000",
    "unrealizedPnl": "0",
    "returnOnEquity": "0",
    "marginUsed": "1",
    "liquidationPx": "2500",
}
INFO_TEMPLATES: dict[str, object] = {
    "clearinghouseState": {
        "assetPositions": [{"type": "oneWay", "position": POSITION}],
        "marginSummary": SUMMARY,
        "crossMarginSummary": SUMMARY,
        "withdrawable": "1",
        "time": T0,
        "crossMaintenanceMarginUsed": "1",
    },
    "frontendOpenOrders": [{**ORDER, "orderType": "Limit", "tif": "Alo"}],
    "openOrders": [ORDER],
    "userFillsByTime": [FILL],
    "orderStatus": {"status": "order", "order": {"order": ORDER, "status": "open", "statusTimestamp": T0}},
    "meta": {"universe": [{"name": "ETH", "szDecimals": 4, "maxLeverage": 25}]},
    "allMids": {"ETH": "2000"},
}
RESTING = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 7}}]}}}
FILLED = {"filled": {"totalSz": "1", "avgPx": "2000", "oid": 7}}
EXCHANGE_TEMPLATES: dict[str, object] = {
    "order": {"status": "ok", "response": {"type": "order", "data": {"statuses": [FILLED, {"error": "x"}]}}},
    "order1": RESTING,
    "cancel": {"status": "ok", "response": {"type": "cancel", "data": {"statuses": ["success"]}}},
    "default": {"status": "ok", "response": {"type": "default"}},
    "err": {"status": "err", "response": "Invalid nonce"},
}


def _map_info(type_name: str, raw: bytes) -> None:
    """What the adapter does with the reply; raises only the codec's error (or ValueError from meta)."""
    cloids = CloidMap(PREFIX)
    if type_name == "clearinghouseState":
        account_reports(decode_info("clearinghouseState", raw))
    elif type_name in ("frontendOpenOrders", "openOrders"):
        open_order_reports(decode_info(type_name, raw), cloids, {"ETH"})  # type: ignore[call-overload]
    elif type_name == "userFillsByTime":
        [fill_event(f, cloids) for f in decode_info("userFillsByTime", raw) if sane_fill(f)]
    elif type_name == "orderStatus":
        order_status_report(decode_info("orderStatus", raw), cloids, final=False)
    elif type_name == "meta":
        meta = decode_info("meta", raw)
        try:
            market = markets_from_meta(meta, ["ETH"])["ETH"]
        except HyperliquidCodecError:
            raise
        except ValueError:  # documented: the market is missing, delisted or has a bad szDecimals
            return
        market.spec(None)
        market.spec(D(2000))
    else:
        mids = decode_info("allMids", raw)
        if "ETH" in mids:
            MarketDataGuard().check_mid("ETH", mids["ETH"], T0)


rest_replies = st.one_of(
    *(
        st.tuples(st.just(name), mutated(template).map(encode))
        for name, template in (INFO_TEMPLATES | EXCHANGE_TEMPLATES).items()
    ),
    st.tuples(st.sampled_from([*INFO_TEMPLATES, "order", "cancel", "default"]), json_values.map(encode)),
    st.tuples(st.sampled_from([*INFO_TEMPLATES, "order", "cancel", "default"]), st.binary(max_size=64)),
)


def test_rest_decoders_survive_10000_hostile_replies() -> None:
    totals = {"replies": 0, "codec_errors": 0, "mapped": 0, "outcomes": 0}
    classify: dict[str, Callable[[bytes], None]] = {
        "order": lambda raw: [submit_outcome(o) for o in classify_http("order", 200, raw, 2).outcomes],
        "order1": lambda raw: [submit_outcome(o) for o in classify_http("order", 200, raw, 1).outcomes],
        "cancel": lambda raw: [cancel_outcome(o) for o in classify_http("cancel", 200, raw, 1).outcomes],
        "default": lambda raw: classify_http("default", 200, raw, 1),
        "err": lambda raw: [submit_outcome(o) for o in classify_http("order", 200, raw, 1).outcomes],
    }

    def one(name: str, raw: bytes) -> None:
        totals["replies"] += 1
        if name in classify:
            classify[name](raw)  # never raises: undecodable is Unknown
            totals["outcomes"] += 1
            return
        try:
            _map_info(name, raw)
        except HyperliquidCodecError:
            totals["codec_errors"] += 1
            return
        totals["mapped"] += 1

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(rest_replies, min_size=DRAWS_PER_EXAMPLE, max_size=DRAWS_PER_EXAMPLE))
    def run(replies: list[tuple[str, bytes]]) -> None:
        with _no_gc():
            for name, raw in replies:
                for variant in variants(raw):
                    one(name, variant if isinstance(variant, bytes) else variant.encode())

    run()
    assert totals["replies"] >= 10_000
    assert all(value > 0 for value in totals.values()), totals


def test_a_1000_eth_fill_frame_of_an_unknown_oid_passes_through_the_reader_path() -> None:
    async def main() -> list[Any]:
        stream = VenueEventStream(VenueEventMapper(CloidMap(PREFIX), ["ETH"]), lambda: T0)
        client = HyperliquidWsClient("ws://127.0.0.1:9/ws", on_event=stream.on_ws_event)
        fill = {**FILL, "sz": "1000", "oid": 987_654_321, "tid": 42}
        del fill["cloid"]
        await client.handle_frame(encode({"channel": "userFills", "data": {"user": USER, "fills": [fill]}}))
        await client.handle_frame(encode({"channel": "user", "data": {"fills": [fill]}}))  # the same fill
        assert (client.stats.events, client.stats.malformed, client.handler_errors) == (2, 0, 0)
        stream.close()
        return [e async for e in stream.events()]

    [event] = asyncio.run(main())
    assert isinstance(event, OrderFilled)
    assert (event.client_id, event.venue_order_id, event.size, event.trade_id) == (
        None,
        "987654321",
        D(1000),
        "42:987654321",
    )
