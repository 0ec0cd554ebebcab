"""Seeded, event-driven market simulator that runs the keeper's own strategy code (`keeper.core.strategy`).

Pure apart from numpy: a scenario (TOML text) and a seed go in, a `SimResult` comes out. Reports and
plots are written by the CLI layer (`keeper.simtools.report`).
"""

from keeper.sim._compare import CompareRow, compare
from keeper.sim._engine import Simulation, simulate
from keeper.sim._makers import STRATEGIES
from keeper.sim._results import SimResult, SimSeries, SimSummary
from keeper.sim._scenario import COMPARISON_STRATEGY, Scenario, ScenarioError, parse_scenario

__all__ = [
    "COMPARISON_STRATEGY",
    "STRATEGIES",
    "CompareRow",
    "Scenario",
    "ScenarioError",
    "SimResult",
    "SimSeries",
    "SimSummary",
    "Simulation",
    "compare",
    "parse_scenario",
    "simulate",
]
