"""Property tests: the codec agrees byte for byte with the official SDK (test-only oracle)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgpack
import msgspec
from eth_account import Account
from hyperliquid.utils import signing as sdk
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.codecs.hyperliquid import (
    ApproveAgentAction,
    ApproveBuilderFeeAction,
    L1Action,
    OrderWire,
    PrivateKeySigner,
    UsdClassTransferAction,
    UsdSendAction,
    UserSignedAction,
    Withdraw3Action,
    batch_modify_action,
    builder_fee,
    cancel_action,
    cancel_by_cloid_action,
    cloid_from_int,
    decimal_to_wire,
    encode_l1_action,
    l1_action_hash,
    limit_order,
    modify_action,
    order_action,
    parse_l1_action,
    parse_user_signed_action,
    recover_l1_signer,
    recover_user_signed_signer,
    round_price,
    schedule_cancel_action,
    sign_l1_action,
    sign_user_signed_action,
    trigger_order,
    update_isolated_margin_action,
    update_leverage_action,
)
from keeper.codecs.hyperliquid.wire_types import NoopAction

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
U64 = 2**64 - 1

keys = st.integers(1, SECP256K1_ORDER - 1).map(lambda k: f"0x{k:064x}")
u64s = st.integers(0, U64) | st.integers(0, 2**41)  # bias towards realistic ms timestamps
assets = st.integers(0, 200) | st.integers(10_000, 10_300) | st.integers(110_000, 130_000)
cloids = st.integers(0, 2**128 - 1).map(cloid_from_int)
addresses = st.binary(min_size=20, max_size=20).map(lambda raw: "0x" + raw.hex())


@st.composite
def prices(draw: st.DrawFn, sz_decimals: int, is_spot: bool) -> Decimal:
    if draw(st.booleans()):  # integral prices, any number of digits
        return Decimal(draw(st.integers(1, 10**9)))
    raw = Decimal(draw(st.integers(1, 10**9))).scaleb(draw(st.integers(-12, 3)))
    rounded = round_price(raw, sz_decimals, is_spot=is_spot)
    return rounded if rounded > 0 else Decimal(1)


@st.composite
def orders(draw: st.DrawFn) -> OrderWire:
    sz_decimals = draw(st.integers(0, 5))
    is_spot = draw(st.booleans())
    common: dict[str, Any] = {
        "asset": draw(assets),
        "is_buy": draw(st.booleans()),
        "price": draw(prices(sz_decimals, is_spot)),
        "size": Decimal(draw(st.integers(0, 10**10))).scaleb(-sz_decimals),
        "sz_decimals": sz_decimals,
        "reduce_only": draw(st.booleans()),
        "cloid": draw(st.none() | cloids),
        "is_spot": is_spot,
    }
    if draw(st.booleans()):
        return limit_order(tif=draw(st.sampled_from(["Alo", "Ioc", "Gtc"])), **common)
    return trigger_order(
        trigger_price=draw(prices(sz_decimals, is_spot)),
        tpsl=draw(st.sampled_from(["tp", "sl"])),
        is_market=draw(st.booleans()),
        **common,
    )


oids = st.integers(0, U64) | cloids
order_actions = st.builds(
    order_action,
    st.lists(orders(), min_size=1, max_size=4),
    st.sampled_from(["na", "normalTpsl", "positionTpsl"]),
    st.none() | st.builds(builder_fee, addresses, st.integers(0, 1000)),
)
l1_actions: st.SearchStrategy[L1Action] = st.one_of(
    order_actions,
    order_actions,  # orders are the hot path: weight them double
    st.builds(cancel_action, st.lists(st.tuples(assets, st.integers(0, U64)), min_size=1, max_size=4)),
    st.builds(cancel_by_cloid_action, st.lists(st.tuples(assets, cloids), min_size=1, max_size=4)),
    st.builds(modify_action, oids, orders()),
    st.builds(batch_modify_action, st.lists(st.tuples(oids, orders()), min_size=1, max_size=3)),
    st.builds(schedule_cancel_action, st.none() | u64s),
    st.builds(update_leverage_action, assets, st.integers(1, 100), is_cross=st.booleans()),
    st.builds(
        update_isolated_margin_action,
        assets,
        st.integers(-(10**15), 10**15).map(lambda micros: Decimal(micros).scaleb(-6)),
    ),
    st.just(NoopAction()),
)


def _as_json_dict(action: msgspec.Struct) -> Any:
    """The plain JSON-wire dict a client would post (and the SDK signs)."""
    return msgspec.json.decode(msgspec.json.encode(action))


def _ints(signature: Any) -> tuple[int, int, int]:
    if isinstance(signature, dict):
        return int(signature["r"], 16), int(signature["s"], 16), signature["v"]
    return int(signature.r, 16), int(signature.s, 16), signature.v


@settings(max_examples=1000, deadline=None)
@given(
    key=keys,
    action=l1_actions,
    nonce=u64s,
    vault=st.none() | addresses,
    expires_after=st.none() | u64s,
    is_mainnet=st.booleans(),
)
def test_l1_actions_match_sdk(
    *, key: str, action: L1Action, nonce: int, vault: str | None, expires_after: int | None, is_mainnet: bool
) -> None:
    wire = _as_json_dict(action)
    # msgpack bytes and connectionId identical to the SDK's.
    assert encode_l1_action(action) == msgpack.packb(wire)
    connection_id = l1_action_hash(action, nonce, vault, expires_after)
    assert connection_id == sdk.action_hash(wire, vault, nonce, expires_after)
    # Decoding the wire dict gives back the same Struct (the venue-side view).
    assert parse_l1_action(wire) == action
    signer = PrivateKeySigner(key)
    ours = sign_l1_action(
        signer, action, nonce, vault_address=vault, expires_after=expires_after, is_mainnet=is_mainnet
    )
    theirs = sdk.sign_l1_action(Account.from_key(key), wire, vault, nonce, expires_after, is_mainnet)
    assert _ints(ours) == _ints(theirs)
    recovered = recover_l1_signer(
        wire, ours, nonce, vault_address=vault, expires_after=expires_after, is_mainnet=is_mainnet
    )
    assert recovered == signer.address


# ---- user-signed actions --------------------------------------------------------------------------

amounts = st.integers(0, 10**12).map(lambda cents: decimal_to_wire(Decimal(cents).scaleb(-2)))
chains = st.sampled_from(["Mainnet", "Testnet"])
chain_ids = st.sampled_from(["0x66eee", "0xa4b1", "0x1", "0x3e7"])
_chain = {"hyperliquid_chain": chains, "signature_chain_id": chain_ids}
user_signed_actions: st.SearchStrategy[UserSignedAction] = st.one_of(
    st.builds(UsdSendAction, destination=addresses, amount=amounts, time=u64s, **_chain),
    st.builds(Withdraw3Action, destination=addresses, amount=amounts, time=u64s, **_chain),
    st.builds(UsdClassTransferAction, amount=amounts, to_perp=st.booleans(), nonce=u64s, **_chain),
    st.builds(
        ApproveAgentAction,
        agent_address=addresses,
        agent_name=st.just("") | st.text(max_size=16),
        nonce=u64s,
        **_chain,
    ),
    st.builds(
        ApproveBuilderFeeAction,
        max_fee_rate=st.sampled_from(["0.001%", "0.01%", "0.1%"]),
        builder=addresses,
        nonce=u64s,
        **_chain,
    ),
)
_SDK_SIGN_TYPES = {
    "usdSend": sdk.USD_SEND_SIGN_TYPES,
    "withdraw3": sdk.WITHDRAW_SIGN_TYPES,
    "usdClassTransfer": sdk.USD_CLASS_TRANSFER_SIGN_TYPES,
    "approveAgent": [
        {"name": "hyperliquidChain", "type": "string"},
        {"name": "agentAddress", "type": "address"},
        {"name": "agentName", "type": "string"},
        {"name": "nonce", "type": "uint64"},
    ],
    "approveBuilderFee": [
        {"name": "hyperliquidChain", "type": "string"},
        {"name": "maxFeeRate", "type": "string"},
        {"name": "builder", "type": "address"},
        {"name": "nonce", "type": "uint64"},
    ],
}
_SDK_PRIMARY_TYPES = {
    "usdSend": "HyperliquidTransaction:UsdSend",
    "withdraw3": "HyperliquidTransaction:Withdraw",
    "usdClassTransfer": "HyperliquidTransaction:UsdClassTransfer",
    "approveAgent": "HyperliquidTransaction:ApproveAgent",
    "approveBuilderFee": "HyperliquidTransaction:ApproveBuilderFee",
}
_SDK_SIGNERS = {
    "usdSend": sdk.sign_usd_transfer_action,
    "withdraw3": sdk.sign_withdraw_from_bridge_action,
    "usdClassTransfer": sdk.sign_usd_class_transfer_action,
    "approveAgent": sdk.sign_agent,
    "approveBuilderFee": sdk.sign_approve_builder_fee,
}


@settings(max_examples=300, deadline=None)
@given(key=keys, action=user_signed_actions)
def test_user_signed_actions_match_sdk(key: str, action: UserSignedAction) -> None:
    wire = _as_json_dict(action)
    action_type = wire["type"]
    assert parse_user_signed_action(wire) == action
    signer = PrivateKeySigner(key)
    ours = sign_user_signed_action(signer, action)
    assert _ints(sign_user_signed_action(signer, wire)) == _ints(ours)
    wallet = Account.from_key(key)
    sdk_message = {"agentName": "", **wire}  # the SDK signs an omitted agentName as ""
    if wire["signatureChainId"] == "0x66eee":
        # The SDK's public helpers hard-code signatureChainId 0x66eee and set hyperliquidChain.
        is_mainnet = wire["hyperliquidChain"] == "Mainnet"
        theirs = _SDK_SIGNERS[action_type](wallet, dict(sdk_message), is_mainnet)
    else:
        payload = sdk.user_signed_payload(
            _SDK_PRIMARY_TYPES[action_type], _SDK_SIGN_TYPES[action_type], sdk_message
        )
        theirs = sdk.sign_inner(wallet, payload)
    assert _ints(ours) == _ints(theirs)
    assert recover_user_signed_signer(wire, ours) == signer.address
