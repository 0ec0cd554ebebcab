"""Strategy comparison over scenarios and seeds: does the keeper beat both baselines on Sharpe and on
max inventory in every scenario?"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from keeper.core.quote import QuoterName
from keeper.sim._engine import simulate
from keeper.sim._makers import STRATEGIES
from keeper.sim._results import SimSummary
from keeper.sim._scenario import Scenario


class CompareRow(msgspec.Struct, frozen=True, kw_only=True):
    scenario: str
    seed: int
    results: dict[str, SimSummary]

    @property
    def keeper_wins(self) -> bool:
        """Strictly better Sharpe and strictly smaller max |inventory| than every baseline."""
        k = self.results["keeper"]
        others = [r for name, r in self.results.items() if name != "keeper"]
        return all(k.sharpe > o.sharpe and k.max_abs_inventory < o.max_abs_inventory for o in others)


def compare(
    scenarios: Sequence[Scenario],
    seeds: Sequence[int | None] = (None,),
    strategies: Sequence[QuoterName] = STRATEGIES,
) -> list[CompareRow]:
    """One row per scenario and seed (None: the scenario's own seed)."""
    rows: list[CompareRow] = []
    for scenario in scenarios:
        for seed in seeds:
            results: dict[str, SimSummary] = {
                name: simulate(scenario, name, seed).summary for name in strategies
            }
            used = scenario.seed if seed is None else seed
            rows.append(CompareRow(scenario=scenario.name, seed=used, results=results))
    return rows
