"""Exogenous paths of one run, drawn up front from the scenario's seed: price, taker orders, funding, blocks.

Drawing everything before the loop keeps a run deterministic per seed whatever the strategy does (the
strategies of a comparison face the very same market) and lets numpy do the bulk of the random work.

- Price: log-mid with drift μ, volatility σ and compound-Poisson normal jumps, one value per step:
  `x_{i+1} = x_i + (μ − σ²/2)·dt + σ·√dt·Z + Σ J`, σ = vol_daily_pct / 100 / √86400 per √s.
- Takers: per side a Poisson stream of market orders at rate A; each sweeps from mid to a depth
  D ~ Exp(mean = depth_mean_bps), so the rate of orders reaching distance δ is A·e^(−δ/D̄) = A·e^(−kδ)
  (facts §5.1), with size ~ Exp(mean = size_mean).
- Funding: a per-interval rate, a random walk of `noise_bps` around `rate_bps`, whose sign flips at each
  `flips_at_s` (the prediction changes at the flip, the payment at the snapshot after it).
- Blocks (chain venue): the base fee follows EIP-1559 (`keeper.core.gas.next_base_fee`) from each block's
  fullness; demand fills blocks while the fee is under its current level (`base_fee_gwei`, a congestion
  window's, or × a spike's multiplier) and empties them above it, plus noise. A spike jumps the fee at
  its first block and holds it for its duration. Inside a congestion window the block is oversubscribed:
  a tx needs a tip above a lognormal draw around the window's tip; the tip the gas oracle reads is the
  network's typical tip of that block.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import numpy.typing as npt

from keeper.core.gas import next_base_fee
from keeper.sim._scenario import Scenario

GWEI = 10**9
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class TakerOrders(msgspec.Struct, frozen=True, kw_only=True):
    """Taker market orders sorted by step: side +1 buys (lifts asks), −1 sells (hits bids)."""

    step: list[int]
    side: list[int]
    depth_rel: list[float]  # how far from mid the order sweeps, relative to mid
    size: list[float]


class Blocks(msgspec.Struct, frozen=True, kw_only=True):
    """One entry per block; block b is built at `step[b]`."""

    step: list[int]
    base_fee: list[int]  # wei per gas
    gas_used: list[int]
    clearing_tip: list[int]  # a tx needs at least this tip to get in (0: the block has room)
    typical_tip: list[int]  # what fee history shows at the oracle's percentile


class Paths(msgspec.Struct, frozen=True, kw_only=True):
    mid: FloatArray  # length steps + 1
    takers: TakerOrders
    funding_base: list[float]  # per interval, fraction of notional, before the flip sign
    flip_times_s: tuple[float, ...]
    blocks: Blocks | None


def seeded_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent streams for the market paths and for the venue's own randomness (latency jitter,
    queue draws), so a strategy's actions never shift the market it faces."""
    market, venue = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(market), np.random.default_rng(venue)


def draw_paths(s: Scenario, rng: np.random.Generator) -> Paths:
    return Paths(
        mid=_price_path(s, rng),
        takers=_taker_orders(s, rng),
        funding_base=_funding_rates(s, rng),
        flip_times_s=tuple(sorted(s.funding.flips_at_s)),
        blocks=_blocks(s, rng) if s.venue.kind == "chain" else None,
    )


def _price_path(s: Scenario, rng: np.random.Generator) -> FloatArray:
    m, n, dt = s.market, s.steps, s.dt_s
    sigma = m.vol_daily_pct / 100.0 / math.sqrt(86_400.0)
    mu = m.drift_daily_pct / 100.0 / 86_400.0
    increments = (mu - 0.5 * sigma * sigma) * dt + sigma * math.sqrt(dt) * rng.standard_normal(n)
    if m.jump_rate_per_hour > 0:
        counts = rng.poisson(m.jump_rate_per_hour / 3600.0 * dt, n)
        where = np.nonzero(counts)[0]
        for i in where:
            jumps = rng.normal(m.jump_mean_bps, m.jump_std_bps, int(counts[i])) / 10_000.0
            increments[i] += float(jumps.sum())
    log_mid = np.empty(n + 1)
    log_mid[0] = math.log(m.start_price)
    np.cumsum(increments, out=log_mid[1:])
    log_mid[1:] += log_mid[0]
    return np.exp(log_mid)


