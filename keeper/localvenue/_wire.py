"""Wire-level helpers: number strings as the venue prints them, input parsing, error strings.

Error strings marked "venue" are quoted in the API brief (hyperliquid-api.md §3.2, §7); the
others are local wording for cases whose exact venue text is not documented.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import msgspec

JsonDict = dict[str, Any]
ZERO = Decimal(0)
USD_PLACES = 6
PX_PLACES = 8
RATE_PLACES = 10
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_CLOID = re.compile(r"0x[0-9a-f]{32}")

# ---- venue strings ----
TICK = "Price must be divisible by tick size."
MIN_NOTIONAL = "Order must have minimum value of $10."
MARGIN = "Insufficient margin to place order."
REDUCE_ONLY = "Reduce only order would increase position."
IOC_CANCEL = "Order could not immediately match against any resting orders."
MISSING_ORDER = "Order was never placed, already canceled, or filled."
ZERO_SIZE = "Order has zero size."
INVALID_SIZE = "Order has invalid size."
INVALID_PRICE = "Order has invalid price."
DESERIALIZE = "Failed to deserialize the JSON body into the target type"
# ---- local wording ----
TRIGGER_UNSUPPORTED = "Trigger orders are not supported on the local venue."
MODIFY_MISSING = "Cannot modify canceled or filled order"
INVALID_SIGNATURE = "L1 error: Invalid signature."
VAULT_UNSUPPORTED = "Vault and sub-account actions are not supported on the local venue."
ISOLATED_UNSUPPORTED = "Isolated margin is not supported on the local venue (cross only)."
INVALID_LEVERAGE = "Invalid leverage value"
LEVERAGE_MARGIN = "Insufficient margin to change leverage."
SCHEDULE_TOO_EARLY = "Scheduled cancel time too early, must be at least 5 seconds after current time."
SCHEDULE_CAP = "Too many scheduled cancel triggers today (10 per day, reset at 00:00 UTC)."
AGENT_CANNOT_APPROVE = "Agents cannot approve agents or move funds; sign with the master account."
AGENT_ADDRESS_TAKEN = "Agent address is already in use by another account."
INSUFFICIENT_BALANCE = "Insufficient balance for transfer."


def bad_alo(best_bid: Decimal | None, best_ask: Decimal | None) -> str:
    """Venue string for a crossing post-only order (bbo rendered as ``bid@ask``)."""
    bid = "None" if best_bid is None else fmt(best_bid)
    ask = "None" if best_ask is None else fmt(best_ask)
    return f"Post only order would have immediately matched, bbo was {bid}@{ask}."


def unknown_signer(address: str) -> str:
    """Venue string when the recovered signer is neither an account nor an agent."""
    return f"L1 error: User or API Wallet {address} does not exist."


def must_deposit(address: str) -> str:
    """Venue string for a user-signed action from an address without funds."""
    return f"Must deposit before performing actions. User: {address}"


def duplicate_nonce(nonce: int) -> str:
    """Venue string for a nonce already used by this signer."""
    return f"Invalid nonce: duplicate nonce {nonce}"


def nonce_too_low(nonce: int, smallest: int) -> str:
    """Nonce not above the smallest of the signer's 100 highest (local wording)."""
    return f"Invalid nonce: {nonce} is not larger than the smallest of the 100 highest nonces ({smallest})"


def nonce_out_of_window(nonce: int, now_ms: int) -> str:
    """Nonce outside (now - 2 days, now + 1 day) (local wording)."""
    return f"Invalid nonce: {nonce} is outside (now - 2 days, now + 1 day) at block time {now_ms}"


def expired(expires_after: int, now_ms: int) -> str:
    """``expiresAfter`` already passed (local wording)."""
    return f"L1 error: Action expired: expiresAfter {expires_after} is before block time {now_ms}."


def unsupported_action(action_type: str) -> str:
    """Known-but-unimplemented or unknown action type (local wording)."""
    return f"Action type {action_type!r} is not supported on the local venue."


def wrong_chain(expected: str) -> str:
    """User-signed action for the other network (local wording)."""
    return f"Invalid hyperliquidChain: this venue expects {expected!r}."


def unknown_asset(asset: int) -> str:
    """Order or cancel for an asset index outside ``meta.universe`` (local wording)."""
    return f"Unknown asset {asset}."


class BadRequest(msgspec.Struct, frozen=True):
    """A body the venue cannot deserialize: served as HTTP ``status`` with a plain-text ``message``."""

    message: str
    status: int = 422


def err(message: str) -> JsonDict:
    """``{"status": "err", "response": message}`` as the venue answers failed actions."""
    return {"status": "err", "response": message}


def ok_default() -> JsonDict:
    """Success reply of actions without data (cancel-all switch, leverage, noop, transfers)."""
    return {"status": "ok", "response": {"type": "default"}}


def fmt(value: Decimal, places: int | None = None) -> str:
    """Venue number string: plain decimal, no trailing zeros, but whole numbers keep ``.0``."""
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0")
        if text.endswith("."):
            text += "0"
    else:
        text += ".0"
    return "0.0" if text == "-0.0" else text


def fmt_usd(value: Decimal) -> str:
    """USDC amounts (micro-USDC precision)."""
    return fmt(value, USD_PLACES)


def micro(value: Decimal) -> Decimal:
    """Round a USDC amount to micro-USDC, as balances move."""
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def parse_address(value: object) -> str | None:
    """Lowercased address, or None if ``value`` is not ``0x`` + 40 hex digits."""
    if isinstance(value, str) and _ADDRESS.fullmatch(value):
        return value.lower()
    return None


def parse_int(value: object) -> int | None:
    """A JSON integer (bools excluded), or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def parse_cloid(value: object) -> str | None:
    """A cloid (``0x`` + 32 hex digits, lowercased), or None."""
    if isinstance(value, str) and _CLOID.fullmatch(value.lower()):
        return value.lower()
    return None


def parse_decimal(value: str) -> Decimal | None:
    """Finite Decimal of a wire string, or None."""
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None
