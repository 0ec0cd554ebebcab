"""Number -> wire-string conversion under the venue's tick and lot rules.

The signature covers the exact strings posted, so every conversion here is exact: a value that
would need rounding is refused with :class:`WireNumberError` instead of being silently rounded.
Callers that *want* rounding use :func:`round_price` / :func:`round_size` explicitly (choosing the
direction, e.g. bids down and asks up) and then convert.

Inputs are ``Decimal`` or ``int``; floats never enter a signed payload. :func:`float_to_wire`
exists only to reproduce the official SDK's float behaviour (vectors, interop checks).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from keeper.codecs.hyperliquid.errors import WireNumberError

# Venue rules (tick-and-lot-size docs): prices carry at most 5 significant figures unless integral,
# and at most MAX_DECIMALS - szDecimals decimals; sizes at most szDecimals decimals.
MAX_PRICE_SIG_FIGS = 5
PERP_MAX_DECIMALS = 6
SPOT_MAX_DECIMALS = 8
USD_INT_DECIMALS = 6  # updateIsolatedMargin ntli is USD * 1e6
# The SDK's float_to_wire formats with 8 decimals and refuses differences of 1e-12 or more.
_FLOAT_WIRE_DECIMALS = 8
_FLOAT_WIRE_TOLERANCE = 1e-12

Number = Decimal | int


def _to_decimal(value: object, what: str) -> Decimal:
    # bool is an int subclass and float would smuggle binary rounding in: both refused.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise WireNumberError(f"{what} must be a Decimal or int, got {type(value).__name__}: {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise WireNumberError(f"{what} must be finite, got {number}")
    return number


def _plain_string(number: Decimal) -> str:
    """Fixed-point string without trailing zeros, trailing dot, exponent or negative zero.

    ``Decimal.normalize`` is avoided on purpose: it rounds to the context precision (28 digits).
    """
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        return "0"
    return text


def _decimal_places(text: str) -> int:
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


def _significant_figures(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    return len(digits)


def _max_price_decimals(sz_decimals: int, is_spot: bool) -> int:
    max_decimals = SPOT_MAX_DECIMALS if is_spot else PERP_MAX_DECIMALS
    if isinstance(sz_decimals, bool) or not isinstance(sz_decimals, int):
        raise WireNumberError(f"szDecimals must be an int, got {sz_decimals!r}")
    if not 0 <= sz_decimals <= max_decimals:
        kind = "spot" if is_spot else "perp"
        raise WireNumberError(f"szDecimals={sz_decimals} outside 0..{max_decimals} for a {kind} asset")
    return max_decimals - sz_decimals


def decimal_to_wire(value: Number) -> str:
    """Canonical wire string of an exact number: no exponent, no trailing zeros, ``-0`` -> ``"0"``.

    No venue rule is applied (use :func:`price_to_wire` / :func:`size_to_wire` for orders); this is
    for free-form amount strings such as usdSend ``amount``.
    """
    return _plain_string(_to_decimal(value, "value"))


def price_to_wire(price: Number, sz_decimals: int, *, is_spot: bool = False) -> str:
    """Wire string of an order or trigger price, refusing values the venue would reject.

    Rules: price > 0; integral prices are always allowed; otherwise at most 5 significant figures
    and at most ``6 - szDecimals`` decimals (perps) or ``8 - szDecimals`` (spot).
    Example: szDecimals=1 perp -> ``Decimal("0.01234")`` is ``"0.01234"``, ``Decimal("0.012345")``
    raises :class:`WireNumberError`.
    """
    allowed_decimals = _max_price_decimals(sz_decimals, is_spot)
    number = _to_decimal(price, "price")
    if number <= 0:
        raise WireNumberError(f"price must be positive, got {number}")
    text = _plain_string(number)
    decimals = _decimal_places(text)
    if decimals == 0:
        return text
    if decimals > allowed_decimals:
        raise WireNumberError(
            f"price {text} has {decimals} decimals; at most {allowed_decimals} allowed "
            f"(szDecimals={sz_decimals}, {'spot' if is_spot else 'perp'}); round it first"
        )
    sig_figs = _significant_figures(text)
    if sig_figs > MAX_PRICE_SIG_FIGS:
        raise WireNumberError(
            f"price {text} has {sig_figs} significant figures; at most {MAX_PRICE_SIG_FIGS} "
            "allowed for non-integer prices; round it first"
        )
    return text


def size_to_wire(size: Number, sz_decimals: int) -> str:
    """Wire string of an order size: at most ``szDecimals`` decimals, not negative.

    Example: szDecimals=3 -> ``Decimal("1.0010")`` is ``"1.001"``; ``Decimal("1.0001")`` raises.
    """
    if isinstance(sz_decimals, bool) or not isinstance(sz_decimals, int) or sz_decimals < 0:
        raise WireNumberError(f"szDecimals must be a non-negative int, got {sz_decimals!r}")
    number = _to_decimal(size, "size")
    if number < 0:
        raise WireNumberError(f"size must not be negative, got {number}")
    text = _plain_string(number)
    decimals = _decimal_places(text)
    if decimals > sz_decimals:
        raise WireNumberError(
            f"size {text} has {decimals} decimals; at most szDecimals={sz_decimals} allowed; round it first"
        )
    return text


def round_price(
    price: Number, sz_decimals: int, *, is_spot: bool = False, rounding: str = ROUND_HALF_EVEN
) -> Decimal:
    """Round a price to the nearest value :func:`price_to_wire` accepts, in the given direction.

    ``rounding`` is a ``decimal`` rounding mode (``ROUND_FLOOR`` for bids, ``ROUND_CEILING`` for
    asks, ...). Prices with 5 or more integer digits round to an integer. The result may be 0 for
    sub-tick prices, which :func:`price_to_wire` then refuses.
    """
    allowed_decimals = _max_price_decimals(sz_decimals, is_spot)
    number = _to_decimal(price, "price")
    if number == 0:
        return number
    # adjusted() is the exponent of the leading digit: 1234.5 -> 3, so 5 sig figs leave 1 decimal.
    sig_fig_decimals = MAX_PRICE_SIG_FIGS - 1 - number.adjusted()
    decimals = max(0, min(allowed_decimals, sig_fig_decimals))
    try:
        return number.quantize(Decimal(1).scaleb(-decimals), rounding=rounding)
    except InvalidOperation as exc:  # more digits than the decimal context can hold
        raise WireNumberError(f"price {number} is too large to round") from exc


def round_size(size: Number, sz_decimals: int, *, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round a size to ``szDecimals`` decimals in the given ``decimal`` rounding mode."""
    if isinstance(sz_decimals, bool) or not isinstance(sz_decimals, int) or sz_decimals < 0:
        raise WireNumberError(f"szDecimals must be a non-negative int, got {sz_decimals!r}")
    number = _to_decimal(size, "size")
    try:
        return number.quantize(Decimal(1).scaleb(-sz_decimals), rounding=rounding)
    except InvalidOperation as exc:
        raise WireNumberError(f"size {number} is too large to round") from exc


