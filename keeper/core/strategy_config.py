"""The strategy's one schema and the one builder of its `MakerParams`, for the live process and the simulator.

A deployment's `[strategy]` (re-exported by `keeper.config`) and a scenario's `[strategy]` (`keeper.sim`)
decode into the same `StrategyConfig`, and `maker_params` turns it, with what only the venue knows (tick,
lot, a price) and the position notional limit of the risk section, into the maker's `MakerParams`. A
scenario and a deployment with the same `[strategy]` therefore run the very same maker.

The schema lives in the pure core because the core may not import `keeper.config` and the live code may
not import `keeper.sim`. Every range the core refuses (`QuoteParams`, `HedgeParams`, `SlicePolicy`, the
volatility estimate) is a `msgspec.Meta` on the field, so a bad value is refused at decode time naming
the field; what depends on the venue's numbers is checked by `maker_params`, which raises
`StrategyError` naming the field.

Units are in the names: `_bps` of the mid (or of traded notional for fees), `_s` seconds, `_pct`
percent, `_usd` quote currency; sizes are base units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from keeper.core.funding_plan import SlicePolicy
from keeper.core.quote import QuoteParams, QuoterName
from keeper.core.strategy import FundingUnwindParams, HedgeParams, MakerParams

# keeper.config's `Name` uses this pattern too (one pattern, one friendly error text).
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"
# Below this a quoting or reconciling loop spins instead of waiting.
LOOP_INTERVAL_MIN_S = 0.05
# Edits the running process cannot apply: another venue or market is another account and book, another
# quoter another strategy, and the initial volatility only seeds the estimate at start.
RESTART_ONLY = ("venue", "market", "kind", "initial_vol_daily_pct")

Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Bps = Annotated[float, msgspec.Meta(ge=0, le=10_000)]
# Fee rates beyond ±1 % of notional are a typo, not a fee schedule.
FeeBps = Annotated[float, msgspec.Meta(ge=-100, le=100)]
Name = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
Market = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9@:/_\-]{1,32}$")]
LoopInterval = Annotated[float, msgspec.Meta(ge=LOOP_INTERVAL_MIN_S)]


class _Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for every strategy section: frozen, unknown keys are errors."""


class IntensityConfig(_Section, frozen=True, kw_only=True):
    """Prior of the fill intensity λ(δ) = A·e^(−kδ), and its online calibration from our own fills."""

    touch_rate_per_s: Positive = 1.0  # A: fills per second of a quote resting at the touch (δ = 0)
    # How far from the mid takers' depth decays by 1/e, in bps: k = 1 / (depth_bps / 1e4 · mid), taken at
    # the price the maker is built at (the first mid; the mid of an applied edit).
    depth_bps: Annotated[float, msgspec.Meta(gt=0, le=10_000)] = 5.0
    # Re-fit (A, k) every minute from how often our quotes at each depth were filled, blended with the
    # values above by fill count. Off by default: over the shipped scenarios it cost the keeper Sharpe
    # (arbitraged stale quotes count as fills at depth and flatten k).
    calibrate: bool = False
    prior_fills: Positive = 200.0  # how many of our fills the prior is worth


class KeeperLayersConfig(_Section, frozen=True, kw_only=True):
    """The `keeper` quoter's own terms; the `as` and `fixed` baselines ignore them."""

    adverse_selection_mult: NonNegative = 1.0  # c of the c·σ·√τ half-spread term (τ: settlement delay)
    # Expected fills per order placed (0, 1]: amortises gas into the spread floor, and prices a requote.
    fill_ratio: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.3
    size_ref_move: Positive = 0.0015  # relative move over τ (a fraction of the mid) at which sizes halve
    gas_size_sensitivity: NonNegative = 1.0  # sizes × 1 / (1 + this · (gas level − 1)) above a calm 1
    max_funding_shift_bps: Bps = 5.0  # cap of the funding drift's shift of the reservation price, bps
    # Sizes that grow |position| taper to 0 at this fraction of max_position (and the skew steepens).
    soft_position_frac: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.15
    # Decide at once, off the timer, when the mid moved this many bps since the last decision (those
    # actions go at cancel priority); None: the timer only.
    jump_trigger_bps: Positive | None = 5.0


class HedgeConfig(_Section, frozen=True, kw_only=True):
    """The `keeper` quoter's laddered partial hedge: IOC slices once the position passes a trigger."""

    # Hedge once |position| passes this fraction (0, 1] of max_position ...
    trigger: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.3
    # ... back toward this fraction [0, 1) of the trigger level.
    target: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.5
    slice_size: Positive | None = None  # base units per IOC slice; None: order_size (at least a lot)
    interval_s: NonNegative = 2.0  # seconds between two slices (the book refills in between)


