"""Wire Structs: key order, omitted optionals, strict decoding, builders' refusals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from keeper.codecs.hyperliquid import (
    LIMIT_ALO,
    ActionValidationError,
    ApproveAgentAction,
    ExchangeRequest,
    OrderWire,
    PrivateKeySigner,
    ScheduleCancelAction,
    WireNumberError,
    builder_fee,
    cancel_action,
    checked_cloid,
    cloid_from_int,
    encode_l1_action,
    limit_order,
    modify_action,
    order_action,
    parse_l1_action,
    parse_user_signed_action,
    schedule_cancel_action,
    sign_l1_action,
    trigger_order,
    update_isolated_margin_action,
    update_leverage_action,
)

D = Decimal


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def test_order_json_key_order_and_omitted_optionals() -> None:
    plain = limit_order(asset=4, is_buy=True, price=D("1670.1"), size=D("0.0147"), sz_decimals=4, tif="Ioc")
    assert _json(order_action([plain])) == (
        '{"type":"order","orders":[{"a":4,"b":true,"p":"1670.1","s":"0.0147","r":false,'
        '"t":{"limit":{"tif":"Ioc"}}}],"grouping":"na"}'
    )
    trigger = trigger_order(
        asset=1, is_buy=True, price=D(100), size=D(100), sz_decimals=0, trigger_price=D(103), tpsl="sl",
        cloid=cloid_from_int(1),
    )  # fmt: skip
    action = order_action(
        [trigger], "normalTpsl", builder_fee("0xABCDEF0123456789ABCDEF0123456789ABCDEF01", 10)
    )
    assert _json(action) == (
        '{"type":"order","orders":[{"a":1,"b":true,"p":"100","s":"100","r":false,'
        '"t":{"trigger":{"isMarket":true,"triggerPx":"103","tpsl":"sl"}},'
        '"c":"0x00000000000000000000000000000001"}],"grouping":"normalTpsl",'
        '"builder":{"b":"0xabcdef0123456789abcdef0123456789abcdef01","f":10}}'
    )


def test_other_actions_json() -> None:
    assert _json(schedule_cancel_action(None)) == '{"type":"scheduleCancel"}'
    assert _json(schedule_cancel_action(123456789)) == '{"type":"scheduleCancel","time":123456789}'
    assert _json(update_leverage_action(1, 5, is_cross=True)) == (
        '{"type":"updateLeverage","asset":1,"isCross":true,"leverage":5}'
    )
    assert _json(update_isolated_margin_action(3, D("-12.5"))) == (
        '{"type":"updateIsolatedMargin","asset":3,"isBuy":true,"ntli":-12500000}'
    )
    order = OrderWire(1, False, "3501", "0.5", False, LIMIT_ALO, "0x00000000000000000000000000000007")
    assert _json(modify_action(123, order)).startswith('{"type":"modify","oid":123,"order":{"a":1')


def test_exchange_request_body() -> None:
    action = cancel_action([(1, 82382)])
    signature = sign_l1_action(PrivateKeySigner("0x" + "11" * 32), action, 7)
    body = msgspec.json.decode(msgspec.json.encode(ExchangeRequest(action, 7, signature)))
    assert body == {
        "action": {"type": "cancel", "cancels": [{"a": 1, "o": 82382}]},
        "nonce": 7,
        "signature": {"r": signature.r, "s": signature.s, "v": signature.v},
        "vaultAddress": None,
        "expiresAfter": None,
    }


def test_unnamed_agent_omits_agent_name_like_the_sdk() -> None:
    action = ApproveAgentAction(
        agent_address="0x0d1d9635d0640821d15e323ac8adadfa9c111414",
        nonce=1,
        signature_chain_id="0x66eee",
        hyperliquid_chain="Mainnet",
    )
    assert "agentName" not in _json(action)
    assert parse_user_signed_action(msgspec.json.decode(msgspec.json.encode(action))) == action


def test_large_ints_use_compact_uint_encoding() -> None:
    # Oids ~1e11 must be uint64 (0xcf), never int64 (0xd3).
    encoded = encode_l1_action(cancel_action([(1, 123456789012)]))
    assert encoded.endswith(bytes.fromhex("a16fcf0000001cbe991a14"))
    assert encode_l1_action(cancel_action([(1, 2**64 - 1)])).endswith(b"\xcf" + b"\xff" * 8)


def test_structs_are_immutable() -> None:
    action = schedule_cancel_action(5)
    with pytest.raises(AttributeError):
        action.time = 6  # type: ignore[misc]


_ORDER: dict[str, Any] = {"a": 1, "b": True, "p": "100", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}


@pytest.mark.parametrize(
    "action",
    [
        {"type": "order", "orders": [_ORDER | {"p": 100.5}], "grouping": "na"},  # float price
        {"type": "order", "orders": [_ORDER | {"p": "1e5"}], "grouping": "na"},  # exponent string
        {"type": "order", "orders": [_ORDER | {"a": True}], "grouping": "na"},  # bool as int
        {"type": "order", "orders": [_ORDER | {"c": "0x0000000000000000000000000000000A"}], "grouping": "na"},
        {"type": "order", "orders": [_ORDER | {"t": {}}], "grouping": "na"},  # neither limit nor trigger
        {
            "type": "order",
            "orders": [_ORDER | {"t": {"limit": {"tif": "Gtc"}, "trigger": {}}}],
            "grouping": "na",
        },
        {"type": "order", "orders": [_ORDER | {"t": {"limit": {"tif": "Day"}}}], "grouping": "na"},
        {
            "type": "order",
            "orders": [_ORDER],
            "grouping": "na",
            "builder": {"b": "0xABCDEF0123456789ABCDEF0123456789ABCDEF01", "f": 1},
        },
        {"type": "order", "orders": [_ORDER]},  # grouping is required (it is always hashed)
        {"type": "cancel", "cancels": [{"a": 1, "o": -1}]},
        {"type": "cancel", "cancels": [{"a": 1, "o": 1, "f": True}]},  # unverified NK-only flag
        {"type": "updateLeverage", "asset": 1, "isCross": True, "leverage": 0},
        {"type": "noop", "extra": 1},
        {"type": "unknownThing"},
    ],
)
def test_parse_l1_action_refuses(action: dict[str, Any]) -> None:
    with pytest.raises(ActionValidationError):
        parse_l1_action(action)


def test_parse_l1_action_round_trip() -> None:
    parsed = parse_l1_action({"type": "scheduleCancel"})
    assert parsed == ScheduleCancelAction()
    # An explicit null optional is read as absent, as a serde Option would be; it is never hashed.
    assert parse_l1_action({"type": "scheduleCancel", "time": None}) == parsed
    assert encode_l1_action(parsed) == bytes.fromhex("81a474797065ae7363686564756c6543616e63656c")


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (
            lambda: limit_order(asset=1, is_buy=True, price=D("1.234567"), size=D(1), sz_decimals=0),
            WireNumberError,
        ),
        (
            lambda: limit_order(asset=1, is_buy=True, price=D(1), size=D("0.01"), sz_decimals=1),
            WireNumberError,
        ),
        (
            lambda: limit_order(asset=-1, is_buy=True, price=D(1), size=D(1), sz_decimals=0),
            ActionValidationError,
        ),
        (
            lambda: limit_order(asset=1, is_buy=True, price=D(1), size=D(1), sz_decimals=0, tif="Day"),
            ActionValidationError,
        ),  # type: ignore[arg-type]
        (
            lambda: limit_order(asset=1, is_buy=True, price=D(1), size=D(1), sz_decimals=0, cloid="0x1"),
            ActionValidationError,
        ),
        (
            lambda: trigger_order(
                asset=1,
                is_buy=True,
                price=D(1),
                size=D(1),
                sz_decimals=0,
                trigger_price=D("1.000001"),
                tpsl="tp",
            ),
            WireNumberError,
        ),
        (
            lambda: trigger_order(
                asset=1, is_buy=True, price=D(1), size=D(1), sz_decimals=0, trigger_price=D(1), tpsl="x"
            ),
            ActionValidationError,
        ),  # type: ignore[arg-type]
        (lambda: order_action([]), ActionValidationError),
        (lambda: order_action([], "bogus"), ActionValidationError),  # type: ignore[arg-type]
        (lambda: cancel_action([]), ActionValidationError),
        (lambda: cancel_action([(1, 2**64)]), ActionValidationError),
        (
            lambda: modify_action("0xnope", OrderWire(1, True, "1", "1", False, LIMIT_ALO)),
            ActionValidationError,
        ),
        (lambda: builder_fee("0x12", 1), ActionValidationError),
        (lambda: builder_fee("0x" + "ab" * 20, -1), ActionValidationError),
        (lambda: schedule_cancel_action(-1), ActionValidationError),
        (lambda: update_leverage_action(1, 0, is_cross=True), ActionValidationError),
        (lambda: update_isolated_margin_action(1, D("0.0000001")), WireNumberError),
        (lambda: cloid_from_int(2**128), ActionValidationError),
        (lambda: checked_cloid("0x" + "A" * 32), ActionValidationError),
    ],
)
def test_builders_refuse(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_hand_built_struct_with_out_of_range_int_is_refused() -> None:
    with pytest.raises(ActionValidationError, match="cannot encode"):
        encode_l1_action(
            cancel_action([(1, 1)]).__class__(
                (msgspec.structs.replace(cancel_action([(1, 1)]).cancels[0], oid=2**64),)
            )
        )
