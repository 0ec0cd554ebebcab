"""Sign and recover Hyperliquid actions: L1 (phantom agent) and user-signed (EIP-712 typed data).

L1 hot path per action: msgspec msgpack encoding of the Struct (field order = venue key order),
one keccak for ``connectionId``, two for the EIP-712 digest, one libsecp256k1 signing call.
No eth-account, no dict building, no JSON.

Actions may also be given as JSON-wire mappings (e.g. from a venue client or the CLI); those are
msgpack-encoded in *their own* key order, as the SDK does. A venue server that wants the
canonical order should run :func:`parse_l1_action` first.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from keeper.codecs.hyperliquid import eip712
from keeper.codecs.hyperliquid.errors import ActionValidationError, SignatureFormatError, SigningInputError
from keeper.codecs.hyperliquid.keccak import keccak256
from keeper.codecs.hyperliquid.secp256k1 import (
    address_of_secret,
    recover_address,
    sign_digest,
    validate_secret,
)
from keeper.codecs.hyperliquid.wire_types import (
    L1Action,
    L1ActionBase,
    Signature,
    UserSignedAction,
    UserSignedActionBase,
)

_MSGPACK = msgspec.msgpack.Encoder()
_encode_msgpack = _MSGPACK.encode
_NO_VAULT = b"\x00"
_VAULT_FLAG = b"\x01"
_EXPIRES_TAG = b"\x00"  # 0x00 (not 0x01) precedes expiresAfter in the hashed bytes
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


class PrivateKeySigner:
    """A secp256k1 private key ready for the hot path; ``address`` is lowercase ``0x`` hex."""

    __slots__ = ("_secret", "address")

    def __init__(self, private_key: str | bytes) -> None:
        """Accept 32 raw bytes or 64 hex digits with or without ``0x``."""
        if isinstance(private_key, str):
            digits = private_key[2:] if private_key[:2] in ("0x", "0X") else private_key
            if len(digits) != 64:
                raise SigningInputError("private key must be 64 hex digits (optionally 0x-prefixed)")
            try:
                secret = bytes.fromhex(digits)
            except ValueError:
                raise SigningInputError("private key is not hex") from None  # never echo the key
        elif isinstance(private_key, bytes):
            secret = private_key
        else:
            raise SigningInputError(f"private key must be str or bytes, got {type(private_key).__name__}")
        self._secret = validate_secret(secret)
        self.address = address_of_secret(secret)

    def sign_digest(self, digest: bytes) -> Signature:
        """Sign a 32-byte digest -> wire :class:`Signature` (r, s zero-padded to 64 hex digits)."""
        r_and_s, recovery_id = sign_digest(digest, self._secret)
        return Signature("0x" + r_and_s[:32].hex(), "0x" + r_and_s[32:].hex(), 27 + recovery_id)

    def __repr__(self) -> str:
        return f"PrivateKeySigner(address={self.address!r})"


# ---- L1 actions ---------------------------------------------------------------------------------


def _checked_wire_value(value: object, path: str) -> object:
    """Copy of a JSON-wire value, refusing anything msgpack would not encode as the venue does."""
    if isinstance(value, str | bool) or value is None:
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _UINT64_MAX:
            raise ActionValidationError(f"{path}: integer {value} does not fit msgpack int64/uint64")
        return value
    if isinstance(value, Mapping):
        checked: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ActionValidationError(f"{path}: map keys must be strings, got {key!r}")
            checked[key] = _checked_wire_value(item, f"{path}.{key}")
        return checked
    if isinstance(value, list | tuple):
        return [_checked_wire_value(item, f"{path}[{index}]") for index, item in enumerate(value)]
    # Floats (and Decimals, bytes, ...) never appear in venue actions: prices are strings.
    raise ActionValidationError(f"{path}: {type(value).__name__} {value!r} is not allowed in an action")


def encode_l1_action(action: L1Action | Mapping[str, object]) -> bytes:
    """msgpack bytes of an L1 action exactly as the venue hashes them.

    Structs encode in venue key order; mappings encode in their own key order (must have ``type``).
    """
    if isinstance(action, L1ActionBase):
        try:
            return _encode_msgpack(action)
        except (OverflowError, TypeError) as exc:  # e.g. an int beyond uint64 in a hand-built Struct
            raise ActionValidationError(f"cannot encode action: {exc}") from exc
    if isinstance(action, Mapping):
        if not isinstance(action.get("type"), str):
            raise ActionValidationError("action mapping needs a string 'type'")
        return _encode_msgpack(_checked_wire_value(action, "action"))
    raise ActionValidationError(f"not an L1 action: {type(action).__name__}")


def _hash_tail(nonce: int, vault_address: str | None, expires_after: int | None) -> bytes:
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce <= _UINT64_MAX:
        raise SigningInputError(f"nonce must be an int in 0..2^64-1, got {nonce!r}")
    tail = nonce.to_bytes(8, "big")
    if vault_address is None:
        tail += _NO_VAULT
    else:
        tail += _VAULT_FLAG + address_bytes(vault_address, "vaultAddress")
    if expires_after is not None:
        if isinstance(expires_after, bool) or not isinstance(expires_after, int):
            raise SigningInputError(f"expiresAfter must be an int, got {expires_after!r}")
        if not 0 <= expires_after <= _UINT64_MAX:
            raise SigningInputError(f"expiresAfter out of uint64 range: {expires_after}")
        tail += _EXPIRES_TAG + expires_after.to_bytes(8, "big")
    return tail


def address_bytes(address: object, what: str = "address") -> bytes:
    """20 raw bytes of a ``0x`` + 40 hex address (any case)."""
    if not (isinstance(address, str) and len(address) == 42 and address[:2] in ("0x", "0X")):
        raise SigningInputError(f"{what} must be 0x followed by 40 hex digits, got {address!r}")
    try:
        raw = bytes.fromhex(address[2:])
    except ValueError:
        raise SigningInputError(f"{what} is not hex: {address!r}") from None
    if len(raw) != 20:  # fromhex skips whitespace, so 42 characters may still be short
        raise SigningInputError(f"{what} is not 20 bytes of hex: {address!r}")
    return raw


def l1_action_hash(
    action: L1Action | Mapping[str, object],
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> bytes:
    """The action hash (``connectionId``) the phantom agent signs.

    keccak(msgpack(action) || nonce u64 BE || 0x00 | 0x01 + vault 20 bytes || [0x00 || expiresAfter u64 BE]).
    """
    return keccak256(encode_l1_action(action) + _hash_tail(nonce, vault_address, expires_after))


def sign_connection_id(signer: PrivateKeySigner, connection_id: bytes, is_mainnet: bool) -> Signature:
    """Sign the phantom agent ``{source: "a"|"b", connectionId}``."""
    if len(connection_id) != 32:
        raise SigningInputError("connectionId must be 32 bytes")
    return signer.sign_digest(eip712.l1_agent_digest(connection_id, is_mainnet))


def sign_l1_action(
    signer: PrivateKeySigner,
    action: L1Action | Mapping[str, object],
    nonce: int,
    *,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool = True,
) -> Signature:
    """Sign an L1 action (order, cancel, modify, ...) for ``POST /exchange``.

    ``vault_address`` is the vault or sub-account traded for (posted as ``vaultAddress``);
    ``expires_after`` is the optional ms deadline (posted as ``expiresAfter``). ``nonce`` is the
    caller's (usually ms time, strictly increasing per signer): this codec never reads the clock.
    """
    connection_id = keccak256(encode_l1_action(action) + _hash_tail(nonce, vault_address, expires_after))
    return signer.sign_digest(eip712.l1_agent_digest(connection_id, is_mainnet))


def parse_signature(signature: Signature | Mapping[str, object]) -> tuple[bytes, int]:
    """Wire signature (``Signature`` or ``{"r","s","v"}`` with hex strings or ints) -> (r||s, recovery id)."""
    if isinstance(signature, Signature):
        parts: Mapping[str, object] = {"r": signature.r, "s": signature.s, "v": signature.v}
    elif isinstance(signature, Mapping):
        parts = signature
    else:
        raise SignatureFormatError(
            f"signature must be a Signature or mapping, got {type(signature).__name__}"
        )
    words = []
    for name in ("r", "s"):
        value = parts.get(name)
        if isinstance(value, str) and value[:2] in ("0x", "0X") and 2 < len(value) <= 66:
            try:
                value = int(value, 16)
            except ValueError:
                raise SignatureFormatError(f"signature {name} is not hex: {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**256:
            raise SignatureFormatError(f"signature {name} must be 0x-hex of at most 32 bytes, got {value!r}")
        words.append(value.to_bytes(32, "big"))
    v = parts.get("v")
    if v not in (27, 28) or isinstance(v, bool):
        raise SignatureFormatError(f"signature v must be 27 or 28, got {v!r}")
    assert isinstance(v, int)
    return words[0] + words[1], v - 27


def recover_l1_signer(
    action: L1Action | Mapping[str, object],
    signature: Signature | Mapping[str, object],
    nonce: int,
    *,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool = True,
) -> str:
    """Lowercase address that signed this L1 action; a wrong signature recovers some other address."""
    r_and_s, recovery_id = parse_signature(signature)
    connection_id = l1_action_hash(action, nonce, vault_address, expires_after)
    return recover_address(eip712.l1_agent_digest(connection_id, is_mainnet), r_and_s, recovery_id)


def parse_l1_action(action: Mapping[str, object]) -> L1Action:
    """Validate a JSON-wire L1 action (known types only) into its Struct; raises ActionValidationError."""
    try:
        parsed: L1Action = msgspec.convert(action, L1Action)
    except msgspec.ValidationError as exc:
        raise ActionValidationError(f"invalid L1 action: {exc}") from exc
    return parsed


# ---- user-signed actions ------------------------------------------------------------------------


def parse_user_signed_action(action: Mapping[str, object]) -> UserSignedAction:
    """Validate a JSON-wire user-signed action into its Struct; raises ActionValidationError."""
    try:
        parsed: UserSignedAction = msgspec.convert(action, UserSignedAction)
    except msgspec.ValidationError as exc:
        raise ActionValidationError(f"invalid user-signed action: {exc}") from exc
    return parsed


def _user_signed_message(action: UserSignedAction | Mapping[str, object]) -> Mapping[str, object]:
    if isinstance(action, UserSignedActionBase):
        message: object = msgspec.to_builtins(action)
    elif isinstance(action, Mapping):
        message = msgspec.to_builtins(parse_user_signed_action(action))
    else:
        raise ActionValidationError(f"not a user-signed action: {type(action).__name__}")
    assert isinstance(message, dict)
    return message


def sign_user_signed_action(
    signer: PrivateKeySigner, action: UserSignedAction | Mapping[str, object]
) -> Signature:
    """Sign a user-signed action (usdSend, withdraw3, usdClassTransfer, approveAgent, approveBuilderFee).

    The network comes from the action's ``hyperliquidChain`` and the EIP-712 domain chain id from its
    ``signatureChainId``. Mappings are validated strictly first.
    """
    return signer.sign_digest(eip712.user_signed_digest(_user_signed_message(action)))


def recover_user_signed_signer(
    action: UserSignedAction | Mapping[str, object], signature: Signature | Mapping[str, object]
) -> str:
    """Lowercase address that signed a user-signed action.

    Mappings are read leniently (only the EIP-712 fields, extra keys ignored) as a venue would.
    """
    r_and_s, recovery_id = parse_signature(signature)
    if isinstance(action, UserSignedActionBase):
        message: Mapping[str, object] = _user_signed_message(action)
    elif isinstance(action, Mapping):
        message = action
    else:
        raise ActionValidationError(f"not a user-signed action: {type(action).__name__}")
    return recover_address(eip712.user_signed_digest(message), r_and_s, recovery_id)
