"""The scenarios shipped with the keeper (`keeper/sim/scenarios/*.toml`), found by name or path."""

from __future__ import annotations

from importlib import resources

from keeper.sim import Scenario, ScenarioError, parse_scenario

SHIPPED = ("calm", "trend", "oracle_jumps", "gas_spike", "funding_flip", "congested_mempool")


def shipped_scenario(name: str) -> Scenario:
    """A shipped scenario by name (e.g. `calm`)."""
    if name not in SHIPPED:
        raise ScenarioError(f"no shipped scenario {name!r}; shipped: {', '.join(SHIPPED)}")
    text = resources.files("keeper.sim").joinpath("scenarios", f"{name}.toml").read_text(encoding="utf-8")
    return parse_scenario(text, f"{name}.toml")


def shipped_scenarios() -> list[Scenario]:
    return [shipped_scenario(name) for name in SHIPPED]
