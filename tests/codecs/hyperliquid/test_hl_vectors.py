"""Every vector in tests/data/hyperliquid_signing.json, plus documented constants and RS vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keeper.codecs.hyperliquid import (
    AGENT_TYPE_HASH,
    EXCHANGE_DOMAIN_SEPARATOR,
    USER_SIGNED_TYPES,
    PrivateKeySigner,
    WireNumberError,
    encode_l1_action,
    float_to_wire,
    l1_action_hash,
    l1_agent_digest,
    parse_l1_action,
    recover_l1_signer,
    recover_user_signed_signer,
    sign_connection_id,
    sign_l1_action,
    sign_request,
    sign_user_signed_action,
    user_signed_domain_separator,
)

# tests/codecs/hyperliquid/<this file> -> parents[2] is tests/ (provenance in tests/data/README.md).
VECTORS_PATH = Path(__file__).resolve().parents[2] / "data" / "hyperliquid_signing.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text())
KNOWN_L1_TYPES = {
    "order",
    "cancel",
    "cancelByCloid",
    "modify",
    "batchModify",
    "scheduleCancel",
    "updateLeverage",
    "updateIsolatedMargin",
    "noop",
}


def _vector_id(vector: dict[str, Any]) -> str:
    network = "main" if vector["isMainnet"] else "test"
    return f"{vector['name']}-{network}"


def _assert_same_signature(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    # Expected r/s may drop leading zeros (the SDK's to_hex); compare as integers.
    assert int(actual["r"], 16) == int(expected["r"], 16)
    assert int(actual["s"], 16) == int(expected["s"], 16)
    assert actual["v"] == expected["v"]


def test_vector_file_is_complete() -> None:
    assert len(VECTORS["l1_actions"]) == 48
    assert len(VECTORS["user_signed_actions"]) == 5
    assert len(VECTORS["float_to_wire"]) == 11


@pytest.mark.parametrize("vector", VECTORS["l1_actions"], ids=_vector_id)
def test_l1_vector_via_sign_request(vector: dict[str, Any]) -> None:
    request = {k: vector[k] for k in ("key", "action", "nonce", "vaultAddress", "expiresAfter", "isMainnet")}
    result = sign_request(request)
    assert result["connectionId"] == vector["connectionId"]
    _assert_same_signature(result, vector["signature"])
    # The CLI output pads r and s to 64 hex digits.
    assert len(result["r"]) == 66
    assert len(result["s"]) == 66


@pytest.mark.parametrize("vector", VECTORS["l1_actions"], ids=_vector_id)
def test_l1_vector_via_typed_path_and_recovery(vector: dict[str, Any]) -> None:
    signer = PrivateKeySigner(vector["key"])
    assert signer.address == vector["address"].lower()
    action = vector["action"]
    typed = parse_l1_action(action) if action["type"] in KNOWN_L1_TYPES else action
    if typed is not action:
        assert encode_l1_action(typed) == encode_l1_action(action)  # vectors are in canonical order
    kwargs = {
        "vault_address": vector["vaultAddress"],
        "expires_after": vector["expiresAfter"],
        "is_mainnet": vector["isMainnet"],
    }
    signature = sign_l1_action(signer, typed, vector["nonce"], **kwargs)
    _assert_same_signature({"r": signature.r, "s": signature.s, "v": signature.v}, vector["signature"])
    connection_id = l1_action_hash(typed, vector["nonce"], vector["vaultAddress"], vector["expiresAfter"])
    assert "0x" + connection_id.hex() == vector["connectionId"]
    recovered = recover_l1_signer(action, vector["signature"], vector["nonce"], **kwargs)
    assert recovered == vector["address"].lower()


@pytest.mark.parametrize("vector", VECTORS["user_signed_actions"], ids=lambda v: v["name"])
def test_user_signed_vector(vector: dict[str, Any]) -> None:
    action = vector["action"]
    primary_type, fields = USER_SIGNED_TYPES[action["type"]]
    assert primary_type == vector["primaryType"]
    assert [{"name": name, "type": kind} for name, kind in fields] == vector["types"]
    assert action["hyperliquidChain"] == ("Mainnet" if vector["isMainnet"] else "Testnet")
    signature = sign_user_signed_action(PrivateKeySigner(vector["key"]), action)
    _assert_same_signature({"r": signature.r, "s": signature.s, "v": signature.v}, vector["signature"])
    assert recover_user_signed_signer(action, vector["signature"]) == vector["address"].lower()
    nonce = action.get("time", action.get("nonce"))
    request = {"key": vector["key"], "action": action, "nonce": nonce, "isMainnet": vector["isMainnet"]}
    result = sign_request(request)
    assert result["connectionId"] is None
    _assert_same_signature(result, vector["signature"])


@pytest.mark.parametrize("case", VECTORS["float_to_wire"], ids=lambda c: repr(c["in"]))
def test_float_to_wire_vector(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(WireNumberError, match="rounding"):
            float_to_wire(case["in"])
    else:
        assert float_to_wire(case["in"]) == case["out"]


# ---- constants and intermediates documented in hyperliquid-api.md §1.4, §1.5, §2.1 -------------


def test_eip712_constants() -> None:
    assert AGENT_TYPE_HASH.hex() == "26f05c2f7239b6983075e58321292d77b3aa173d19b27257ac96ab362570f508"
    assert (
        EXCHANGE_DOMAIN_SEPARATOR.hex() == "d79297fcdf2ffcd4ae223d01edaa2ba214ff8f401d7c9300d995d17c82aa4040"
    )
    assert (
        user_signed_domain_separator(421614).hex()
        == "feb1393ca4412a4ca577bd51d04f0a77033514c602f4d0a11490fb95f7428df6"
    )


def test_documented_msgpack_and_digests() -> None:
    dummy = {"type": "dummy", "num": 100000000000}
    assert encode_l1_action(dummy).hex() == "82a474797065a564756d6d79a36e756dcf000000174876e800"
    connection_id = l1_action_hash(dummy, 0)
    assert connection_id.hex() == "f528daee6a0bd11407b483cfcd9a48c56884180b70ee86f124053e5fc1bf4d57"
    assert (
        l1_agent_digest(connection_id, True).hex()
        == "e0aabfac88a47d3e7028b6ba6a94b30c8afcfffac26cbce788cf362b1312eafa"
    )
    assert (
        l1_agent_digest(connection_id, False).hex()
        == "c05ce2df9d9d18fab3570746cc27e1136a4020a28561171a24f60c2258989224"
    )
    schedule = parse_l1_action({"type": "scheduleCancel", "time": 123456789})
    assert (
        encode_l1_action(schedule).hex() == "82a474797065ae7363686564756c6543616e63656ca474696d65ce075bcd15"
    )
    cancel = parse_l1_action({"type": "cancel", "cancels": [{"a": 1, "o": 123456789012}]})
    expected_cancel = "82a474797065a663616e63656ca763616e63656c739182a16101a16fcf0000001cbe991a14"
    assert encode_l1_action(cancel).hex() == expected_cancel


# ---- Rust SDK vectors from the brief (§2.2), not in the JSON file: 65-byte r||s||v hex ----------

# The Rust SDK's own public test key lives with its provenance in a data file beside this test.
RS_KEY: str = json.loads((Path(__file__).with_name("rs_sdk_test_key.json")).read_text())["key"]
RS_NONCE = 1583838


def _rs_order(order_type: dict[str, Any], cloid: str | None = None) -> dict[str, Any]:
    order: dict[str, Any] = {"a": 1, "b": True, "p": "2000.0", "s": "3.5", "r": False, "t": order_type}
    if cloid is not None:
        order["c"] = cloid
    return {"type": "order", "orders": [order], "grouping": "na"}


def _split(rsv_hex: str) -> dict[str, Any]:
    raw = bytes.fromhex(rsv_hex[2:])
    return {"r": "0x" + raw[:32].hex(), "s": "0x" + raw[32:64].hex(), "v": raw[64]}


_TRIGGER = {"isMarket": True, "triggerPx": "2000.0"}
RS_L1_CASES = [
    (
        _rs_order({"limit": {"tif": "Ioc"}}, "0x1e60610f0b3d420597c88c1fed2ad5ee"),
        "0xd3e894092eb27098077145714630a77bbe3836120ee29df7d935d8510b03a08f456de5ec1be82aa65fc6ecda9ef928b0445e212517a98858cfaa251c4cd7552b1c",
        "0x3768349dbb22a7fd770fc9fc50c7b5124a7da342ea579b309f58002ceae49b4357badc7909770919c45d850aabb08474ff2b7b3204ae5b66d9f7375582981f111c",
    ),
    (
        _rs_order({"trigger": {**_TRIGGER, "tpsl": "tp"}}),
        "0xb91e5011dff15e4b4a40753730bda44972132e7b75641f3cac58b66159534a170d422ee1ac3c7a7a2e11e298108a2d6b8da8612caceaeeb3e571de3b2dfda9e41b",
        "0x6df38b609904d0d4439884756b8f366f22b3a081801dbdd23f279094a2299fac6424cb0cdc48c3706aeaa368f81959e91059205403d3afd23a55983f710aee871b",
    ),
    (
        _rs_order({"trigger": {**_TRIGGER, "tpsl": "sl"}}),
        "0x8456d2ace666fce1bee1084b00e9620fb20e810368841e9d4dd80eb29014611a0843416e51b1529c22dd2fc28f7ff8f6443875635c72011f60b62cbb8ce90e2d1c",
        "0xeb5bdb52297c1d19da45458758bd569dcb24c07e5c7bd52cf76600fd92fdd8213e661e21899c985421ec018a9ee7f3790e7b7d723a9932b7b5adcd7def5354601c",
    ),
    (
        {"type": "claimRewards"},
        "0xe13542800ba5ec821153401e1cafac484d1f861adbbb86c00b580ec2560c153248b8d9f0e004ecc86959c07d44b591861ebab2167b54651a81367e2c3d472d4e1c",
        "0x16de9b346ddd8e200492a2db45ec9104dcdfc7fbfdbcd85890a6063bdd56df2c44846714c261a431de7095ad52e07143346eb26d9e66c6aed4674f120a1048131c",
    ),
]


@pytest.mark.parametrize(("action", "main_rsv", "test_rsv"), RS_L1_CASES)
def test_rust_sdk_l1_vectors(action: dict[str, Any], main_rsv: str, test_rsv: str) -> None:
    request = {"key": RS_KEY, "action": action, "nonce": RS_NONCE, "isMainnet": True}
    _assert_same_signature(sign_request(request), _split(main_rsv))
    _assert_same_signature(sign_request({**request, "isMainnet": False}), _split(test_rsv))


def test_rust_sdk_fixed_connection_id() -> None:
    signer = PrivateKeySigner(RS_KEY)
    assert signer.address == "0xcd49bbac6e85fdeb167eb7ca41a945d2b8758f6f"
    connection_id = bytes.fromhex("de6c4037798a4434ca03cd05f00e3b803126221375cd1e7eaaaf041768be06eb")
    main = sign_connection_id(signer, connection_id, True)
    expected_main = (
        "0xfa8a41f6a3fa728206df80801a83bcbfbab08649cd34d9c0bfba7c7b2f99340f"
        "53a00226604567b98a1492803190d65a201d6805e5831b7044f17fd530aec7841c"
    )
    _assert_same_signature({"r": main.r, "s": main.s, "v": main.v}, _split(expected_main))
    test = sign_connection_id(signer, connection_id, False)
    expected_test = (
        "0x1713c0fc661b792a50e8ffdd59b637b1ed172d9a3aa4d801d9d88646710fb74b"
        "33959f4d075a7ccbec9f2374a6da21ffa4448d58d0413a0d335775f680a881431c"
    )
    _assert_same_signature({"r": test.r, "s": test.s, "v": test.v}, _split(expected_test))


@pytest.mark.parametrize(
    ("action_type", "rsv"),
    [
        (
            "usdSend",
            "0x214d507bbdaebba52fa60928f904a8b2df73673e3baba6133d66fe846c7ef70451e82453a6d8db124e7ed6e60fa00d4b7c46e4d96cb2bd61fd81b6e8953cc9d21b",
        ),
        (
            "withdraw3",
            "0xb3172e33d2262dac2b4cb135ce3c167fda55dafa6c62213564ab728b9f9ba76b769a938e9f6d603dae7154c83bf5a4c3ebab81779dc2db25463a3ed663c82ae41c",
        ),
    ],
)
def test_rust_sdk_user_signed_vectors(action_type: str, rsv: str) -> None:
    # Mixed-case destination is hashed as a string, exactly as given.
    action = {
        "type": action_type,
        "destination": "0x0D1d9635D0640821d15e323ac8AdADfA9c111414",
        "amount": "1",
        "time": 1690393044548,
        "signatureChainId": "0x66eee",
        "hyperliquidChain": "Testnet",
    }
    signature = sign_user_signed_action(PrivateKeySigner(RS_KEY), action)
    _assert_same_signature({"r": signature.r, "s": signature.s, "v": signature.v}, _split(rsv))
