"""Calibration: EWMA volatility (worked numbers, time weighting) and the fill-intensity regression."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.core.calibration import (
    EwmaVolatility,
    count_trades_reaching,
    fit_intensity,
    intensity_from_trades,
)


def test_ewma_worked_numbers() -> None:
    vol = EwmaVolatility(half_life_s=10.0)
    assert vol.update(100.0, 0.0) == 0.0  # first mid: nothing to measure yet
    assert not vol.ready
    # +1 % in 1 s seeds the variance rate: ln(1.01)² / 1
    assert vol.update(101.0, 1.0) == pytest.approx(math.log(1.01))  # 0.00995033 per √s
    # flat for one half-life: the old sample keeps weight 1/2
    assert vol.update(101.0, 10.0) == pytest.approx(math.log(1.01) / math.sqrt(2))  # 0.0070359
    assert vol.ready


def test_ewma_weights_by_time_not_by_count() -> None:
    one = EwmaVolatility(half_life_s=10.0, initial_sigma=0.01)
    one.update(100.0, 0.0)
    one.update(100.0, 10.0)
    many = EwmaVolatility(half_life_s=10.0, initial_sigma=0.01)
    many.update(100.0, 0.0)
    for _ in range(10):
        many.update(100.0, 1.0)
    assert one.sigma == pytest.approx(0.01 / math.sqrt(2))
    assert many.sigma == pytest.approx(one.sigma)


def test_ewma_same_timestamp_moves_are_measured_over_the_next_interval() -> None:
    vol = EwmaVolatility(half_life_s=10.0)
    vol.update(100.0, 0.0)
    vol.update(105.0, 0.0)  # a jump inside one timestamp is not lost ...
    assert vol.sigma == 0.0
    assert vol.update(101.0, 1.0) == pytest.approx(math.log(1.01))  # ... it is 100 -> 101 over 1 s


def test_ewma_converges_to_the_true_rate() -> None:
    # ±x every 0.5 s: the variance rate is x² / 0.5
    vol = EwmaVolatility(half_life_s=5.0, initial_sigma=0.0)
    mid, x = 100.0, 0.001
    vol.update(mid, 0.0)
    for i in range(2000):
        mid *= math.exp(x if i % 2 else -x)
        vol.update(mid, 0.5)
    assert vol.sigma == pytest.approx(x / math.sqrt(0.5), rel=1e-9)


def test_ewma_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="half_life"):
        EwmaVolatility(half_life_s=0.0)
    vol = EwmaVolatility(half_life_s=1.0)
    with pytest.raises(ValueError, match="mid"):
        vol.update(0.0, 1.0)
    with pytest.raises(ValueError, match="dt_s"):
        vol.update(1.0, -1.0)


@given(
    mids=st.lists(st.floats(min_value=1e-3, max_value=1e6), min_size=2, max_size=50),
    dts=st.lists(st.floats(min_value=0.0, max_value=100.0), min_size=50, max_size=50),
    scale=st.floats(min_value=1e-3, max_value=1e3),
)
def test_ewma_is_non_negative_and_scale_free(mids: list[float], dts: list[float], scale: float) -> None:
    a = EwmaVolatility(half_life_s=7.0)
    b = EwmaVolatility(half_life_s=7.0)
    for mid, dt in zip(mids, dts, strict=False):
        sa = a.update(mid, dt)
        sb = b.update(mid * scale, dt)
        assert sa >= 0
        assert math.isfinite(sa)
        assert sb == pytest.approx(sa, rel=1e-6, abs=1e-9)  # relative volatility: units do not matter


def test_count_trades_reaching_counts_the_tail() -> None:
    distances = [0.1, 0.2, 0.2, -0.5, 1.0]  # signed: sells below mid count by distance
    assert count_trades_reaching(distances, [0.0, 0.2, 0.3, 1.0, 2.0]) == [5, 4, 2, 1, 0]


def test_fit_intensity_worked_numbers() -> None:
    # λ(δ) = 2·e^(−0.5δ) over 100 s of exposure
    deltas = [0.0, 1.0, 2.0, 4.0]
    counts = [100 * 2 * math.exp(-0.5 * d) for d in deltas]
    fit = fit_intensity(deltas, counts, 100.0)
    assert fit is not None
    assert fit == pytest.approx((2.0, 0.5))
    unweighted = fit_intensity(deltas, counts, [100.0] * 4, weighted=False)
    assert unweighted == pytest.approx((2.0, 0.5))
    # two points: ln(10/10) = 0 at δ = 0 and ln(1/10) at δ = 1 => A = 1, k = ln 10
    assert fit_intensity([0.0, 1.0], [10, 1], 10.0) == pytest.approx((1.0, math.log(10)))


def test_fit_intensity_guards_degenerate_data() -> None:
    assert fit_intensity([], [], 10.0) is None
    assert fit_intensity([1.0], [5], 10.0) is None  # one point
    assert fit_intensity([1.0, 1.0], [5, 7], 10.0) is None  # one distinct δ
    assert fit_intensity([0.0, 1.0, 2.0], [0, 0, 3], 10.0) is None  # one bin with trades
    assert fit_intensity([0.0, 1.0], [1, 5], 10.0) is None  # more fills farther out: k <= 0
    assert fit_intensity([0.0, 1.0], [4, 4], 10.0) is None  # flat: k = 0
    fit = fit_intensity([0.0, 1.0, 2.0], [10, 0, 1], 10.0)  # empty bins are skipped, not fatal
    assert fit == pytest.approx((1.0, math.log(10) / 2))
    with pytest.raises(ValueError, match="same length"):
        fit_intensity([0.0], [1, 2], 1.0)
    with pytest.raises(ValueError, match="exposure"):
        fit_intensity([0.0, 1.0], [1, 2], 0.0)
    with pytest.raises(ValueError, match="delta"):
        fit_intensity([-1.0, 1.0], [1, 2], 1.0)


def test_intensity_from_trades() -> None:
    # Tail counts 8, 4, 2, 1 on a unit grid over 1 s: halving per unit, so k = ln 2, A = 8.
    distances = [0.5] * 4 + [1.5] * 2 + [2.5] + [3.5]
    assert intensity_from_trades(distances, 1.0, [0.0, 1.0, 2.0, 3.0]) == pytest.approx((8.0, math.log(2)))


@given(
    a=st.floats(min_value=1e-3, max_value=1e3),
    k=st.floats(min_value=1e-2, max_value=10.0),
    n=st.integers(min_value=2, max_value=20),
    step=st.floats(min_value=1e-3, max_value=0.5),
    weighted=st.booleans(),
)
def test_fit_recovers_an_exact_curve(a: float, k: float, n: int, step: float, weighted: bool) -> None:
    deltas = [i * step for i in range(n)]
    counts = [60.0 * a * math.exp(-k * d) for d in deltas]
    fit = fit_intensity(deltas, counts, 60.0, weighted=weighted)
    assert fit is not None
    assert fit == pytest.approx((a, k), rel=1e-6)
