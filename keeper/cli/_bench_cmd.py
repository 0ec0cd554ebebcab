"""`keeper bench [--only NAME] [--json]`: speed goals measured against the peer in the same run."""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Callable

from keeper.bench import hl_signing, mempool, sim_speed, tx_throughput

GOAL_SINGLE_US = 45.0
GOAL_TX_PER_S = 300.0
GOAL_DECODED_PER_S = 5000.0
GOAL_SIM_DAY_S = 30.0
SECTIONS = ("signing", "mempool", "tx", "sim")


def bench(args: argparse.Namespace) -> int:
    chosen = SECTIONS if args.only is None else (args.only,)
    runners: dict[str, Callable[[], dict[str, float]]] = {
        "signing": lambda: hl_signing.run_bench(args.iterations),
        "mempool": mempool.run_bench,
        "tx": tx_throughput.run_bench,
        "sim": sim_speed.run_bench,
    }
    figures: dict[str, float] = {}
    for name in chosen:
        try:
            figures |= runners[name]()
        except hl_signing.SdkUnavailableError as exc:
            print(f"keeper bench: {exc}")
            return 2
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}, sort_keys=True))
        return 0
    print(
        f"keeper bench ({platform.python_implementation()} {platform.python_version()}, {platform.machine()})"
    )
    if "signing" in chosen:
        _signing_table(figures, args.iterations)
    if "mempool" in chosen:
        _mempool_table(figures)
    if "tx" in chosen:
        _tx_table(figures)
    if "sim" in chosen:
        _sim_table(figures)
    return 0


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _signing_table(figures: dict[str, float], iterations: int) -> None:
    print(f"\nHyperliquid L1 action signing ({iterations} iterations)")
    print(f"{'case':<22}{'keeper µs':>12}{'SDK µs':>12}{'SDK/keeper':>12}")
    rows = [
        ("single order", figures["hl_sign_single_us"], figures["sdk_sign_single_us"]),
        ("20-order batch", figures["hl_sign_batch20_us"], figures["sdk_sign_batch20_us"]),
    ]
    for name, ours, sdk in rows:
        print(f"{name:<22}{ours:>12.1f}{sdk:>12.1f}{sdk / ours:>11.1f}x")
    met = figures["hl_sign_single_us"] <= GOAL_SINGLE_US
    print(f"goal: single order <= {GOAL_SINGLE_US:g} µs: {_verdict(met)}")


def _mempool_table(figures: dict[str, float]) -> None:
    print(f"\nMempool watcher: pending txs decoded ({figures['mempool_frames']:.0f} captured anvil frames)")
    print(f"{'case':<34}{'per second':>12}{'µs each':>10}")
    print(f"{'push -> typed DEX/oracle event':<34}{figures['mempool_decoded_per_s']:>12,.0f}"
          f"{figures['mempool_decode_us']:>10.1f}")  # fmt: skip
    print(f"{'push -> PendingTx (codec only)':<34}{1e6 / figures['mempool_codec_us']:>12,.0f}"
          f"{figures['mempool_codec_us']:>10.1f}")  # fmt: skip
    print(f"{'web3.py json + decode_function_input':<34}{1e6 / figures['web3_decode_us']:>12,.0f}"
          f"{figures['web3_decode_us']:>10.1f}   (peer)")  # fmt: skip
    print(f"keeper / web3.py: {figures['web3_over_keeper']:.1f}x")
    met = figures["mempool_decoded_per_s"] >= GOAL_DECODED_PER_S
    print(f"goal: >= {GOAL_DECODED_PER_S:,.0f} decoded/s: {_verdict(met)}")


def _tx_table(figures: dict[str, float]) -> None:
    print(f"\nTransaction manager -> anvil ({figures['tx_count']:.0f} txs, 0.5 s blocks, no nonce gaps)")
    print(f"{'case':<40}{'tx/s':>10}")
    print(f"{'keeper TxManager (gas estimated)':<40}{figures['tx_per_s']:>10.0f}")
    print(f"{'keeper TxManager (gas limit given)':<40}{figures['tx_per_s_gas_given']:>10.0f}")
    print(f"{'web3.py send loop (peer, gas estimated)':<40}{figures['web3_tx_per_s']:>10.0f}")
    print(f"keeper / web3.py: {figures['tx_over_web3']:.1f}x")
    met = figures["tx_per_s"] >= GOAL_TX_PER_S
    print(f"goal: >= {GOAL_TX_PER_S:g} tx/s sustained: {_verdict(met)}")


def _sim_table(figures: dict[str, float]) -> None:
    from keeper.simtools.report import format_comparison_table  # noqa: PLC0415 (loads matplotlib)

    print(f"\nSimulator: one day of one market at 100 ms steps ({figures['sim_day_steps']:,.0f} steps)")
    print(f"keeper strategy: {figures['sim_day_s']:.1f} s ({figures['sim_day_us_per_step']:.1f} µs/step, "
          f"{figures['sim_day_fills']:,.0f} fills)")  # fmt: skip
    print(
        f"goal: a simulated day in < {GOAL_SIM_DAY_S:g} s: {_verdict(figures['sim_day_s'] < GOAL_SIM_DAY_S)}"
    )
    print("\nStrategy comparison over the shipped scenarios (their own seeds):")
    print(format_comparison_table(sim_speed.run_comparison()))
