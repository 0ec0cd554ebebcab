"""`keeper bench [--json]`: speed goals measured against the peer in the same run."""

from __future__ import annotations

import argparse
import json
import platform

from keeper.bench.hl_signing import SdkUnavailableError, run_bench

GOAL_SINGLE_US = 45.0


def bench(args: argparse.Namespace) -> int:
    try:
        figures = run_bench(args.iterations)
    except SdkUnavailableError as exc:
        print(f"keeper bench: {exc}")
        return 2
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}, sort_keys=True))
        return 0
    print(
        f"Hyperliquid L1 action signing ({args.iterations} iterations, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()})"
    )
    print(f"{'case':<22}{'keeper µs':>12}{'SDK µs':>12}{'SDK/keeper':>12}")
    rows = [
        ("single order", figures["hl_sign_single_us"], figures["sdk_sign_single_us"]),
        ("20-order batch", figures["hl_sign_batch20_us"], figures["sdk_sign_batch20_us"]),
    ]
    for name, ours, sdk in rows:
        print(f"{name:<22}{ours:>12.1f}{sdk:>12.1f}{sdk / ours:>11.1f}x")
    verdict = "met" if figures["hl_sign_single_us"] <= GOAL_SINGLE_US else "NOT met"
    print(f"goal: single order <= {GOAL_SINGLE_US:g} µs: {verdict}")
    return 0