def _taker_orders(s: Scenario, rng: np.random.Generator) -> TakerOrders:
    t = s.takers
    n = s.steps
    parts: list[tuple[IntArray, IntArray]] = []
    for side in (1, -1):
        count = int(rng.poisson(t.arrival_rate_per_s * s.duration_s))
        steps = rng.integers(0, n, count)
        parts.append((steps, np.full(count, side, dtype=np.int64)))
    step = np.concatenate([p[0] for p in parts])
    side_arr = np.concatenate([p[1] for p in parts])
    order = np.argsort(step, kind="stable")
    total = len(step)
    depth = rng.exponential(t.depth_mean_bps / 10_000.0, total)
    size = rng.exponential(t.size_mean, total)
    return TakerOrders(
        step=step[order].tolist(),
        side=side_arr[order].tolist(),
        depth_rel=depth.tolist(),
        size=size.tolist(),
    )


def _funding_rates(s: Scenario, rng: np.random.Generator) -> list[float]:
    f = s.funding
    intervals = math.ceil(s.duration_s / f.interval_s) + 1
    walk = np.cumsum(rng.normal(0.0, f.noise_bps, intervals)) if f.noise_bps > 0 else np.zeros(intervals)
    rates: list[float] = ((f.rate_bps + walk) / 10_000.0).tolist()
    return rates


def _blocks(s: Scenario, rng: np.random.Generator) -> Blocks:
    c = s.chain
    steps_per_block = max(1, round(c.block_time_s / s.dt_s))
    block_s = steps_per_block * s.dt_s
    count = s.steps // steps_per_block + 1
    times = np.arange(count) * block_s
    noise = rng.normal(0.0, c.utilization_std, count)
    tip_noise = rng.lognormal(0.0, c.tip_spread, count)
    clearing_noise = rng.lognormal(0.0, c.tip_spread, count)
    # The base-fee level demand settles at, and the tip a full block's auction clears at, per block.
    target = np.full(count, c.base_fee_gwei * GWEI)
    tip_level = np.full(count, c.tip_gwei * GWEI)
    clearing = np.zeros(count)
    for w in c.congestion:
        inside = (times >= w.start_s) & (times < w.start_s + w.duration_s)
        target[inside] = w.base_fee_gwei * GWEI
        tip_level[inside] = w.tip_gwei * GWEI
        clearing[inside] = w.tip_gwei * GWEI * clearing_noise[inside]
    jumps: dict[int, float] = {}
    for sp in c.spikes:
        inside = (times >= sp.start_s) & (times < sp.start_s + sp.duration_s)
        target[inside] *= sp.multiplier
        first = int(np.argmax(inside)) if inside.any() else None
        if first is not None:
            jumps[first] = sp.multiplier
    typical = tip_level * tip_noise
    base: list[int] = []
    used: list[int] = []
    fee = int(c.base_fee_gwei * GWEI)
    floor = int(c.min_base_fee_gwei * GWEI)
    step_log = math.log(1.125)
    for b in range(count):
        if b in jumps:
            fee = int(fee * jumps[b])  # a spike lands in one block, as after a sudden burst of demand
        base.append(fee)
        # EIP-1559: fullness moves the fee ≤ 12.5 % a block; demand fills blocks while the fee is under
        # its level and leaves them emptier above it, plus noise.
        pull = max(-1.0, min(1.0, math.log(target[b] / max(fee, 1)) / step_log))
        utilization = min(1.0, max(0.0, 0.5 + 0.5 * pull + float(noise[b])))
        gas = int(utilization * c.gas_limit)
        used.append(gas)
        fee = max(floor, next_base_fee(fee, gas, c.gas_limit))
    return Blocks(
        step=[b * steps_per_block for b in range(count)],
        base_fee=base,
        gas_used=used,
        clearing_tip=[int(x) for x in clearing],
        typical_tip=[max(1, int(x)) for x in typical],
    )
