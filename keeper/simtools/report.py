"""Simulator reports: JSON and PNG files a person reads at a glance, plus a strategy comparison table.

`write_report` turns one `SimResult` into `summary.json`, `series.json` and four plots (PnL, inventory,
spread vs gas, funding); `write_comparison` and `format_comparison_table` do the same for the rows of
`keeper.sim.compare`. Plots use matplotlib's object API on the Agg canvas: no pyplot, no global figure
state, no display. In `series.json` NaN (a side of the book empty) is written as `null`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from keeper.sim import CompareRow, SimResult, SimSummary

FIGSIZE = (9.0, 4.0)
DPI = 100
SECONDS_PER_HOUR = 3600.0
METRICS = ("sharpe", "max_inv", "pnl", "gas", "funding")


def write_report(result: SimResult, directory: Path) -> list[Path]:
    """Write summary.json, series.json, pnl.png, inventory.png, spread_vs_gas.png and funding.png."""
    directory.mkdir(parents=True, exist_ok=True)
    summary, series = result.summary, result.series
    paths = [directory / "summary.json", directory / "series.json"]
    paths[0].write_bytes(msgspec.json.format(msgspec.json.encode(summary)) + b"\n")
    paths[1].write_bytes(msgspec.json.encode(series) + b"\n")
    hours = [t / SECONDS_PER_HOUR for t in series.t_s]

    fig, ax = _figure()
    ax.plot(hours, series.pnl, label="PnL (marked equity change)")
    ax.plot(hours, series.gas_spent, label="cumulative gas spent")
    ax.plot(hours, series.funding_paid, label="cumulative funding paid")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    _label(ax, "quote currency", f"PnL {summary.pnl:+.2f}", summary)
    ax.legend(loc="best")
    paths.append(_save(fig, directory / "pnl.png"))

    fig, ax = _figure()
    ax.plot(hours, series.position, label="position")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    if series.position:
        i = max(range(len(series.position)), key=lambda k: abs(series.position[k]))
        ax.annotate(
            f"max |inventory| = {summary.max_abs_inventory:.4g}",
            xy=(hours[i], series.position[i]),
            xytext=(0.5, 0.9),
            textcoords="axes fraction",
            ha="center",
            arrowprops={"arrowstyle": "->", "color": "black"},
        )
        ax.plot([hours[i]], [series.position[i]], "o", color="C3")
    _label(ax, "position (base units)", "Inventory", summary)
    paths.append(_save(fig, directory / "inventory.png"))

    fig, ax = _figure()
    spread_line = ax.plot(hours, series.quoted_half_spread_bps, label="quoted half-spread", color="C0")
    if summary.venue == "api":
        _label(ax, "half-spread (bps)", "Spread (API venue: no gas)", summary)
        ax.legend(loc="upper left")
    else:
        _label(ax, "half-spread (bps)", "Spread vs gas", summary)
        gas_ax = ax.twinx()
        fee_line = gas_ax.plot(hours, series.next_base_fee_gwei, label="next base fee", color="C1")
        gas_ax.set_ylabel("next base fee (gwei)")
        _legend(fig, spread_line + fee_line)
    paths.append(_save(fig, directory / "spread_vs_gas.png"))

    fig, ax = _figure()
    rate_line = ax.plot(hours, series.funding_rate_bps, label="funding rate", color="C0")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    _label(ax, "funding rate (bps per interval)", f"Funding paid {summary.funding_paid:+.2f}", summary)
    paid_ax = ax.twinx()
    paid_line = paid_ax.plot(hours, series.funding_paid, label="cumulative funding paid", color="C2")
    paid_ax.set_ylabel("funding paid (quote currency)")
    _legend(fig, rate_line + paid_line)
    paths.append(_save(fig, directory / "funding.png"))
    return paths


def write_comparison(rows: Sequence[CompareRow], directory: Path) -> Path:
    """Write comparison.json and comparison.png (Sharpe and max |inventory| per scenario and strategy)."""
    directory.mkdir(parents=True, exist_ok=True)
    records = [
        {"scenario": r.scenario, "seed": r.seed, "keeper_wins": _wins(r), "results": r.results} for r in rows
    ]
    (directory / "comparison.json").write_bytes(msgspec.json.format(msgspec.json.encode(records)) + b"\n")

    strategies = _strategies(rows)
    fig = _new_figure((FIGSIZE[0], FIGSIZE[1] * 2))
    sharpe_ax, inv_ax = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(rows), dtype=float)
    width = 0.8 / max(1, len(strategies))
    for k, name in enumerate(strategies):
        offset = x - 0.4 + width * (k + 0.5)
        sharpe = [r.results[name].sharpe if name in r.results else math.nan for r in rows]
        inv = [r.results[name].max_abs_inventory if name in r.results else math.nan for r in rows]
        sharpe_ax.bar_label(sharpe_ax.bar(offset, sharpe, width, label=name), fmt="%.3g", fontsize=7)
        inv_ax.bar_label(inv_ax.bar(offset, inv, width, label=name), fmt="%.3g", fontsize=7)
    sharpe_ax.axhline(0.0, color="grey", linewidth=0.8)
    sharpe_ax.set_ylabel("Sharpe (annualised)")
    sharpe_ax.set_title("Sharpe per scenario (higher is better)")
    sharpe_ax.legend(loc="best")
    inv_ax.set_ylabel("max |inventory| (base units)")
    inv_ax.set_title("Max |inventory| per scenario (lower is better)")
    inv_ax.set_xticks(x, [f"{r.scenario}\nseed {r.seed}" for r in rows])
    inv_ax.set_xlabel("scenario")
    wins = sum(_wins(r) is True for r in rows)
    fig.suptitle(f"Strategy comparison: keeper wins {wins} of {len(rows)} rows")
    return _save(fig, directory / "comparison.png")


def format_comparison_table(rows: Sequence[CompareRow]) -> str:
    """A markdown pipe table: scenario, seed, per strategy sharpe/max_inv/pnl/gas/funding, keeper wins."""
    strategies = _strategies(rows)
    header = ["scenario", "seed", *(f"{s} {m}" for s in strategies for m in METRICS), "keeper wins"]
    lines = [_row(header), _row(["---"] * len(header))]
    for r in rows:
        cells = [r.scenario, str(r.seed)]
        for name in strategies:
            cells += _cells(r.results.get(name))
        win = _wins(r)
        cells.append("n/a" if win is None else "yes" if win else "no")
        lines.append(_row(cells))
    baselines = [s for s in strategies if s != "keeper"]
    which = "both baselines" if len(baselines) == 2 else f"all {len(baselines)} baselines"
    wins = sum(_wins(r) is True for r in rows)
    lines += ["", f"keeper beats {which} in {wins} of {len(rows)} rows"]
    return "\n".join(lines)


def _wins(row: CompareRow) -> bool | None:
    return row.keeper_wins if "keeper" in row.results else None


def _strategies(rows: Sequence[CompareRow]) -> list[str]:
    """Strategy names in order of first appearance."""
    return list(dict.fromkeys(name for r in rows for name in r.results))


def _cells(s: SimSummary | None) -> list[str]:
    if s is None:
        return ["-"] * len(METRICS)
    return [
        f"{s.sharpe:.2f}",
        f"{s.max_abs_inventory:.4f}",
        f"{s.pnl:.2f}",
        f"{s.gas_spent:.2f}",
        f"{s.funding_paid:.2f}",
    ]


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _new_figure(size: tuple[float, float] = FIGSIZE) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _figure() -> tuple[Figure, Axes]:
    fig = _new_figure()
    return fig, fig.add_subplot()


def _label(ax: Axes, ylabel: str, what: str, s: SimSummary) -> None:
    ax.set_title(f"{what} | {s.scenario} / {s.strategy} / seed {s.seed} ({s.venue} venue)")
    ax.set_xlabel("time (hours)")
    ax.set_ylabel(ylabel)
    ax.grid(visible=True, alpha=0.3)


def _legend(fig: Figure, lines: Sequence[Line2D]) -> None:
    """One legend, below the plot, for lines drawn on an axis and its twin."""
    fig.legend(lines, [str(line.get_label()) for line in lines], loc="outside lower center", ncols=len(lines))


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path)
    return path
