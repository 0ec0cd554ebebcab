"""Typed errors raised by the Hyperliquid codec.

All of them derive from ``ValueError`` so generic callers can still catch bad input broadly.
"""

from __future__ import annotations


class HyperliquidCodecError(ValueError):
    """Base class of every error raised by ``keeper.codecs.hyperliquid``."""


class WireNumberError(HyperliquidCodecError):
    """A number cannot be written to the wire exactly (would need rounding, wrong type, out of range)."""


class ActionValidationError(HyperliquidCodecError):
    """An action (or one of its fields) does not match the venue's wire schema."""


class SigningInputError(HyperliquidCodecError):
    """A signing input is malformed: private key, nonce, vault address, expiresAfter, chain flags."""


class SignatureFormatError(HyperliquidCodecError):
    """A signature cannot be parsed or no public key can be recovered from it."""


class SignRequestError(HyperliquidCodecError):
    """A ``keeper hl sign`` request line is malformed; the message says which field and why."""
