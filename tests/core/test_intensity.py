"""Online fill-intensity calibration: the prior with no data, the truth with enough, forgetting."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from keeper.core.intensity import IntensityCalibrator
from keeper.core.order_diff import LiveOrder
from keeper.core.types import Side

MID = 2_000.0


def quotes(depths_bps: list[float]) -> list[LiveOrder]:
    return [
        LiveOrder(
            order_id=f"o{i}",
            side=Side.BUY,
            price=Decimal(repr(round(MID * (1 - d / 10_000.0), 6))),
            size=Decimal(1),
        )
        for i, d in enumerate(depths_bps)
    ]


def test_without_evidence_the_fit_is_the_prior() -> None:
    calibrator = IntensityCalibrator(1.0, 0.2)
    a, k = calibrator.fit(MID)
    assert a == pytest.approx(1.0, rel=1e-9)
    assert k == pytest.approx(0.2 * 10_000.0 / MID, rel=1e-9)  # per quote unit at this mid


def test_our_fills_pull_the_fit_to_the_truth() -> None:
    """Quotes resting in every bucket, filled as a Poisson process with A = 0.3/s, k = 0.4/bp:
    the fit leaves a wrong prior (A = 1, k = 0.1/bp) and lands near the truth."""
    true_a, true_k_bps = 0.3, 0.4
    rng = random.Random(7)
    calibrator = IntensityCalibrator(1.0, 0.1, half_life_s=1e9)
    depths = [0.5, 1.5, 2.5, 4.0, 6.5, 10.5, 17.0, 27.5]  # inside each bucket
    live = quotes(depths)
    now = 0.0
    for _ in range(20_000):  # 1 s decisions: ~5.5 h of quoting
        calibrator.observe(live, MID, now)
        for depth in depths:
            if rng.random() < true_a * math.exp(-true_k_bps * depth):
                calibrator.fill(MID * (1 - depth / 10_000.0), MID)
        now += 1.0
    a, k = calibrator.fit(MID)
    k_bps = k * MID / 10_000.0
    fills = calibrator.observed_fills
    print(f"\nfit A {a:.3f} (true {true_a}), k {k_bps:.3f}/bp (true {true_k_bps}) from {fills} fills")
    assert a == pytest.approx(true_a, rel=0.25)
    assert k_bps == pytest.approx(true_k_bps, rel=0.25)


def test_old_evidence_fades() -> None:
    calibrator = IntensityCalibrator(1.0, 0.2, half_life_s=60.0)
    calibrator.observe(quotes([0.0]), MID, 0.0)
    for _ in range(50):
        calibrator.fill(MID, MID)
    calibrator.observe(quotes([0.0]), MID, 1.0)
    fresh = calibrator.fills[0]
    calibrator.observe(quotes([0.0]), MID, 601.0)  # ten half-lives later
    assert calibrator.fills[0] == pytest.approx(fresh / 1024, rel=1e-6)


def test_bad_mids_are_ignored() -> None:
    calibrator = IntensityCalibrator(1.0, 0.2)
    calibrator.fill(2_000.0, math.nan)
    calibrator.observe(quotes([1.0]), math.inf, 0.0)
    assert calibrator.observed_fills == 0
