"""/exchange outcomes: Refused only on definitive venue errors, everything unprovable is Unknown."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.codecs.hyperliquid.exchange_responses import (
    Accepted,
    Canceled,
    Filled,
    Refused,
    Resting,
    Unknown,
    classify_http,
    decode_cancel_response,
    decode_default_response,
    decode_order_response,
)

D = Decimal

MIXED_BATCH = b"""{"status":"ok","response":{"type":"order","data":{"statuses":[
  {"resting":{"oid":77738308}},
  {"filled":{"totalSz":"0.02","avgPx":"1891.4","oid":77747314}},
  {"error":"Order must have minimum value of $10."},
  {"resting":{"oid":77738309,"cloid":"0x00000000000000000000000000000007"}},
  {"error":"Post only order would have immediately matched, bbo was 1891.3@1891.4."}]}}}"""


def test_mixed_batch_maps_each_status_in_request_order() -> None:
    assert decode_order_response(MIXED_BATCH, 5) == (
        Resting(77738308),
        Filled(77747314, D("0.02"), D("1891.4")),
        Refused("Order must have minimum value of $10."),
        Resting(77738309, "0x00000000000000000000000000000007"),
        Refused("Post only order would have immediately matched, bbo was 1891.3@1891.4."),
    )


def test_filled_amounts_are_exact_decimals_and_keep_cloid() -> None:
    raw = (
        '{"status":"ok","response":{"type":"order","data":{"statuses":[{"filled":{"totalSz":"0.1",'
        '"avgPx":"30000.5","oid":1,"cloid":"0x000000000000000000000000000000ff"}}]}}}'
    )
    (filled,) = decode_order_response(raw, 1)
    assert isinstance(filled, Filled)
    assert filled.total_sz == D("0.1")
    assert type(filled.total_sz) is Decimal
    assert filled.avg_px == D("30000.5")
    assert filled.cloid == "0x000000000000000000000000000000ff"


def test_whole_response_error_rejects_every_order_of_the_action() -> None:
    raw = b'{"status":"err","response":"Invalid nonce: duplicate nonce 1741107452532"}'
    outcomes = decode_order_response(raw, 3)
    assert outcomes == (Refused("Invalid nonce: duplicate nonce 1741107452532", action_level=True),) * 3
    wallet = b'{"status":"err","response":"L1 error: User or API Wallet 0xabc does not exist."}'
    assert (
        decode_cancel_response(wallet, 2)
        == (Refused("L1 error: User or API Wallet 0xabc does not exist.", True),) * 2
    )
    assert decode_default_response(wallet) == Refused(
        "L1 error: User or API Wallet 0xabc does not exist.", True
    )


def test_err_with_non_string_response_is_still_a_definitive_rejection() -> None:
    (outcome,) = decode_order_response(b'{"status":"err","response":{"code":7}}', 1)
    assert outcome == Refused('{"code":7}', action_level=True)
    (outcome,) = decode_order_response(b'{"status":"err"}', 1)
    assert isinstance(outcome, Refused)
    assert outcome.action_level


def test_pending_statuses_are_unknown_not_success() -> None:
    raw = (
        b'{"status":"ok","response":{"type":"order","data":{"statuses":'
        b'["waitingForFill","waitingForTrigger"]}}}'
    )
    outcomes = decode_order_response(raw, 2)
    assert all(isinstance(o, Unknown) and not o.retryable for o in outcomes)
    assert "waitingForTrigger" in outcomes[1].reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "n"),
    [
        (
            b'{"status":"ok","response":{"type":"order","data":{"statuses":[{"resting":{"oid":1}}]}}}',
            2,
        ),  # missing
        (
            b'{"status":"ok","response":{"type":"order","data":{"statuses":[{"resting":{"oid":1}},"x"]}}}',
            1,
        ),  # surplus
        (b'{"status":"ok","response":{"type":"order","data":{}}}', 1),
        (b'{"status":"ok","response":{"type":"order"}}', 1),
        (b'{"status":"ok","response":{"type":"cancel","data":{"statuses":["success"]}}}', 1),  # wrong type
        (b'{"status":"ok","response":{"type":"default"}}', 1),
        (b'{"status":"ok"}', 1),
        (b'{"status":"ok","response":"fine"}', 1),
        (b'{"status":"maybe","response":"?"}', 1),
        (b'{"response":"no status"}', 1),
        (b"<html>502 Bad Gateway</html>", 1),
        (b"", 1),
        (b"[]", 1),
    ],
)
def test_missing_or_malformed_statuses_make_every_order_unknown(raw: bytes, n: int) -> None:
    outcomes = decode_order_response(raw, n)
    assert len(outcomes) == n
    assert all(isinstance(o, Unknown) and not o.retryable for o in outcomes), outcomes


@pytest.mark.parametrize(
    "status",
    [
        b'{"resting":{"oid":"12"}}',  # oid as string
        b'{"filled":{"totalSz":"abc","avgPx":"1","oid":1}}',
        b'{"filled":{"avgPx":"1","oid":1}}',
        b'{"error":""}',  # empty error is not a definitive message
        b'{"error":42}',
        b'{"resting":{"oid":1},"error":"both?"}',
        b"{}",
        b'{"somethingNew":{}}',
        b"42",
        b"null",
    ],
)
def test_a_malformed_status_is_unknown_and_does_not_spoil_its_neighbours(status: bytes) -> None:
    raw = (
        b'{"status":"ok","response":{"type":"order","data":{"statuses":[{"resting":{"oid":5}},'
        + status
        + b',{"error":"Insufficient margin to place order."}]}}}'
    )
    first, middle, last = decode_order_response(raw, 3)
    assert first == Resting(5)
    assert isinstance(middle, Unknown)
    assert last == Refused("Insufficient margin to place order.")


def test_cancel_statuses() -> None:
    raw = b"""{"status":"ok","response":{"type":"cancel","data":{"statuses":[
        "success",{"error":"Order was never placed, already canceled, or filled."},"pending?",
        {"resting":{"oid":1}}]}}}"""
    ok, rejected, odd, order_like = decode_cancel_response(raw, 4)
    assert ok == Canceled()
    assert rejected == Refused("Order was never placed, already canceled, or filled.")
    assert isinstance(odd, Unknown)
    assert isinstance(order_like, Unknown)
    order_response = b'{"status":"ok","response":{"type":"order","data":{"statuses":["success"]}}}'
    assert isinstance(decode_cancel_response(order_response, 1)[0], Unknown)


def test_default_responses() -> None:
    assert decode_default_response(b'{"status":"ok","response":{"type":"default"}}') == Accepted()
    assert decode_default_response('{"status":"ok","response":{"type":"default","extra":1}}') == Accepted()
    for raw in (
        b'{"status":"ok","response":{"type":"order"}}',
        b'{"status":"ok"}',
        b"nope",
        b'{"status":"?"}',
    ):
        assert isinstance(decode_default_response(raw), Unknown), raw


def test_ws_post_payload_raw_is_accepted() -> None:
    payload = msgspec.json.decode(
        b'{"p":{"status":"ok","response":{"type":"default"}}}', type=dict[str, msgspec.Raw]
    )
    assert decode_default_response(payload["p"]) == Accepted()


def test_item_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="n_items"):
        decode_order_response(MIXED_BATCH, 0)
    with pytest.raises(ValueError, match="n_items"):
        classify_http("order", 200, MIXED_BATCH, True)


def test_http_2xx_decodes_the_body() -> None:
    result = classify_http("order", 200, MIXED_BATCH, 5)
    assert result.outcomes[0] == Resting(77738308)
    assert not result.rate_limited
    assert result.http_status == 200
    cancel = classify_http(
        "cancel", 200, b'{"status":"ok","response":{"type":"cancel","data":{"statuses":["success"]}}}'
    )
    assert cancel.outcomes == (Canceled(),)
    assert classify_http("default", 200, b'{"status":"ok","response":{"type":"default"}}').outcomes == (
        Accepted(),
    )
    with pytest.raises(ValueError, match="exactly one"):
        classify_http("default", 200, b'{"status":"ok","response":{"type":"default"}}', 2)


def test_http_429_is_rate_limited_retryable_unknown_not_a_reject() -> None:
    result = classify_http("order", 429, b'{"code":429,"msg":"too many requests"}', 3)
    assert result.rate_limited
    assert result.outcomes == (Unknown("rate limited (HTTP 429)", retryable=True),) * 3


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, b"oops"),
        (502, None),
        (503, b""),
        (None, None),
        (422, b"Failed to deserialize"),
        (200, None),
        (301, b""),
    ],
)
def test_http_failures_and_timeouts_are_unknown_and_not_retryable(
    status: int | None, body: bytes | None
) -> None:
    result = classify_http("cancel", status, body, 2)
    assert not result.rate_limited
    assert result.http_status == status
    assert len(result.outcomes) == 2
    assert all(isinstance(o, Unknown) and not o.retryable for o in result.outcomes)


_KEYS = st.sampled_from(
    ["status", "response", "type", "data", "statuses", "resting", "filled", "error", "oid"]
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_json_values, n=st.integers(1, 4))
def test_arbitrary_json_never_raises_and_rejects_only_with_a_message(value: object, n: int) -> None:
    raw = msgspec.json.encode(value)
    for outcomes in (decode_order_response(raw, n), decode_cancel_response(raw, n)):
        assert len(outcomes) == n
        for o in outcomes:
            if isinstance(o, Refused):
                assert o.message
    assert isinstance(decode_default_response(raw), Accepted | Refused | Unknown)
