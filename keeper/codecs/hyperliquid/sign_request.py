"""Pure request -> signature function behind ``keeper hl sign`` (the CLI does the JSON line I/O).

Request: ``{"key", "action", "nonce", "vaultAddress", "expiresAfter", "isMainnet"}`` where
``action`` is the venue's JSON wire dict. Response: ``{"connectionId", "r", "s", "v"}`` with r, s
as ``0x`` + 64 hex digits. ``vaultAddress`` and ``expiresAfter`` may be absent or null.

* Known L1 types (order, cancel, ...) are validated strictly and signed in canonical key order,
  which is the order the venue re-derives; other L1 types (createSubAccount, ...) are signed as
  given, key order included, after refusing floats.
* User-signed types (usdSend, withdraw3, usdClassTransfer, approveAgent, approveBuilderFee) are
  signed as EIP-712 typed data; they have no connectionId (returned as null), take no vault or
  expiresAfter, and ``nonce`` must equal the action's own ``time``/``nonce`` field.
"""

from __future__ import annotations

from collections.abc import Mapping

from keeper.codecs.hyperliquid.eip712 import USER_SIGNED_TYPES
from keeper.codecs.hyperliquid.errors import HyperliquidCodecError, SignRequestError
from keeper.codecs.hyperliquid.signing import (
    PrivateKeySigner,
    l1_action_hash,
    parse_l1_action,
    parse_user_signed_action,
    sign_connection_id,
    sign_user_signed_action,
)
from keeper.codecs.hyperliquid.wire_types import L1_ACTION_TYPES, L1Action, UserSignedActionBase

REQUEST_KEYS = frozenset({"key", "action", "nonce", "vaultAddress", "expiresAfter", "isMainnet"})
_REQUIRED_KEYS = ("key", "action", "nonce", "isMainnet")


def _checked_request(request: object) -> Mapping[str, object]:
    if not isinstance(request, Mapping):
        raise SignRequestError(f"request must be a JSON object, got {type(request).__name__}")
    unknown = sorted(str(key) for key in request if key not in REQUEST_KEYS)
    if unknown:
        # A misspelt "vaultAddress" would otherwise silently sign for the wrong account.
        raise SignRequestError(f"unknown request field(s) {unknown}; allowed: {sorted(REQUEST_KEYS)}")
    missing = [key for key in _REQUIRED_KEYS if key not in request]
    if missing:
        raise SignRequestError(f"missing request field(s) {missing}")
    if not isinstance(request["isMainnet"], bool):
        raise SignRequestError(f"isMainnet must be true or false, got {request['isMainnet']!r}")
    nonce = request["nonce"]
    if isinstance(nonce, bool) or not isinstance(nonce, int) or not 0 <= nonce < 2**64:
        raise SignRequestError(f"nonce must be an integer in 0..2^64-1, got {nonce!r}")
    action = request["action"]
    if not isinstance(action, Mapping) or not isinstance(action.get("type"), str):
        raise SignRequestError("action must be a JSON object with a string 'type'")
    return request


def _signer(key: object) -> PrivateKeySigner:
    if not isinstance(key, str):
        raise SignRequestError("key must be a hex string")
    try:
        return PrivateKeySigner(key)
    except HyperliquidCodecError as exc:
        raise SignRequestError(f"key: {exc}") from None


def _sign_user_signed(request: Mapping[str, object], action: Mapping[str, object]) -> dict[str, object]:
    if request.get("vaultAddress") is not None or request.get("expiresAfter") is not None:
        raise SignRequestError(f"{action['type']} is user-signed: vaultAddress and expiresAfter must be null")
    try:
        parsed = parse_user_signed_action(action)
    except HyperliquidCodecError as exc:
        raise SignRequestError(str(exc)) from None
    assert isinstance(parsed, UserSignedActionBase)
    expected_chain = "Mainnet" if request["isMainnet"] else "Testnet"
    if parsed.hyperliquid_chain != expected_chain:
        raise SignRequestError(
            f"action hyperliquidChain {parsed.hyperliquid_chain!r} "
            f"contradicts isMainnet={request['isMainnet']}"
        )
    action_nonce = action.get("time", action.get("nonce"))
    if action_nonce != request["nonce"]:
        raise SignRequestError(
            f"request nonce {request['nonce']} must equal the action's time/nonce {action_nonce}"
        )
    signature = sign_user_signed_action(_signer(request["key"]), parsed)
    return {"connectionId": None, "r": signature.r, "s": signature.s, "v": signature.v}


def sign_request(request: Mapping[str, object]) -> dict[str, object]:
    """Sign one parsed ``keeper hl sign`` request; raises :class:`SignRequestError` on bad input."""
    checked = _checked_request(request)
    action = checked["action"]
    assert isinstance(action, Mapping)
    action_type = action["type"]
    if action_type in USER_SIGNED_TYPES:
        return _sign_user_signed(checked, action)
    to_hash: L1Action | Mapping[str, object] = action
    try:
        if action_type in L1_ACTION_TYPES:
            to_hash = parse_l1_action(action)
        vault = checked.get("vaultAddress")
        expires = checked.get("expiresAfter")
        if vault is not None and not isinstance(vault, str):
            raise SignRequestError(f"vaultAddress must be a string or null, got {vault!r}")
        if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
            raise SignRequestError(f"expiresAfter must be an integer or null, got {expires!r}")
        nonce = checked["nonce"]
        assert isinstance(nonce, int)
        connection_id = l1_action_hash(to_hash, nonce, vault, expires)
    except SignRequestError:
        raise
    except HyperliquidCodecError as exc:
        raise SignRequestError(str(exc)) from None
    signature = sign_connection_id(_signer(checked["key"]), connection_id, bool(checked["isMainnet"]))
    return {"connectionId": "0x" + connection_id.hex(), "r": signature.r, "s": signature.s, "v": signature.v}