class UnwindConfig(_Section, frozen=True, kw_only=True):
    """The `keeper` quoter's funding planner: cut the position before a snapshot when that pays."""

    enabled: bool = True  # False: never ask the planner
    plan_window_s: Positive = 300.0  # ask once the next funding snapshot is this close, seconds
    half_spread_bps: Bps = 1.0  # the book's half-spread an IOC slice crosses, bps of notional
    # Linear impact: one slice of impact_ref_notional_usd moves the price this many bps.
    impact_bps_at_ref: Bps = 0.0
    impact_ref_notional_usd: Positive = 10_000.0
    max_slices: Annotated[int, msgspec.Meta(ge=1, le=100)] = 4  # a cut is at most this many IOC slices
    slice_interval_s: NonNegative = 10.0  # seconds between slices
    safety_s: NonNegative = 20.0  # the last slice goes out at least this long before the snapshot


class StrategyConfig(_Section, frozen=True, kw_only=True):
    """Every knob of the market maker: a deployment's `[strategy]`, and a scenario's."""

    # Base units per quote. At least the venue's lot, at most max_position, and within
    # risk.max_order_notional_usd at the price when it is known: else nothing quotes.
    order_size: Positive
    kind: Literal["keeper", "as", "fixed"] = "keeper"  # the quoter; the simulator takes it from --strategy
    # The [venues] entry to quote on and its market; no venue: the keeper runs its chain duties only.
    # The simulator ignores `venue`.
    venue: Name | None = None
    market: Market = "ETH"
    levels: Annotated[int, msgspec.Meta(ge=1, le=20)] = 1  # quotes per side
    level_spacing: NonNegative = 0.5  # each deeper level sits this fraction of the half-spread further out
    risk_aversion: Positive = 0.1  # γ of the GLFT / A–S reservation price, per quote currency
    horizon_s: Positive = 60.0  # the A–S baseline's T − t; the keeper's cap on its funding horizon, seconds
    eta: NonNegative = 0.0  # Hummingbot's order-size shape factor η (0: flat sizes)
    fixed_half_spread_bps: Positive = 10.0  # the `fixed` quoter's half-spread, bps of the mid
    # Fair price = (1 − w)·mid + w·oracle, w in [0, 1].
    oracle_weight: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    # |position| limit in base units; None: risk.max_position_notional_usd at the price the maker is built
    # at (the first mid, and again at the mid of each applied [strategy] or position-limit edit).
    max_position: Positive | None = None
    requote_interval_s: LoopInterval = 1.0  # seconds between two decisions (a jump decides at once)
    # A Hyperliquid snapshot costs ~42 of the 1,200 weight a minute; unknown outcomes and stream gaps
    # reconcile at once anyway. Not below requote_interval_s. The simulator does not reconcile.
    reconcile_interval_s: LoopInterval = 10.0
    refresh_tolerance_bps: Bps = 1.0  # keep a live order whose price is this close to the desired one
    size_tolerance: NonNegative = 0.25  # ... and whose size is within this fraction of the desired one
    # Fees the maker prices in when the venue does not report them, bps of notional (< 0: a rebate).
    maker_fee_bps: FeeBps = 1.5
    taker_fee_bps: Annotated[float, msgspec.Meta(ge=0, le=100)] = 4.5  # what hedge and unwind IOCs pay
    initial_vol_daily_pct: Annotated[float, msgspec.Meta(ge=0, le=1_000)] = 0.5  # σ until the EWMA has data
    vol_half_life_s: Positive = 300.0  # half-life of the EWMA volatility estimate, seconds
    intensity: IntensityConfig = IntensityConfig()
    keeper: KeeperLayersConfig = KeeperLayersConfig()
    hedge: HedgeConfig = HedgeConfig()
    unwind: UnwindConfig = UnwindConfig()


