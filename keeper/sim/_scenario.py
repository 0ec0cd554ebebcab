"""Scenario files: one TOML document per market situation, decoded into frozen Structs.

Every field has a default except where a scenario must say what it is; unknown fields are errors that
name the field (a typo must not silently fall back to a default). Units are in the field names
(`_s`, `_ms`, `_bps`, `_pct`, `_gwei`). `docs/scenarios.md` documents each field; keep both in step.

`[strategy]` is a deployment config's `[strategy]` (`keeper.core.strategy_config.StrategyConfig`), so a
scenario and a deployment with the same table run the same maker; the rest describes the world.
"""

from __future__ import annotations

import math
import tomllib
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import msgspec

from keeper.core.strategy_config import (
    HedgeConfig,
    IntensityConfig,
    StrategyConfig,
    StrategyError,
    UnwindConfig,
    maker_params,
)

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message names the file and the field."""


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class MarketSection(_Section, frozen=True, kw_only=True):
    start_price: PositiveFloat = 3000.0
    tick: str = "0.01"
    lot: str = "0.001"
    vol_daily_pct: NonNegativeFloat = 3.0
    drift_daily_pct: float = 0.0
    jump_rate_per_hour: NonNegativeFloat = 0.0
    jump_mean_bps: float = 0.0
    jump_std_bps: NonNegativeFloat = 0.0
    book_half_spread_bps: NonNegativeFloat = 1.0
    impact_bps_per_unit: NonNegativeFloat = 0.5


class OracleSection(_Section, frozen=True, kw_only=True):
    heartbeat_s: PositiveFloat = 60.0
    deviation_bps: NonNegativeFloat = 5.0
    delay_s: NonNegativeFloat = 1.0


class TakerSection(_Section, frozen=True, kw_only=True):
    arrival_rate_per_s: PositiveFloat = 1.0
    depth_mean_bps: PositiveFloat = 3.0
    size_mean: PositiveFloat = 0.2
    informed_threshold_bps: NonNegativeFloat = 0.0


class VenueSection(_Section, frozen=True, kw_only=True):
    kind: Literal["api", "chain"] = "api"
    latency_ms: NonNegativeFloat = 80.0
    latency_jitter_ms: NonNegativeFloat = 40.0
    data_latency_ms: NonNegativeFloat = 50.0
    maker_fee_bps: float = 1.5
    taker_fee_bps: NonNegativeFloat = 4.5
    queue_ahead_mean: NonNegativeFloat = 0.5
    # API venue: the share of requests whose reply is lost (timeout): the venue acts, we learn the
    # outcome only by reconciliation, as live. 0 in the shipped scenarios.
    unknown_outcome_rate: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0


class Window(_Section, frozen=True, kw_only=True):
    start_s: NonNegativeFloat
    duration_s: PositiveFloat


class CongestionWindow(Window, frozen=True, kw_only=True):
    base_fee_gwei: PositiveFloat = 1.0
    tip_gwei: NonNegativeFloat = 2.0


class GasSpike(Window, frozen=True, kw_only=True):
    multiplier: PositiveFloat


class ChainSection(_Section, frozen=True, kw_only=True):
    block_time_s: PositiveFloat = 2.0
    gas_limit: Annotated[int, msgspec.Meta(gt=0)] = 30_000_000
    base_fee_gwei: PositiveFloat = 0.05
    min_base_fee_gwei: PositiveFloat = 0.001
    utilization_std: NonNegativeFloat = 0.1
    tip_gwei: NonNegativeFloat = 0.01
    tip_spread: NonNegativeFloat = 0.3
    native_price_quote: PositiveFloat = 3000.0
    tx_gas: Annotated[int, msgspec.Meta(ge=0)] = 21_000
    place_gas: Annotated[int, msgspec.Meta(ge=0)] = 120_000
    cancel_gas: Annotated[int, msgspec.Meta(ge=0)] = 40_000
    replace_gas: Annotated[int, msgspec.Meta(ge=0)] = 110_000
    take_gas: Annotated[int, msgspec.Meta(ge=0)] = 150_000
    max_batch: Annotated[int, msgspec.Meta(ge=1)] = 10
    fee_cap_gwei: PositiveFloat = 500.0
    bump_pct: Annotated[float, msgspec.Meta(ge=12.5)] = 12.5
    replace_after_s: PositiveFloat = 6.0
    tip_percentile_blocks: Annotated[int, msgspec.Meta(ge=1)] = 10
    congestion: tuple[CongestionWindow, ...] = ()
    spikes: tuple[GasSpike, ...] = ()


class FundingSection(_Section, frozen=True, kw_only=True):
    interval_s: PositiveFloat = 3600.0
    rate_bps: float = 1.0
    noise_bps: NonNegativeFloat = 0.2
    flips_at_s: tuple[float, ...] = ()


class AccountSection(_Section, frozen=True, kw_only=True):
    collateral: PositiveFloat = 100_000.0
    start_position: float = 0.0
    maintenance_margin_pct: Annotated[float, msgspec.Meta(gt=0, lt=100)] = 3.0
    liquidation_penalty_pct: NonNegativeFloat = 1.0


class RiskSection(_Section, frozen=True, kw_only=True):
    """The risk gate's limits, named as a deployment's [risk] names them."""

    max_order_notional_usd: PositiveFloat = 50_000.0  # quote currency per order
    # quote currency; also sizes an unset strategy.max_position at market.start_price
    max_position_notional_usd: PositiveFloat = 100_000.0
    max_leverage: PositiveFloat = 5.0  # position notional / equity
    max_drawdown_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 10.0  # REDUCING at half, HALTED at it


# A scenario without a [strategy] table runs the comparison's strategy: the maker's beliefs (intensity,
# initial volatility, unwind costs) match the default [market] and [takers], and the sizes, spread and
# hedge slice are those the shipped comparison has always used. A [strategy] table replaces it whole:
# every field it omits takes the schema's default, exactly as in a deployment's config.
COMPARISON_STRATEGY = StrategyConfig(
    order_size=0.5,
    max_position=10.0,
    fixed_half_spread_bps=4.0,
    initial_vol_daily_pct=3.0,
    intensity=IntensityConfig(touch_rate_per_s=1.0, depth_bps=3.0),
    hedge=HedgeConfig(slice_size=1.0),
    unwind=UnwindConfig(half_spread_bps=1.0, impact_bps_at_ref=0.5, impact_ref_notional_usd=3000.0),
)


class Scenario(_Section, frozen=True, kw_only=True):
    name: str
    description: str = ""
    seed: Annotated[int, msgspec.Meta(ge=0)] = 0
    duration_s: PositiveFloat = 86_400.0
    step_ms: Annotated[float, msgspec.Meta(ge=1)] = 100.0
    record_every_s: PositiveFloat = 10.0
    market: MarketSection = MarketSection()
    oracle: OracleSection = OracleSection()
    takers: TakerSection = TakerSection()
    venue: VenueSection = VenueSection()
    chain: ChainSection = ChainSection()
    funding: FundingSection = FundingSection()
    account: AccountSection = AccountSection()
    risk: RiskSection = RiskSection()
    # The deployment config's own schema (keeper.core.strategy_config): the maker is built from it by
    # the very function the live process uses.
    strategy: StrategyConfig = COMPARISON_STRATEGY

    @property
    def steps(self) -> int:
        return math.ceil(self.duration_s * 1000.0 / self.step_ms)

    @property
    def dt_s(self) -> float:
        return self.step_ms / 1000.0


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Decode a TOML scenario; errors name the source and the field path."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    try:
        scenario = msgspec.convert(raw, Scenario)
    except msgspec.ValidationError as exc:
        raise ScenarioError(f"{source}: {exc}") from exc
    _check(scenario, source)
    return scenario


def _check(s: Scenario, source: str) -> None:
    for field in ("tick", "lot"):
        value = getattr(s.market, field)
        try:
            ok = Decimal(value) > 0
        except InvalidOperation:
            ok = False
        if not ok:
            raise ScenarioError(f"{source}: market.{field}: must be a positive decimal string, got {value!r}")
    if s.steps < 2:
        raise ScenarioError(f"{source}: duration_s: must cover at least two steps of step_ms")
    if s.record_every_s < s.dt_s:
        raise ScenarioError(f"{source}: record_every_s: must be at least one step ({s.dt_s} s)")
    for i, flip in enumerate(s.funding.flips_at_s):
        if not 0 <= flip <= s.duration_s:
            raise ScenarioError(f"{source}: funding.flips_at_s[{i}]: {flip} is outside the run")
    try:  # what the maker would refuse, refused at load naming the field (as `keeper config check` does)
        maker_params(
            s.strategy,
            tick=Decimal(s.market.tick),
            lot=Decimal(s.market.lot),
            mid=s.market.start_price,
            max_position_notional_usd=s.risk.max_position_notional_usd,
        )
    except StrategyError as exc:
        raise ScenarioError(f"{source}: {exc.field}: {exc.reason}") from None
    except ValueError as exc:
        raise ScenarioError(f"{source}: strategy: {exc}") from None