def to_scaled_int(value: Number, decimals: int) -> int:
    """Exact ``value * 10**decimals`` as an int; refuses values with more than ``decimals`` decimals."""
    number = _to_decimal(value, "value")
    # Integer arithmetic on the digit tuple: Decimal.scaleb would round to the context precision.
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite, checked by _to_decimal
    coefficient = int("".join(map(str, digits))) * (-1 if sign else 1)
    shift = exponent + decimals
    if shift >= 0:
        multiplier: int = 10**shift
        return coefficient * multiplier
    divisor: int = 10**-shift
    quotient, remainder = divmod(coefficient, divisor)
    if remainder:
        raise WireNumberError(f"{number} has more than {decimals} decimals; refusing to round")
    return quotient


def usd_to_micro_int(usd: Number) -> int:
    """USD amount -> integer micro-USD (updateIsolatedMargin ``ntli``); refuses sub-micro amounts."""
    return to_scaled_int(usd, USD_INT_DECIMALS)


def float_to_wire(value: float) -> str:
    """SDK-equivalent float -> wire string, for interop with float-based callers and vectors.

    Formats with 8 decimals and refuses (``WireNumberError``) if that changed the value by 1e-12
    or more. Differences from the SDK, both deliberate: NaN/inf are refused, and ``-0.0`` gives
    ``"0"`` (the SDK returns ``"-0"``; the Rust SDK returns ``"0"``).
    """
    if isinstance(value, bool) or not isinstance(value, float | int):
        raise WireNumberError(f"float_to_wire takes a float, got {type(value).__name__}")
    as_float = float(value)
    if not math.isfinite(as_float):
        raise WireNumberError(f"float_to_wire: value must be finite, got {as_float}")
    text = f"{as_float:.{_FLOAT_WIRE_DECIMALS}f}"
    if abs(float(text) - as_float) >= _FLOAT_WIRE_TOLERANCE:
        raise WireNumberError(f"float_to_wire causes rounding: {as_float!r}")
    return _plain_string(Decimal(text))