class StrategyError(ValueError):
    """A strategy the maker cannot run with the venue's numbers; `field` is its dotted path."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def maker_params(
    strategy: StrategyConfig,
    *,
    tick: Decimal,
    lot: Decimal,
    mid: float,
    max_position_notional_usd: float,
    market: str | None = None,
    quoter: QuoterName | None = None,
    maker_fee_bps: float | None = None,
    taker_fee_bps: float | None = None,
) -> MakerParams:
    """The maker `strategy` describes, on a market of `tick` and `lot` priced at `mid`.

    `mid` sizes what is given in bps or notional (intensity k, an unset max_position); `market` names the
    venue's market (default `strategy.market`); `quoter` overrides `strategy.kind` (the simulator's
    comparison runs all three); the fee rates are the venue's when it reports them, else the strategy's.

    Raises:
        StrategyError: the strategy cannot quote on these numbers (the field is named).
    """
    if not (0 < mid < float("inf")) or not max_position_notional_usd > 0 or tick <= 0 or lot <= 0:
        raise ValueError("need a positive finite mid, tick, lot and position notional")
    st, k = strategy, strategy.keeper
    if Decimal(repr(st.order_size)) < lot:
        raise StrategyError(
            "strategy.order_size",
            f"{st.order_size:g} is below the lot {lot}: every quote would round to zero",
        )
    max_position = st.max_position
    if max_position is None:
        max_position = max_position_notional_usd / mid
    elif max_position < st.order_size:
        raise StrategyError(
            "strategy.max_position",
            f"{max_position:g} is below strategy.order_size ({st.order_size:g}): the maker could never quote",
        )
    name = st.kind if quoter is None else quoter
    keeper = name == "keeper"
    quote = QuoteParams(
        tick=tick,
        lot=lot,
        order_size=st.order_size,
        max_position=max_position,
        levels=st.levels,
        level_spacing=st.level_spacing,
        gamma=st.risk_aversion,
        intensity_a=st.intensity.touch_rate_per_s,
        intensity_k=1.0 / (st.intensity.depth_bps / 10_000.0 * mid),
        horizon_s=st.horizon_s,
        eta=st.eta,
        adverse_selection_mult=k.adverse_selection_mult,
        maker_fee_rate=(st.maker_fee_bps if maker_fee_bps is None else maker_fee_bps) / 10_000.0,
        fill_ratio=k.fill_ratio,
        size_ref_move=k.size_ref_move,
        gas_size_sensitivity=k.gas_size_sensitivity,
        max_funding_shift=k.max_funding_shift_bps / 10_000.0,
        oracle_weight=st.oracle_weight,
        fixed_half_spread_bps=st.fixed_half_spread_bps,
        soft_position=k.soft_position_frac * max_position,
    )
    u = st.unwind
    unwind = FundingUnwindParams(
        plan_window_s=u.plan_window_s,
        taker_fee_bps=st.taker_fee_bps if taker_fee_bps is None else taker_fee_bps,
        half_spread_bps=u.half_spread_bps,
        impact_bps_at_ref=u.impact_bps_at_ref,
        impact_ref_notional=u.impact_ref_notional_usd,
        slice_policy=SlicePolicy(
            lot_size=lot, max_slices=u.max_slices, slice_interval_s=u.slice_interval_s, safety_s=u.safety_s
        ),
    )
    h = st.hedge
    hedge = HedgeParams(
        trigger=h.trigger,
        target=h.target,
        slice_size=max(st.order_size, float(lot)) if h.slice_size is None else h.slice_size,
        interval_s=h.interval_s,
    )
    return MakerParams(
        quoter=name,
        quote=quote,
        market=st.market if market is None else market,
        refresh_tolerance_bps=st.refresh_tolerance_bps,
        size_tolerance=st.size_tolerance,
        cost_aware_requote=keeper,
        hedge=hedge if keeper else None,
        funding_unwind=unwind if keeper and u.enabled else None,
        vol_half_life_s=st.vol_half_life_s,
        initial_sigma=st.initial_vol_daily_pct / 100.0 / 86_400.0**0.5,
        intensity_refit_s=60.0 if st.intensity.calibrate else None,
        intensity_prior_fills=st.intensity.prior_fills,
        jump_trigger_bps=k.jump_trigger_bps if keeper else None,
    )


def built_at_mid(params: MakerParams, strategy: StrategyConfig) -> float:
    """The mid `params` were built at from `strategy` (`maker_params` sets k = 1 / (depth · mid))."""
    return 1.0 / (params.quote.intensity_k * strategy.intensity.depth_bps / 10_000.0)


__all__ = [
    "LOOP_INTERVAL_MIN_S",
    "NAME_PATTERN",
    "RESTART_ONLY",
    "HedgeConfig",
    "IntensityConfig",
    "KeeperLayersConfig",
    "StrategyConfig",
    "StrategyError",
    "UnwindConfig",
    "built_at_mid",
    "maker_params",
]
