"""Simulator speed: one simulated day of one market at 100 ms steps (goal: under 30 s), and the strategy
comparison over the shipped scenarios, measured in the same run."""

from __future__ import annotations

import time

import msgspec

from keeper.sim import CompareRow, compare, simulate
from keeper.simtools.catalog import shipped_scenario, shipped_scenarios

DAY_S = 86_400.0


def run_bench() -> dict[str, float]:
    day = msgspec.structs.replace(shipped_scenario("calm"), duration_s=DAY_S, step_ms=100.0)
    start = time.perf_counter()
    result = simulate(day, "keeper")
    elapsed = time.perf_counter() - start
    return {
        "sim_day_s": elapsed,
        "sim_day_steps": float(day.steps),
        "sim_day_us_per_step": elapsed / day.steps * 1e6,
        "sim_day_fills": float(result.summary.fills),
    }


def run_comparison() -> list[CompareRow]:
    return compare(shipped_scenarios())
