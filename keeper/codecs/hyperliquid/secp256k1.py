"""secp256k1 recoverable ECDSA over a 32-byte digest, via libsecp256k1 (coincurve's cffi binding).

coincurve's ``PrivateKey.sign_recoverable`` allocates a signature struct, output buffer and recid
per call and copies through ``bytes + int_to_bytes``; calling the same C functions directly with
per-thread preallocated buffers saves the wrapper overhead (small next to the ~25 us C signing).
Nonces are RFC 6979 (libsecp256k1's default), so signatures are deterministic and low-s -- the
same bytes eth-account (coincurve backend) produces.
"""

from __future__ import annotations

import threading
from typing import Any

from coincurve import PrivateKey
from coincurve._libsecp256k1 import ffi, lib  # type: ignore[import-not-found]  # compiled cffi module
from coincurve.context import GLOBAL_CONTEXT

from keeper.codecs.hyperliquid.errors import SignatureFormatError, SigningInputError
from keeper.codecs.hyperliquid.keccak import keccak256

_CONTEXT: Any = GLOBAL_CONTEXT.ctx
_NULL: Any = ffi.NULL
_SECRET_BYTES = 32
_UNCOMPRESSED_PUBKEY_BYTES = 65
_EC_UNCOMPRESSED: Any = lib.SECP256K1_EC_UNCOMPRESSED
_sign_recoverable: Any = lib.secp256k1_ecdsa_sign_recoverable
_serialize_compact: Any = lib.secp256k1_ecdsa_recoverable_signature_serialize_compact
_parse_compact: Any = lib.secp256k1_ecdsa_recoverable_signature_parse_compact
_recover: Any = lib.secp256k1_ecdsa_recover
_serialize_pubkey: Any = lib.secp256k1_ec_pubkey_serialize


class _Scratch(threading.local):
    """Per-thread C buffers: cffi releases the GIL, so they must not be shared across threads."""

    def __init__(self) -> None:
        self.signature = ffi.new("secp256k1_ecdsa_recoverable_signature *")
        self.compact = ffi.new("unsigned char[64]")
        self.compact_view = ffi.buffer(self.compact)
        self.recovery_id = ffi.new("int *")
        self.pubkey = ffi.new("secp256k1_pubkey *")
        self.pubkey_out = ffi.new("unsigned char[65]")
        self.pubkey_out_view = ffi.buffer(self.pubkey_out)
        self.pubkey_len = ffi.new("size_t *")


_scratch = _Scratch()


def validate_secret(secret: bytes) -> bytes:
    """Check a 32-byte secp256k1 secret (0 < k < n); returns it unchanged."""
    if len(secret) != _SECRET_BYTES:
        raise SigningInputError(f"private key must be 32 bytes, got {len(secret)}")
    try:
        PrivateKey(secret)
    except ValueError as exc:
        raise SigningInputError("private key is not a valid secp256k1 scalar") from exc
    return secret


def sign_digest(digest: bytes, secret: bytes) -> tuple[bytes, int]:
    """Sign a 32-byte digest: returns (r||s as 64 bytes, recovery id 0/1).

    ``secret`` must already be validated by :func:`validate_secret`.
    """
    scratch = _scratch
    if not _sign_recoverable(_CONTEXT, scratch.signature, digest, secret, _NULL, _NULL):
        raise SigningInputError("libsecp256k1 refused to sign (invalid key or digest)")
    _serialize_compact(_CONTEXT, scratch.compact, scratch.recovery_id, scratch.signature)
    return scratch.compact_view[:], scratch.recovery_id[0]


def public_key_to_address(uncompressed_pubkey: bytes) -> str:
    """Lowercase ``0x`` address = last 20 bytes of keccak(x || y)."""
    return "0x" + keccak256(uncompressed_pubkey[1:])[12:].hex()


def address_of_secret(secret: bytes) -> str:
    """Lowercase ``0x`` address of a validated secret."""
    return public_key_to_address(PrivateKey(secret).public_key.format(compressed=False))


def recover_address(digest: bytes, r_and_s: bytes, recovery_id: int) -> str:
    """Address whose key produced ``r_and_s`` (64 bytes) over ``digest`` with ``recovery_id`` 0..3.

    Raises :class:`SignatureFormatError` when r/s are out of range or no key recovers.
    """
    if len(r_and_s) != 64 or not 0 <= recovery_id <= 3:
        raise SignatureFormatError("signature must be 64 bytes r||s with recovery id 0..3")
    scratch = _scratch
    if not _parse_compact(_CONTEXT, scratch.signature, r_and_s, recovery_id):
        raise SignatureFormatError("signature r or s is not a valid scalar")
    if not _recover(_CONTEXT, scratch.pubkey, scratch.signature, digest):
        raise SignatureFormatError("no public key recovers from this signature")
    scratch.pubkey_len[0] = _UNCOMPRESSED_PUBKEY_BYTES
    _serialize_pubkey(_CONTEXT, scratch.pubkey_out, scratch.pubkey_len, scratch.pubkey, _EC_UNCOMPRESSED)
    return public_key_to_address(scratch.pubkey_out_view[:])
