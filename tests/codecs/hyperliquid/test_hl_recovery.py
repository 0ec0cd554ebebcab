"""Signer recovery: round trips, tampering, malformed signatures, agreement with the SDK."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from eth_account import Account
from hyperliquid.utils import signing as sdk

from keeper.codecs.hyperliquid import (
    PrivateKeySigner,
    Signature,
    SignatureFormatError,
    UsdSendAction,
    cancel_action,
    limit_order,
    order_action,
    recover_l1_signer,
    recover_user_signed_signer,
    sign_l1_action,
    sign_user_signed_action,
)

KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
ADDRESS = "0x14791697260e4c9a71f18484c9f997b308e59325"
NONCE = 1_700_000_000_000
VAULT = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
ORDER = order_action(
    [
        limit_order(
            asset=1, is_buy=False, price=Decimal("3500.5"), size=Decimal("0.5"), sz_decimals=3, tif="Alo"
        )
    ]
)


def test_round_trip_with_vault_and_expiry() -> None:
    signer = PrivateKeySigner(KEY)
    assert signer.address == ADDRESS
    signature = sign_l1_action(signer, ORDER, NONCE, vault_address=VAULT, expires_after=NONCE + 5000)
    assert (
        recover_l1_signer(ORDER, signature, NONCE, vault_address=VAULT, expires_after=NONCE + 5000) == ADDRESS
    )
    # Mapping form of the signature, with r/s as the SDK prints them (leading zeros dropped).
    as_sdk = {"r": hex(int(signature.r, 16)), "s": hex(int(signature.s, 16)), "v": signature.v}
    assert recover_l1_signer(ORDER, as_sdk, NONCE, vault_address=VAULT, expires_after=NONCE + 5000) == ADDRESS


def test_agrees_with_sdk_recovery() -> None:
    signature = sign_l1_action(PrivateKeySigner(KEY), ORDER, NONCE, is_mainnet=False)
    wire = {"r": signature.r, "s": signature.s, "v": signature.v}
    sdk_address = sdk.recover_agent_or_user_from_l1_action(
        {"type": "order", "orders": _wire_orders(), "grouping": "na"},
        wire,
        None,
        NONCE,
        None,
        False,
    )
    assert sdk_address.lower() == recover_l1_signer(ORDER, signature, NONCE, is_mainnet=False) == ADDRESS


def _wire_orders() -> list[dict[str, object]]:
    return [{"a": 1, "b": False, "p": "3500.5", "s": "0.5", "r": False, "t": {"limit": {"tif": "Alo"}}}]


@pytest.mark.parametrize(
    "change",
    [
        {"nonce": NONCE + 1},
        {"is_mainnet": False},
        {"vault_address": VAULT},
        {"expires_after": NONCE},
        {"action": cancel_action([(1, 5)])},
    ],
    ids=["nonce", "network", "vault", "expiresAfter", "action"],
)
def test_different_inputs_recover_a_different_address(change: dict[str, object]) -> None:
    signature = sign_l1_action(PrivateKeySigner(KEY), ORDER, NONCE)
    inputs: dict[str, object] = {"action": ORDER, "nonce": NONCE, "is_mainnet": True} | change
    action = inputs.pop("action")
    nonce = inputs.pop("nonce")
    recovered = recover_l1_signer(action, signature, nonce, **inputs)  # type: ignore[arg-type]
    assert recovered != ADDRESS


def test_bad_signature_recovers_a_different_address() -> None:
    signature = sign_l1_action(PrivateKeySigner(KEY), ORDER, NONCE)
    tampered_s = {"r": signature.r, "s": hex(int(signature.s, 16) ^ 1), "v": signature.v}
    assert recover_l1_signer(ORDER, tampered_s, NONCE) != ADDRESS
    flipped_v = {"r": signature.r, "s": signature.s, "v": 55 - signature.v}
    assert recover_l1_signer(ORDER, flipped_v, NONCE) != ADDRESS


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ({"r": "0x0", "s": "0x1", "v": 27}, "valid scalar|recovers"),
        ({"r": "0x" + "f" * 64, "s": "0x1", "v": 27}, "valid scalar"),
        ({"r": "0x1", "s": "0x1", "v": 29}, "v must be 27 or 28"),
        ({"r": "0x1", "s": "0x1", "v": True}, "v must be 27 or 28"),
        ({"r": "0x" + "1" * 65, "s": "0x1", "v": 27}, "at most 32 bytes"),
        ({"r": "12", "s": "0x1", "v": 27}, "0x-hex"),
        ({"r": "0xzz", "s": "0x1", "v": 27}, "not hex"),
        ({"s": "0x1", "v": 27}, "signature r"),
    ],
)
def test_malformed_signatures_raise(signature: dict[str, object], reason: str) -> None:
    with pytest.raises(SignatureFormatError, match=reason):
        recover_l1_signer(ORDER, signature, NONCE)


def test_user_signed_round_trip_and_tamper() -> None:
    signer = PrivateKeySigner(KEY)
    action = UsdSendAction(
        destination="0x5e9ee1089755c3435139848e47e6635505d5a13a",
        amount="1",
        time=NONCE,
        signature_chain_id="0x66eee",
        hyperliquid_chain="Mainnet",
    )
    signature = sign_user_signed_action(signer, action)
    assert recover_user_signed_signer(action, signature) == ADDRESS
    wire = {"type": "usdSend", "destination": action.destination, "amount": "1", "time": NONCE,
            "signatureChainId": "0x66eee", "hyperliquidChain": "Mainnet"}  # fmt: skip
    assert recover_user_signed_signer(wire, signature) == ADDRESS
    assert recover_user_signed_signer({**wire, "amount": "2"}, signature) != ADDRESS
    assert recover_user_signed_signer({**wire, "hyperliquidChain": "Testnet"}, signature) != ADDRESS
    assert recover_user_signed_signer({**wire, "signatureChainId": "0xa4b1"}, signature) != ADDRESS
    sdk_address = sdk.recover_user_from_user_signed_action(
        dict(wire), {"r": signature.r, "s": signature.s, "v": signature.v},
        sdk.USD_SEND_SIGN_TYPES, "HyperliquidTransaction:UsdSend", True,
    )  # fmt: skip
    assert sdk_address.lower() == ADDRESS
    assert Account.from_key(KEY).address.lower() == ADDRESS


def test_concurrent_signing_uses_per_thread_buffers() -> None:
    # cffi releases the GIL inside keccak/secp256k1 calls; shared scratch buffers would corrupt results.
    signer = PrivateKeySigner(KEY)
    expected = [sign_l1_action(signer, ORDER, nonce) for nonce in range(200)]

    def sign_all(_: int) -> list[Signature]:
        return [sign_l1_action(signer, ORDER, nonce) for nonce in range(200)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(sign_all, range(4)))
    assert all(result == expected for result in results)


def test_signer_repr_hides_the_key() -> None:
    assert "0123456789" not in repr(PrivateKeySigner(KEY))
    assert ADDRESS in repr(PrivateKeySigner(KEY))
