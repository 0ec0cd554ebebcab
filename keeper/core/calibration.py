"""Calibration of the quote model's inputs: σ by EWMA of mid returns, and the fill intensity A·e^(−kδ).

Pure: observations and elapsed times are arguments; nothing here reads a clock.

Sources (see /work/shared/docs/perp-dex-facts.md §6.4): the RiskMetrics EWMA variance (J.P. Morgan,
RiskMetrics Technical Document, 1996), here with a half-life in seconds so irregular sampling weighs each
observation by the time it covers; the intensity regression `ln λ(δ) = ln A − k·δ` as in hftbacktest's
GLFT tutorial and its issue #65 [S47b][S48], with λ(δ) the rate of trades reaching at least δ from mid.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence


class EwmaVolatility:
    """Relative volatility per √second from mid-price log returns, exponentially weighted in time.

    Each update with log return `x = ln(m_t / m_{t−dt})` is a variance-rate sample `x²/dt`; it enters with
    weight `α = 1 − 2^(−dt / half_life)`: `v ← (1 − α)·v + α·x²/dt`, `σ = √v`. A weight by elapsed time
    (not by count) keeps σ unbiased by bursts of quotes. The first sample seeds v unless `initial_sigma`
    was given. Drift is ignored (mean return 0), as RiskMetrics does at short horizons.

    An update with `dt_s = 0` is deferred: the reference mid stays, so the return is measured over the next
    positive interval and a jump within one timestamp still counts. The sample's denominator is at least
    `min_dt_s` (clock resolution): a move over a microsecond is not an unbounded variance rate.
    """

    def __init__(
        self, half_life_s: float, initial_sigma: float | None = None, min_dt_s: float = 1e-3
    ) -> None:
        if not half_life_s > 0 or not min_dt_s > 0:
            raise ValueError("half_life_s and min_dt_s must be positive")
        if initial_sigma is not None and not (math.isfinite(initial_sigma) and initial_sigma >= 0):
            raise ValueError("initial_sigma must be >= 0 and finite")
        self.half_life_s = half_life_s
        self.min_dt_s = min_dt_s
        self._variance: float | None = None if initial_sigma is None else initial_sigma**2
        self._last_mid: float | None = None
        self._pending_dt = 0.0

    @property
    def sigma(self) -> float:
        """Current estimate (relative per √s); 0 until a first return or an initial value."""
        return 0.0 if self._variance is None else math.sqrt(self._variance)

    @property
    def ready(self) -> bool:
        return self._variance is not None

    def update(self, mid: float, dt_s: float) -> float:
        """Feed the mid observed `dt_s` seconds after the previous update; returns σ per √second."""
        if not (math.isfinite(mid) and mid > 0):
            raise ValueError(f"mid must be positive and finite, got {mid}")
        if not (math.isfinite(dt_s) and dt_s >= 0):
            raise ValueError(f"dt_s must be >= 0 and finite, got {dt_s}")
        if self._last_mid is None:
            self._last_mid = mid
            return self.sigma
        dt = self._pending_dt + dt_s
        if dt <= 0:
            return self.sigma  # same timestamp: measure this move over the next positive interval
        x = math.log(mid / self._last_mid)
        sample = x * x / max(dt, self.min_dt_s)
        if self._variance is None:
            self._variance = sample
        else:
            alpha = -math.expm1(-math.log(2.0) * dt / self.half_life_s)
            self._variance += alpha * (sample - self._variance)
        self._last_mid = mid
        self._pending_dt = 0.0
        return self.sigma


def count_trades_reaching(distances: Sequence[float], grid: Sequence[float]) -> list[int]:
    """For each δ in `grid`, how many trades printed at least δ from the prevailing mid.

    A resting quote at δ fills when a trade reaches δ or beyond, so λ(δ) counts the tail, not the trades
    at exactly δ (binning by exact distance would get k right but A wrong by a factor k·bin width).
    """
    ordered = sorted(abs(d) for d in distances)
    return [len(ordered) - bisect.bisect_left(ordered, delta) for delta in grid]


def fit_intensity(
    deltas: Sequence[float],
    counts: Sequence[float],
    exposure_s: float | Sequence[float],
    *,
    weighted: bool = True,
) -> tuple[float, float] | None:
    """Fit `λ(δ) = A·e^(−kδ)` by least squares on `ln λ(δ) = ln A − k·δ`; returns (A, k) or None.

    `λ_i = counts_i / exposure_i` (fills per second at distance δ_i). With `weighted`, each point is
    weighted by its count: a Poisson count n has Var(ln n) ≈ 1/n (delta method), so sparse far bins do not
    dominate. Bins with no trades are left out (ln 0 is undefined), which biases k down a little when the
    far tail is empty; use a grid the data covers.

    None (keep the previous fit) when the data cannot identify the curve: fewer than two distinct δ with
    trades, or a fit whose intensity does not fall with distance (k ≤ 0).
    """
    if len(deltas) != len(counts):
        raise ValueError("deltas and counts must have the same length")
    if isinstance(exposure_s, Sequence):
        exposures = [float(e) for e in exposure_s]
        if len(exposures) != len(deltas):
            raise ValueError("exposure_s must be a number or one value per delta")
    else:
        exposures = [float(exposure_s)] * len(deltas)
    xs: list[float] = []
    ys: list[float] = []
    ws: list[float] = []
    for delta, count, exposure in zip(deltas, counts, exposures, strict=True):
        if not (math.isfinite(delta) and delta >= 0 and math.isfinite(count) and count >= 0):
            raise ValueError(f"need finite delta >= 0 and count >= 0, got delta={delta} count={count}")
        if not (math.isfinite(exposure) and exposure > 0):
            raise ValueError(f"exposure must be positive and finite, got {exposure}")
        if count == 0:
            continue
        xs.append(delta)
        ys.append(math.log(count / exposure))
        ws.append(count if weighted else 1.0)
    if len(set(xs)) < 2:
        return None
    total = math.fsum(ws)
    x_mean = math.fsum(w * x for w, x in zip(ws, xs, strict=True)) / total
    y_mean = math.fsum(w * y for w, y in zip(ws, ys, strict=True)) / total
    sxx = math.fsum(w * (x - x_mean) ** 2 for w, x in zip(ws, xs, strict=True))
    sxy = math.fsum(w * (x - x_mean) * (y - y_mean) for w, x, y in zip(ws, xs, ys, strict=True))
    if not sxx > 0:
        return None
    k = -sxy / sxx
    if not (math.isfinite(k) and k > 0):
        return None
    a = math.exp(y_mean + k * x_mean)
    if not (math.isfinite(a) and a > 0):
        return None
    return a, k


def intensity_from_trades(
    distances: Sequence[float], exposure_s: float, grid: Sequence[float], *, weighted: bool = True
) -> tuple[float, float] | None:
    """(A, k) from the distances to mid of the trades seen over `exposure_s` seconds, on a grid of δ."""
    return fit_intensity(grid, count_trades_reaching(distances, grid), exposure_s, weighted=weighted)
