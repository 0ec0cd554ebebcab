"""Number -> wire string rules: worked numbers, refusals, and properties."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pytest
from hyperliquid.utils.signing import float_to_wire as sdk_float_to_wire
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.codecs.hyperliquid import (
    WireNumberError,
    decimal_to_wire,
    float_to_wire,
    price_to_wire,
    round_price,
    round_size,
    size_to_wire,
    to_scaled_int,
    usd_to_micro_int,
)

D = Decimal


@pytest.mark.parametrize(
    ("price", "sz_decimals", "is_spot", "wire"),
    [
        (D("1234.5"), 0, False, "1234.5"),  # 5 sig figs, 1 decimal
        (D("0.001234"), 0, False, "0.001234"),  # leading zeros are not significant
        (D("0.01234"), 1, False, "0.01234"),  # 5 decimals = 6 - szDecimals 1
        (123456, 0, False, "123456"),  # integers always allowed, even with 6 sig figs
        (D("123456.000"), 3, False, "123456"),  # integral Decimal with trailing zeros
        (D("1E+5"), 0, False, "100000"),  # no exponent on the wire
        (D("3500.50"), 2, False, "3500.5"),  # trailing zeros removed
        (D("2000.0"), 0, False, "2000"),
        (D("0.00001234"), 0, True, "0.00001234"),  # spot: 8 - 0 decimals
        (D("0.1"), 5, False, "0.1"),  # szDecimals 5 leaves 1 decimal
        (D("99999"), 6, False, "99999"),  # szDecimals 6 perp: integers only
    ],
)
def test_price_to_wire_accepts(price: Decimal | int, sz_decimals: int, is_spot: bool, wire: str) -> None:
    assert price_to_wire(price, sz_decimals, is_spot=is_spot) == wire


@pytest.mark.parametrize(
    ("price", "sz_decimals", "is_spot", "reason"),
    [
        (D("1234.56"), 0, False, "significant figures"),  # 6 sig figs, not integral
        (D("12345.6"), 0, False, "significant figures"),
        (D("0.0012345"), 0, False, "decimals"),  # 7 decimals > 6
        (D("0.012345"), 1, False, "decimals"),  # 6 decimals > 5
        (D("0.00001234"), 0, False, "decimals"),  # fine on spot, not on perps
        (D("0.12"), 5, False, "decimals"),  # 2 decimals > 6 - 5
        (D("99999.5"), 6, False, "decimals"),
        (D("0"), 0, False, "positive"),
        (D("-1"), 0, False, "positive"),
        (D("NaN"), 0, False, "finite"),
        (D("Infinity"), 0, False, "finite"),
        (1.5, 0, False, "Decimal or int"),  # floats are refused outright
        (True, 0, False, "Decimal or int"),
        ("1.5", 0, False, "Decimal or int"),
        (D("1"), 7, False, "szDecimals"),
        (D("1"), 9, True, "szDecimals"),
    ],
)
def test_price_to_wire_refuses(price: object, sz_decimals: int, is_spot: bool, reason: str) -> None:
    with pytest.raises(WireNumberError, match=reason):
        price_to_wire(price, sz_decimals, is_spot=is_spot)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "sz_decimals", "wire"),
    [
        (D("1.001"), 3, "1.001"),
        (D("1.0010"), 3, "1.001"),
        (D("0.5000"), 1, "0.5"),
        (D("100"), 0, "100"),
        (D("100.000"), 0, "100"),
        (7, 2, "7"),
        (D("0"), 2, "0"),
        (D("-0.00"), 2, "0"),
        (D("123456789.12345678"), 8, "123456789.12345678"),
    ],
)
def test_size_to_wire_accepts(size: Decimal | int, sz_decimals: int, wire: str) -> None:
    assert size_to_wire(size, sz_decimals) == wire


@pytest.mark.parametrize(
    ("size", "sz_decimals", "reason"),
    [
        (D("1.0001"), 3, "decimals"),
        (D("0.5"), 0, "decimals"),
        (D("-1"), 2, "negative"),
        (0.5, 2, "Decimal or int"),
        (D("1"), -1, "szDecimals"),
    ],
)
def test_size_to_wire_refuses(size: object, sz_decimals: int, reason: str) -> None:
    with pytest.raises(WireNumberError, match=reason):
        size_to_wire(size, sz_decimals)  # type: ignore[arg-type]


def test_round_price_worked_numbers() -> None:
    assert round_price(D("1234.56"), 0) == D("1234.6")
    assert round_price(D("1234.56"), 0, rounding=ROUND_FLOOR) == D("1234.5")
    assert round_price(D("12345.6"), 0) == D("12346")
    assert round_price(D("123456.7"), 0, rounding=ROUND_FLOOR) == D("123456")
    assert round_price(D("0.0123456"), 1, rounding=ROUND_CEILING) == D("0.01235")
    assert round_price(D("0.0000001"), 0) == 0  # below the tick: refused by price_to_wire later
    assert round_price(D("9.999999"), 0) == D("10.000")
    assert price_to_wire(round_price(D("9.999999"), 0), 0) == "10"
    assert round_size(D("1.23456"), 3, rounding=ROUND_FLOOR) == D("1.234")


def test_decimal_and_int_helpers() -> None:
    assert decimal_to_wire(D("1000.000")) == "1000"
    assert decimal_to_wire(D("-0")) == "0"
    assert decimal_to_wire(D("1.10E+3")) == "1100"
    # Exact even beyond the default 28-digit decimal context (normalize() would round here).
    assert decimal_to_wire(D("1.00000000000000000000000000000001")) == "1.00000000000000000000000000000001"
    assert usd_to_micro_int(D("1.5")) == 1_500_000
    assert usd_to_micro_int(D("-0.000001")) == -1
    assert usd_to_micro_int(10) == 10_000_000
    assert to_scaled_int(D("123123123123"), 8) == 12312312312300000000  # SDK float_to_int_for_hashing
    assert to_scaled_int(D("0.00001231"), 8) == 1231
    assert to_scaled_int(D("1.033"), 8) == 103300000
    with pytest.raises(WireNumberError, match="more than 8 decimals"):
        to_scaled_int(D("0.000012312312"), 8)
    with pytest.raises(WireNumberError, match="more than 6 decimals"):
        usd_to_micro_int(D("0.0000001"))


def test_float_to_wire_extras() -> None:
    assert float_to_wire(-0.0) == "0"  # SDK returns "-0"; canonical form is "0"
    assert float_to_wire(1e-8) == "0.00000001"
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(WireNumberError, match="finite"):
            float_to_wire(bad)


@settings(max_examples=300, deadline=None)
@given(
    mantissa=st.integers(1, 10**12),
    exponent=st.integers(-12, 4),
    sz_decimals=st.integers(0, 6),
    is_spot=st.booleans(),
    rounding=st.sampled_from([ROUND_FLOOR, ROUND_CEILING, "ROUND_HALF_EVEN"]),
)
def test_round_price_output_is_always_wire_valid(
    mantissa: int, exponent: int, sz_decimals: int, is_spot: bool, rounding: str
) -> None:
    price = D(mantissa).scaleb(exponent)
    rounded = round_price(price, sz_decimals, is_spot=is_spot, rounding=rounding)
    if rounded > 0:
        wire = price_to_wire(rounded, sz_decimals, is_spot=is_spot)
        assert D(wire) == rounded
    if rounding == ROUND_FLOOR:
        assert rounded <= price
    if rounding == ROUND_CEILING:
        assert rounded >= price
    # Already-valid prices are left unchanged.
    try:
        price_to_wire(price, sz_decimals, is_spot=is_spot)
    except WireNumberError:
        return
    assert rounded == price


@settings(max_examples=300, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_float_to_wire_matches_sdk(value: float) -> None:
    try:
        expected: str | None = sdk_float_to_wire(value)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(WireNumberError):
            float_to_wire(value)
    else:
        assert float_to_wire(value) == ("0" if expected == "-0" else expected)
