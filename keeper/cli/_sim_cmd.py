"""`keeper sim SCENARIO --strategy keeper|as|fixed [--report DIR] [--json]` and `keeper sim --compare`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import msgspec

from keeper.sim import STRATEGIES, Scenario, ScenarioError, compare, parse_scenario, simulate
from keeper.simtools.catalog import SHIPPED, shipped_scenario, shipped_scenarios


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = commands.add_parser(
        "sim",
        help="simulate a scenario with one strategy, or compare all strategies",
        description=f"SCENARIO is a TOML file or a shipped name ({', '.join(SHIPPED)}).",
    )
    sim.add_argument("scenario", nargs="?", help="scenario TOML file or shipped name")
    sim.add_argument("--strategy", choices=STRATEGIES, default="keeper")
    sim.add_argument("--seed", type=int, help="override the scenario's seed")
    sim.add_argument("--duration-s", type=float, help="override the scenario's duration")
    sim.add_argument("--report", type=Path, metavar="DIR", help="write summary JSON, series and PNG plots")
    sim.add_argument("--json", action="store_true", help="print one JSON object (the summary)")
    sim.add_argument(
        "--compare",
        action="store_true",
        help="all strategies on the scenario (default: every shipped scenario), as a table",
    )
    sim.add_argument(
        "--seeds", type=int, default=0, help="with --compare: this many extra seeds per scenario"
    )
    sim.set_defaults(handler=run)


def load(ref: str) -> Scenario:
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"{ref}: cannot read: {exc.strerror}") from exc
        return parse_scenario(text, str(path))
    return shipped_scenario(ref)


def _override(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    if args.duration_s is not None:
        if args.duration_s <= 0:
            raise ScenarioError("--duration-s must be positive")
        scenario = msgspec.structs.replace(scenario, duration_s=args.duration_s)
    return scenario


def run(args: argparse.Namespace) -> int:
    try:
        if args.compare:
            refs = [args.scenario] if args.scenario else None
            scenarios = [load(r) for r in refs] if refs else shipped_scenarios()
            scenarios = [_override(s, args) for s in scenarios]
            base = [args.seed] if args.seed is not None else [None]
            seeds = base + [1000 + i for i in range(args.seeds)]
            rows = compare(scenarios, seeds)
            from keeper.simtools import report as sim_report  # noqa: PLC0415 (matplotlib loads only when needed)

            if args.json:
                print(msgspec.json.encode([msgspec.to_builtins(r) for r in rows]).decode())
            else:
                print(sim_report.format_comparison_table(rows))
            if args.report:
                sim_report.write_comparison(rows, args.report)
            return 0 if all(r.keeper_wins for r in rows) else 1
        if not args.scenario:
            print("keeper sim: a SCENARIO is required (or --compare)", file=sys.stderr)
            return 2
        scenario = _override(load(args.scenario), args)
    except ScenarioError as exc:
        print(f"keeper sim: {exc}", file=sys.stderr)
        return 2
    result = simulate(scenario, args.strategy, args.seed)
    if args.report:
        from keeper.simtools import report as sim_report  # noqa: PLC0415 (matplotlib loads only when needed)

        sim_report.write_report(result, args.report)
    if args.json:
        print(msgspec.json.encode(result.summary).decode())
    else:
        s = result.summary
        print(
            f"{s.scenario} / {s.strategy} / seed {s.seed} ({s.venue} venue, {s.duration_s / 3600:g} h): "
            f"pnl {s.pnl:.2f}, sharpe {s.sharpe:.1f}, max |inventory| {s.max_abs_inventory:.3f}, "
            f"fills {s.fills} ({s.arb_fills} to arbitrageurs), funding paid {s.funding_paid:.2f}, "
            f"gas {s.gas_spent:.2f}, fees {s.fees_paid:.2f}, liquidations {s.liquidations}"
        )
        if args.report:
            print(f"report written to {args.report}")
    return 0
