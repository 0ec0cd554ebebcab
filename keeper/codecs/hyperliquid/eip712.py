"""EIP-712 digests for the two Hyperliquid signing schemes, with the constant parts precomputed.

L1 actions sign the "phantom agent" ``Agent{source, connectionId}`` under the domain
``Exchange / 1 / chainId 1337 / 0x0``. Its struct hash is ``keccak(typeHash || keccak(source) ||
connectionId)``; only ``connectionId`` varies, so the first 64 bytes are precomputed per network
and each L1 signature costs two keccaks here (struct hash, then ``0x1901 || domain || struct``).

User-signed actions sign their own fields under ``HyperliquidSignTransaction / 1 /
chainId=int(signatureChainId) / 0x0`` with primary type ``HyperliquidTransaction:<Name>``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Final

from keeper.codecs.hyperliquid.errors import ActionValidationError
from keeper.codecs.hyperliquid.keccak import keccak256

_EIP712_PREFIX: Final = b"\x19\x01"
_ZERO_ADDRESS_WORD: Final = bytes(32)
_DOMAIN_TYPE: Final = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
DOMAIN_TYPE_HASH: Final = keccak256(_DOMAIN_TYPE)
AGENT_TYPE_HASH: Final = keccak256(b"Agent(string source,bytes32 connectionId)")
L1_CHAIN_ID: Final = 1337
MAINNET_SOURCE: Final = "a"
TESTNET_SOURCE: Final = "b"


def domain_separator(name: str, version: str, chain_id: int) -> bytes:
    """hashStruct(EIP712Domain) with verifyingContract = 0x0 (both Hyperliquid domains use it)."""
    return keccak256(
        DOMAIN_TYPE_HASH
        + keccak256(name.encode())
        + keccak256(version.encode())
        + chain_id.to_bytes(32, "big")
        + _ZERO_ADDRESS_WORD
    )


EXCHANGE_DOMAIN_SEPARATOR: Final = domain_separator("Exchange", "1", L1_CHAIN_ID)
_DIGEST_PREFIX_L1: Final = _EIP712_PREFIX + EXCHANGE_DOMAIN_SEPARATOR
_AGENT_PREFIX_MAINNET: Final = AGENT_TYPE_HASH + keccak256(MAINNET_SOURCE.encode())
_AGENT_PREFIX_TESTNET: Final = AGENT_TYPE_HASH + keccak256(TESTNET_SOURCE.encode())


def l1_agent_digest(connection_id: bytes, is_mainnet: bool) -> bytes:
    """EIP-712 digest of the phantom agent for an L1 action hash (``connectionId``)."""
    prefix = _AGENT_PREFIX_MAINNET if is_mainnet else _AGENT_PREFIX_TESTNET
    return keccak256(_DIGEST_PREFIX_L1 + keccak256(prefix + connection_id))


# ---- user-signed actions ------------------------------------------------------------------------

# (wire ``type`` -> primary type, ordered EIP-712 fields). Field names are the JSON keys.
UserSignedFields = Sequence[tuple[str, str]]
USER_SIGNED_TYPES: Final[Mapping[str, tuple[str, UserSignedFields]]] = {
    "usdSend": (
        "HyperliquidTransaction:UsdSend",
        (("hyperliquidChain", "string"), ("destination", "string"), ("amount", "string"), ("time", "uint64")),
    ),
    "withdraw3": (
        "HyperliquidTransaction:Withdraw",
        (("hyperliquidChain", "string"), ("destination", "string"), ("amount", "string"), ("time", "uint64")),
    ),
    "usdClassTransfer": (
        "HyperliquidTransaction:UsdClassTransfer",
        (("hyperliquidChain", "string"), ("amount", "string"), ("toPerp", "bool"), ("nonce", "uint64")),
    ),
    "approveAgent": (
        "HyperliquidTransaction:ApproveAgent",
        (
            ("hyperliquidChain", "string"),
            ("agentAddress", "address"),
            ("agentName", "string"),
            ("nonce", "uint64"),
        ),
    ),
    "approveBuilderFee": (
        "HyperliquidTransaction:ApproveBuilderFee",
        (
            ("hyperliquidChain", "string"),
            ("maxFeeRate", "string"),
            ("builder", "address"),
            ("nonce", "uint64"),
        ),
    ),
}

_USER_SIGNED_TYPE_HASHES: Final = {
    action_type: keccak256(f"{primary}({','.join(f'{kind} {name}' for name, kind in fields)})".encode())
    for action_type, (primary, fields) in USER_SIGNED_TYPES.items()
}

# The SDK signs an unnamed agent with agentName "" but omits the key from the posted JSON.
_OMITTABLE_FIELD_DEFAULTS: Final[Mapping[str, Mapping[str, object]]] = {"approveAgent": {"agentName": ""}}


@functools.lru_cache(maxsize=64)  # bounded: a venue server sees chain ids chosen by clients
def user_signed_domain_separator(chain_id: int) -> bytes:
    """Domain separator of ``HyperliquidSignTransaction`` for ``chain_id`` (memoised)."""
    return domain_separator("HyperliquidSignTransaction", "1", chain_id)


def _encode_field(name: str, kind: str, value: object) -> bytes:
    if kind == "string":
        if not isinstance(value, str):
            raise ActionValidationError(f"{name} must be a string, got {value!r}")
        return keccak256(value.encode())
    if kind == "address":
        if not (isinstance(value, str) and len(value) == 42 and value[:2] in ("0x", "0X")):
            raise ActionValidationError(f"{name} must be a 0x-prefixed 20-byte hex address, got {value!r}")
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError as exc:
            raise ActionValidationError(f"{name} is not hex: {value!r}") from exc
        if len(raw) != 20:  # fromhex skips whitespace
            raise ActionValidationError(f"{name} is not 20 bytes of hex: {value!r}")
        return bytes(12) + raw
    if kind == "uint64":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
            raise ActionValidationError(f"{name} must be an int in 0..2^64-1, got {value!r}")
        return value.to_bytes(32, "big")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ActionValidationError(f"{name} must be a bool, got {value!r}")
        return int(value).to_bytes(32, "big")
    raise AssertionError(f"unsupported EIP-712 field type {kind}")  # table above is closed


def parse_signature_chain_id(value: object) -> int:
    """``signatureChainId`` hex string (e.g. ``"0x66eee"``) -> int chain id."""
    if not isinstance(value, str) or not value.lower().startswith("0x"):
        raise ActionValidationError(f"signatureChainId must be a 0x-prefixed hex string, got {value!r}")
    try:
        chain_id = int(value, 16)
    except ValueError as exc:
        raise ActionValidationError(f"signatureChainId is not hex: {value!r}") from exc
    if not 0 < chain_id < 2**256:
        raise ActionValidationError(f"signatureChainId out of range: {value!r}")
    return chain_id


def user_signed_digest(message: Mapping[str, object]) -> bytes:
    """EIP-712 digest of a user-signed action given as its JSON wire mapping.

    Uses ``message["type"]`` for the primary type, ``signatureChainId`` for the domain chain id and
    ``hyperliquidChain`` plus the type's fields for the message; other keys are ignored.
    """
    action_type = message.get("type")
    if not isinstance(action_type, str) or action_type not in USER_SIGNED_TYPES:
        known = ", ".join(USER_SIGNED_TYPES)
        raise ActionValidationError(f"unsupported user-signed action type {action_type!r} (known: {known})")
    _, fields = USER_SIGNED_TYPES[action_type]
    encoded = [_USER_SIGNED_TYPE_HASHES[action_type]]
    defaults = _OMITTABLE_FIELD_DEFAULTS.get(action_type, {})
    for name, kind in fields:
        if name in message:
            value = message[name]
        elif name in defaults:
            value = defaults[name]
        else:
            raise ActionValidationError(f"{action_type} is missing field {name!r}")
        encoded.append(_encode_field(name, kind, value))
    chain_id = parse_signature_chain_id(message.get("signatureChainId"))
    domain = user_signed_domain_separator(chain_id)
    return keccak256(_EIP712_PREFIX + domain + keccak256(b"".join(encoded)))
