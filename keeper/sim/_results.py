"""What a run measured: the summary a desk compares strategies on, and the series behind the plots.

- pnl: equity at the end (cash + position marked at the true mid) minus equity at the start, after
  fees, gas and funding.
- sharpe: mean / standard deviation of the one-minute changes of marked equity, annualised by
  √(525,600 minutes a year); 0 when equity never moved.
- max_abs_inventory: the largest |position| sampled (base units), sampled every `record_every_s`
  and at each fill.
- funding_paid: sum of funding payments (> 0: we paid); gas_spent: quote currency paid for our
  transactions; fees_paid: maker and taker fees (< 0: net rebates).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import msgspec

from keeper.sim._scenario import Scenario

MINUTES_PER_YEAR = 525_600.0


class SimSummary(msgspec.Struct, frozen=True, kw_only=True):
    scenario: str
    strategy: str
    seed: int
    venue: str
    duration_s: float
    pnl: float
    sharpe: float
    max_abs_inventory: float
    final_position: float
    funding_paid: float
    gas_spent: float
    fees_paid: float
    fills: int
    arb_fills: int
    maker_volume: float
    taker_volume: float
    liquidations: int
    hedges: int
    funding_unwinds: int
    txs: int
    mean_inclusion_s: float
    max_drawdown: float
    denied_orders: int
    halted_decisions: int
    reducing_decisions: int
    post_only_rejects: int
    # The order ledger's view (the same trading core as live): outcomes and reconciliation.
    unknown_outcomes: int = 0
    refused_replaces: int = 0
    reconciliations: int = 0
    position_corrections: int = 0


class SimSeries(msgspec.Struct, frozen=True, kw_only=True):
    t_s: list[float]
    mid: list[float]
    position: list[float]
    pnl: list[float]
    gas_spent: list[float]
    funding_paid: list[float]
    quoted_half_spread_bps: list[float]  # NaN while a side is empty
    next_base_fee_gwei: list[float]
    funding_rate_bps: list[float]


class SimResult(msgspec.Struct, frozen=True, kw_only=True):
    summary: SimSummary
    series: SimSeries


class Recorder:
    """Accumulates one run's counters and samples."""

    def __init__(self, scenario: Scenario, strategy: str, seed: int) -> None:
        self.scenario = scenario
        self.strategy = strategy
        self.seed = seed
        self.start_equity = scenario.account.collateral
        self.counts: Counter[str] = Counter()
        self.gas_spent = 0.0
        self.funding_paid = 0.0
        self.fees_paid = 0.0
        self.maker_volume = 0.0
        self.taker_volume = 0.0
        self.inclusion_total = 0.0
        self.max_abs = abs(scenario.account.start_position)
        self._position = scenario.account.start_position
        self.t: list[float] = []
        self.mid: list[float] = []
        self.position: list[float] = []
        self.pnl: list[float] = []
        self.gas_series: list[float] = []
        self.funding_series: list[float] = []
        self.half_spread: list[float] = []
        self.base_fee: list[float] = []
        self.funding_rate: list[float] = []

    def fill(self, size: float, price: float, fee: float, liquidity: str) -> None:
        self.fees_paid += fee
        self.counts["fills"] += 1
        if liquidity == "arb":
            self.counts["arb_fills"] += 1
        if liquidity == "taker":
            self.taker_volume += size * price
        else:
            self.maker_volume += size * price

    def position_now(self, position: float) -> None:
        self.max_abs = max(self.max_abs, abs(position))

    def gas(self, cost: float, inclusion_s: float) -> None:
        self.gas_spent += cost
        self.inclusion_total += inclusion_s
        self.counts["included"] += 1

    def funding(self, payment: float) -> None:
        self.funding_paid += payment

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def decision(self, state: str, denied: int) -> None:
        self.counts[f"state_{state}"] += 1
        self.counts["denied"] += denied

    def sample(
        self,
        *,
        t: float,
        mid: float,
        position: float,
        equity: float,
        half_spread_bps: float,
        base_fee_gwei: float,
        funding_rate: float,
    ) -> None:
        self.max_abs = max(self.max_abs, abs(position))
        self.t.append(t)
        self.mid.append(mid)
        self.position.append(position)
        self.pnl.append(equity - self.start_equity)
        self.gas_series.append(self.gas_spent)
        self.funding_series.append(self.funding_paid)
        self.half_spread.append(half_spread_bps)
        self.base_fee.append(base_fee_gwei)
        self.funding_rate.append(funding_rate * 10_000.0)

    def result(self, final_equity: float, final_position: float) -> SimResult:
        s = self.scenario
        self.max_abs = max(self.max_abs, abs(final_position))
        per_minute = max(1, round(60.0 / s.record_every_s))
        marks = [*self.pnl[::per_minute], final_equity - self.start_equity]
        c = self.counts
        summary = SimSummary(
            scenario=s.name,
            strategy=self.strategy,
            seed=self.seed,
            venue=s.venue.kind,
            duration_s=s.duration_s,
            pnl=final_equity - self.start_equity,
            sharpe=sharpe(marks),
            max_abs_inventory=self.max_abs,
            final_position=final_position,
            funding_paid=self.funding_paid,
            gas_spent=self.gas_spent,
            fees_paid=self.fees_paid,
            fills=c["fills"],
            arb_fills=c["arb_fills"],
            maker_volume=self.maker_volume,
            taker_volume=self.taker_volume,
            liquidations=c["liquidations"],
            hedges=c["hedges"],
            funding_unwinds=c["funding_unwinds"],
            txs=c["txs"],
            mean_inclusion_s=self.inclusion_total / c["included"] if c["included"] else 0.0,
            max_drawdown=max_drawdown(self.pnl),
            denied_orders=c["denied"],
            halted_decisions=c["state_halted"],
            reducing_decisions=c["state_reducing"],
            post_only_rejects=c["post_only_rejects"],
            unknown_outcomes=c["unknown_outcomes"],
            refused_replaces=c["refused_replaces"],
            reconciliations=c["reconciliations"],
            position_corrections=c["position_corrections"],
        )
        series = SimSeries(
            t_s=self.t,
            mid=self.mid,
            position=self.position,
            pnl=self.pnl,
            gas_spent=self.gas_series,
            funding_paid=self.funding_series,
            quoted_half_spread_bps=self.half_spread,
            next_base_fee_gwei=self.base_fee,
            funding_rate_bps=self.funding_rate,
        )
        return SimResult(summary=summary, series=series)


def sharpe(marks: list[float]) -> float:
    """Annualised Sharpe of one-minute equity changes (marks one minute apart)."""
    diffs = [b - a for a, b in itertools.pairwise(marks)]
    if len(diffs) < 2:
        return 0.0
    mean = sum(diffs) / len(diffs)
    var = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
    if var <= 0:
        return 0.0
    return mean / math.sqrt(var) * math.sqrt(MINUTES_PER_YEAR)


def max_drawdown(pnl: list[float]) -> float:
    """Largest fall of marked equity from a previous high (quote currency)."""
    peak, worst = -math.inf, 0.0
    for x in pnl:
        peak = max(peak, x)
        worst = max(worst, peak - x)
    return worst
