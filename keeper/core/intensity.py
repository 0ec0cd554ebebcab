"""Online calibration of the fill intensity λ(δ) = A·e^(−kδ) from our own quotes and fills. Pure.

What we measure is exactly what the quote model needs: how often a quote of ours resting at depth δ from
the mid gets filled. Each decision adds the time our live quotes rested since the previous one to the
exposure of their depth bucket; each maker fill of ours adds one to the bucket of its depth. The fit is
`keeper.core.calibration.fit_intensity` (weighted least squares on ln λ = ln A − k·δ) over the buckets
our fills reached, blended with the configured (A, k) as the prior: (ln A, k) is the average of the
data's fit and the prior weighted by the number of fills behind each, the prior counting as
`prior_fills` fills. With no data it is the prior exactly; evidence moves it gradually. (Pseudo-counts
per bucket would bias k: the far buckets, where we are rarely filled, would keep the prior's rate.)
Old evidence fades with `half_life_s` (regimes change). Depths are kept in basis points of
the mid and turned into price units at fit time, because k is per quote currency.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from keeper.core.calibration import fit_intensity
from keeper.core.order_diff import LiveOrder

# Bucket edges in bps of the mid; the last bucket is open-ended (counted at its lower edge).
EDGES_BPS = (0.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0)


class IntensityCalibrator:
    """Exposure and fills per depth bucket; `fit(mid)` gives (A, k) in fills/s and per quote unit."""

    def __init__(
        self,
        prior_a: float,
        prior_k_per_bps: float,
        *,
        prior_fills: float = 200.0,
        half_life_s: float = 3_600.0,
    ) -> None:
        if not (prior_a > 0 and prior_k_per_bps > 0 and prior_fills > 0 and half_life_s > 0):
            raise ValueError("prior A, prior k, prior weight and half-life must be positive")
        self.prior_a = prior_a
        self.prior_k_per_bps = prior_k_per_bps  # k expressed per basis point of the mid
        self._prior_fills = prior_fills
        self._decay_per_s = math.log(2.0) / half_life_s
        n = len(EDGES_BPS)
        self.exposure_s = [0.0] * n
        self._depth_s = [0.0] * n  # exposure-weighted depth: a bucket's δ is its mean depth quoted
        self.fills = [0.0] * n
        self._last_s: float | None = None
        self._resting: list[float] = []  # depths (bps) of the quotes resting since the last call
        self.observed_fills = 0

    @staticmethod
    def bucket(depth_bps: float) -> int:
        for i in range(len(EDGES_BPS) - 1, -1, -1):
            if depth_bps >= EDGES_BPS[i]:
                return i
        return 0

    def observe(self, live: Sequence[LiveOrder], mid: float, now_s: float) -> None:
        """At each decision: the quotes that rested since the previous call count their time there,
        then the current live quotes start resting at their depth (against `mid`)."""
        if self._last_s is not None and now_s > self._last_s:
            dt = now_s - self._last_s
            keep = math.exp(-self._decay_per_s * dt)
            self.exposure_s = [e * keep for e in self.exposure_s]
            self._depth_s = [d * keep for d in self._depth_s]
            self.fills = [f * keep for f in self.fills]
            for depth in self._resting:
                i = self.bucket(depth)
                self.exposure_s[i] += dt
                self._depth_s[i] += dt * depth
        self._last_s = now_s
        if mid > 0 and math.isfinite(mid):
            self._resting = [abs(float(o.price) / mid - 1.0) * 10_000.0 for o in live if o.size > 0]

    def fill(self, price: float, mid: float) -> None:
        """One maker fill of ours at `price` while the mid was `mid`."""
        if mid > 0 and math.isfinite(mid) and math.isfinite(price):
            self.fills[self.bucket(abs(price / mid - 1.0) * 10_000.0)] += 1.0
            self.observed_fills += 1

    def fit(self, mid: float) -> tuple[float, float]:
        """(A, k) with k per quote unit at `mid`: the prior and our evidence, weighted by fills."""
        prior_a, prior_k = self.prior_a, self.prior_k_per_bps * 10_000.0 / mid
        seen = [i for i, e in enumerate(self.exposure_s) if e > 0]
        data = None
        if seen:
            deltas = [self._depth_s[i] / self.exposure_s[i] * mid / 10_000.0 for i in seen]
            data = fit_intensity(deltas, [self.fills[i] for i in seen], [self.exposure_s[i] for i in seen])
        if data is None:
            return prior_a, prior_k
        n = math.fsum(self.fills)
        w = n / (n + self._prior_fills)
        a = math.exp(w * math.log(data[0]) + (1 - w) * math.log(prior_a))
        return a, w * data[1] + (1 - w) * prior_k


__all__ = ["EDGES_BPS", "IntensityCalibrator"]
