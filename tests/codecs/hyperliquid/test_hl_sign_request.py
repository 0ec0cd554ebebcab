"""The pure function behind `keeper hl sign`: output shape and clear errors for bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest

from keeper.codecs.hyperliquid import SignRequestError, sign_request

KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
ORDER = {
    "type": "order",
    "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False, "t": {"limit": {"tif": "Gtc"}}}],
    "grouping": "na",
}
BASE: dict[str, Any] = {
    "key": KEY,
    "action": ORDER,
    "nonce": 0,
    "vaultAddress": None,
    "expiresAfter": None,
    "isMainnet": True,
}
HEX32 = re.compile(r"0x[0-9a-f]{64}")


def test_output_shape() -> None:
    result = sign_request(BASE)
    assert set(result) == {"connectionId", "r", "s", "v"}
    assert result["connectionId"] == "0x884f2c32bb6dbdd65f6033e32fb28c0cb6f5b345db0f6471fd3366d85c9252c1"
    assert HEX32.fullmatch(result["r"])
    assert HEX32.fullmatch(result["s"])
    assert result["v"] in (27, 28)


def test_optional_fields_may_be_absent_and_key_unprefixed() -> None:
    request = {"key": KEY[2:], "action": ORDER, "nonce": 0, "isMainnet": True}
    assert sign_request(request) == sign_request(BASE)


def test_unknown_l1_type_is_signed_as_given() -> None:
    action = {"type": "createSubAccount", "name": "example"}
    result = sign_request(BASE | {"action": action})
    assert int(result["r"], 16) == 0x51096FE3239421D16B671E192F574AE24AE14329099B6DB28E479B86CDD6CAA7


def test_known_type_is_signed_in_canonical_order() -> None:
    # Key order shuffled: the venue re-derives canonical order, so the signature must not change.
    shuffled = {"grouping": "na", "orders": ORDER["orders"], "type": "order"}
    assert sign_request(BASE | {"action": shuffled}) == sign_request(BASE)


@pytest.mark.parametrize(
    ("request_change", "message"),
    [
        ({"vault_address": "0x" + "00" * 20}, "unknown request field"),
        ({"key": None}, "key must be a hex string"),
        ({"key": "0x1234"}, "64 hex digits"),
        ({"key": "0x" + "zz" * 32}, "not hex"),
        ({"key": "0x" + "00" * 32}, "not a valid secp256k1"),
        ({"nonce": -1}, "nonce must be an integer"),
        ({"nonce": 2**64}, "nonce must be an integer"),
        ({"nonce": 1.0}, "nonce must be an integer"),
        ({"nonce": True}, "nonce must be an integer"),
        ({"isMainnet": "true"}, "isMainnet must be true or false"),
        ({"action": []}, "action must be a JSON object"),
        ({"action": {"orders": []}}, "string 'type'"),
        ({"vaultAddress": "0x1234"}, "vaultAddress must be 0x followed by 40 hex"),
        ({"vaultAddress": 5}, "vaultAddress must be a string"),
        ({"vaultAddress": "0x  " + "ab" * 19}, "not 20 bytes"),
        ({"expiresAfter": "soon"}, "expiresAfter must be an integer"),
        ({"expiresAfter": -5}, "expiresAfter out of uint64 range"),
        ({"action": ORDER | {"grouping": "bogus"}}, "invalid L1 action"),
        ({"action": ORDER | {"extra": 1}}, "invalid L1 action"),
        (
            {"action": {"type": "order", "orders": [{**ORDER["orders"][0], "p": 100.0}], "grouping": "na"}},
            "invalid",
        ),
        ({"action": {"type": "cancel", "cancels": [{"a": 1, "o": True}]}}, "invalid L1 action"),
        ({"action": {"type": "createSubAccount", "weight": 1.5}}, "float"),
        ({"action": {"type": "cancelByCloid", "cancels": [{"asset": 1, "cloid": "0xABC"}]}}, "invalid"),
    ],
)
def test_bad_requests_raise_typed_errors(request_change: dict[str, Any], message: str) -> None:
    with pytest.raises(SignRequestError, match=message):
        sign_request(BASE | request_change)


def test_missing_fields_and_non_mapping() -> None:
    with pytest.raises(SignRequestError, match=r"missing request field\(s\) \['nonce'\]"):
        sign_request({"key": KEY, "action": ORDER, "isMainnet": True})
    with pytest.raises(SignRequestError, match="JSON object"):
        sign_request([1, 2])  # type: ignore[arg-type]


def test_errors_never_echo_the_key() -> None:
    secret = "0x" + "ab" * 31 + "zz"
    with pytest.raises(SignRequestError) as caught:
        sign_request(BASE | {"key": secret})
    assert "ab" * 31 not in str(caught.value)


USD_SEND = {
    "type": "usdSend",
    "destination": "0x5e9ee1089755c3435139848e47e6635505d5a13a",
    "amount": "1",
    "time": 1687816341423,
    "signatureChainId": "0x66eee",
    "hyperliquidChain": "Testnet",
}


def test_user_signed_request() -> None:
    result = sign_request({"key": KEY, "action": USD_SEND, "nonce": 1687816341423, "isMainnet": False})
    assert result["connectionId"] is None
    assert int(result["r"], 16) == 0x637B37DD731507CDD24F46532CA8BA6EEC616952C56218BAEFF04144E4A77073


@pytest.mark.parametrize(
    ("request_change", "message"),
    [
        ({"isMainnet": True}, "contradicts isMainnet"),
        ({"nonce": 1}, "must equal the action's time/nonce"),
        ({"vaultAddress": "0x" + "00" * 20}, "vaultAddress and expiresAfter must be null"),
        ({"expiresAfter": 5}, "vaultAddress and expiresAfter must be null"),
        ({"action": USD_SEND | {"amount": 1}}, "invalid user-signed action"),
        ({"action": {k: v for k, v in USD_SEND.items() if k != "signatureChainId"}}, "signatureChainId"),
    ],
)
def test_bad_user_signed_requests(request_change: dict[str, Any], message: str) -> None:
    request = {"key": KEY, "action": USD_SEND, "nonce": 1687816341423, "isMainnet": False} | request_change
    with pytest.raises(SignRequestError, match=message):
        sign_request(request)
