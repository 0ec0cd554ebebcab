"""Quote engine: desired quotes per side from market state, inventory, gas and the venue's settlement model.

Pure: every input is an argument, so the simulator and the live keeper run this very code. The model math
is in floats; prices and sizes that go on the wire are Decimal, rounded to the venue's tick and lot
(bids down, asks up, sizes down: rounding only ever widens the spread or shrinks the size).

Units: prices and distances δ are in quote currency; `sigma` in a snapshot is the *relative* volatility per
√second (what `keeper.core.calibration.EwmaVolatility` returns), so the price volatility is σ = sigma·s;
inventory q is in base units; γ is per quote currency; k of the fill intensity λ(δ) = A·e^(−kδ) is per
quote currency and A is fills per second (`keeper.core.calibration.fit_intensity`).

Three quoters share the `Quoter` protocol (`make_quoter` names them as the simulator does): `KeeperQuoter`
(`keeper`: GLFT + funding drift + settlement-delay and gas terms), `AvellanedaStoikovQuoter` (`as`: plain
A–S as Hummingbot writes it) and `FixedSpreadQuoter` (`fixed`: a fixed spread around mid).

Sources (see /work/shared/docs/perp-dex-facts.md §5–6): Avellaneda & Stoikov, "High-frequency trading in a
limit order book" (2008) [S46]; Guéant, Lehalle & Fernandez-Tapia, "Dealing with the inventory risk" (2013)
[S47] and Guéant, "Optimal market making" (2017, arXiv 1605.01862) eqs 4.6–4.7 as written in hftbacktest's
GLFT tutorial [S47b]; Hummingbot `hummingbot/strategy/avellaneda_market_making/avellaneda_market_making.pyx`
(reservation price, spread, order levels, η size transform) [S49].
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Literal, Protocol

import msgspec

from keeper.core.gas import GasState
from keeper.core.types import Side


class MarketSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Market state at one decision. Prices in quote currency; `sigma` relative per √second."""

    mid: float
    sigma: float
    micro_price: float | None = None  # preferred fair price when the book gives one
    best_bid: float | None = None  # for the post-only clamp: our quotes never cross the book
    best_ask: float | None = None
    oracle_price: float | None = None  # funding notional (Hyperliquid pays on oracle); optional fair anchor
    mark_price: float | None = None  # carried for the risk gate; not priced here
    funding_rate: float = 0.0  # predicted rate of the next snapshot, fraction of notional; > 0: longs pay
    time_to_funding_s: float = 0.0
    funding_interval_s: float = 3600.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mid) and self.mid > 0):
            raise ValueError(f"mid must be positive and finite, got {self.mid}")
        if not (math.isfinite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"sigma must be >= 0 and finite, got {self.sigma}")
        if self.funding_interval_s <= 0 or self.time_to_funding_s < 0:
            raise ValueError("funding_interval_s > 0 and time_to_funding_s >= 0 are required")


class Inventory(msgspec.Struct, frozen=True, kw_only=True):
    """Signed position in base units; quotes lean back toward `target`."""

    position: float
    target: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.position) and math.isfinite(self.target)):
            raise ValueError("position and target must be finite")


class SettlementModel(msgspec.Struct, frozen=True, kw_only=True):
    """How a venue settles our order operations.

    `tau_s` is the inclusion delay: how long a quote (or its cancel) takes to become effective, during which
    a resting quote is stale. Gas is in units per operation (0 for an off-chain book such as Hyperliquid);
    `op_fee_quote` is any fixed quote-currency cost per operation. `replace_gas = None`: no native replace.
    """

    tau_s: float
    place_gas: int = 0
    cancel_gas: int = 0
    replace_gas: int | None = None
    op_fee_quote: float = 0.0
    max_batch: int = 1

    def __post_init__(self) -> None:
        if self.tau_s < 0 or self.place_gas < 0 or self.cancel_gas < 0 or self.op_fee_quote < 0:
            raise ValueError("tau_s, gas units and op_fee_quote must be >= 0")
        if self.replace_gas is not None and self.replace_gas < 0:
            raise ValueError("replace_gas must be >= 0")
        if self.max_batch < 1:
            raise ValueError("max_batch must be >= 1")

    @property
    def supports_replace(self) -> bool:
        return self.replace_gas is not None

    def op_costs(self, gas: GasInput) -> OpCosts:
        """Quote-currency cost of each operation at the current gas price."""
        unit = gas.quote_per_gas
        replace = None if self.replace_gas is None else self.replace_gas * unit + self.op_fee_quote
        return OpCosts(
            place=self.place_gas * unit + self.op_fee_quote,
            cancel=self.cancel_gas * unit + self.op_fee_quote,
            replace=replace,
        )


class GasInput(msgspec.Struct, frozen=True):
    """Gas as plain numbers: quote currency per gas unit, and its level (next base fee / EWMA; 1 = calm)."""

    quote_per_gas: float
    level: float = 1.0

    @classmethod
    def from_state(cls, state: GasState, native_price_quote: float) -> GasInput:
        return cls(quote_per_gas=state.cost_quote(1, native_price_quote), level=state.level)


class OpCosts(msgspec.Struct, frozen=True, kw_only=True):
    place: float
    cancel: float
    replace: float | None  # None: the venue has no replace; a requote is cancel + place

    @property
    def requote(self) -> float:
        """What moving one resting quote costs."""
        return self.cancel + self.place if self.replace is None else self.replace


class QuoteParams(msgspec.Struct, frozen=True, kw_only=True):
    """Strategy parameters (all quoters read the ones they use)."""

    tick: Decimal
    lot: Decimal
    order_size: float  # base units per level before shrinking
    max_position: float  # |position| limit in base units; sizes never let a full fill breach it
    levels: int = 1
    level_spacing: float = 0.5  # each deeper level sits this fraction of the half-spread further out
    gamma: float = 0.1  # risk aversion γ, per quote currency
    intensity_a: float = 1.0  # A: fills per second at δ = 0
    intensity_k: float = 1.0  # k: per quote currency
    horizon_s: float = 60.0  # A–S baseline's T − t; the keeper's cap on its funding horizon
    eta: float = 0.0  # Hummingbot order_amount_shape_factor η
    adverse_selection_mult: float = 1.0  # c in c·σ·√τ
    maker_fee_rate: float = 0.0  # fraction of notional per fill; < 0 is a rebate
    fill_ratio: float = 0.5  # expected fills per order placed (calibrated from our own history)
    size_ref_move: float = 0.001  # relative move over τ at which the size halves
    gas_size_sensitivity: float = 1.0  # size ×1/(1 + this·(gas level − 1)) above a calm level
    max_funding_shift: float = 0.002  # |funding shift of r| ≤ this·s
    oracle_weight: float = 0.0  # fair price = (1 − w)·micro/mid + w·oracle
    fixed_half_spread_bps: float = 10.0  # FixedSpreadQuoter only
    soft_position: float | None = None  # KeeperQuoter: sizes that add to |q| taper to 0 here

    def __post_init__(self) -> None:
        if self.tick <= 0 or self.lot <= 0:
            raise ValueError("tick and lot must be positive")
        if self.order_size < 0 or self.max_position < 0 or self.levels < 1 or self.level_spacing < 0:
            raise ValueError("order_size >= 0, max_position >= 0, levels >= 1, level_spacing >= 0 required")
        if self.gamma <= 0 or self.intensity_a <= 0 or self.intensity_k <= 0 or self.horizon_s <= 0:
            raise ValueError("gamma, intensity_a, intensity_k and horizon_s must be positive")
        if not 0 < self.fill_ratio <= 1 or not 0 <= self.oracle_weight <= 1:
            raise ValueError("0 < fill_ratio <= 1 and 0 <= oracle_weight <= 1 are required")
        if self.size_ref_move <= 0 or self.gas_size_sensitivity < 0 or self.max_funding_shift < 0:
            raise ValueError("size_ref_move > 0, gas_size_sensitivity >= 0, max_funding_shift >= 0 required")
        if self.eta < 0 or self.adverse_selection_mult < 0 or self.fixed_half_spread_bps <= 0:
            raise ValueError("eta >= 0, adverse_selection_mult >= 0, fixed_half_spread_bps > 0 required")


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """One desired resting order; level 0 is the best of its side."""

    side: Side
    price: Decimal
    size: Decimal
    level: int


class QuoteSet(msgspec.Struct, frozen=True, kw_only=True):
    """Desired quotes: bids best first (descending), asks best first (ascending), plus the model's numbers."""

    bids: tuple[Quote, ...] = ()
    asks: tuple[Quote, ...] = ()
    reservation_price: float = 0.0
    half_spread: float = 0.0  # model half-spread before the gas floor and rounding
    adverse_selection: float = 0.0
    funding_shift: float = 0.0

    def all(self) -> tuple[Quote, ...]:
        return self.bids + self.asks


class Quoter(Protocol):
    def quote(self, snapshot: MarketSnapshot, inventory: Inventory, gas: GasInput) -> QuoteSet: ...


# Rounding and ladders, shared by every quoter


def to_decimal(x: float) -> Decimal:
    # repr is the shortest string that round-trips, so 100.01 becomes Decimal("100.01"), not its binary tail.
    return Decimal(repr(x))


def round_price(price: float, tick: Decimal, side: Side) -> Decimal:
    """Bids round down and asks up to the tick: rounding never narrows the spread."""
    rounding = ROUND_FLOOR if side is Side.BUY else ROUND_CEILING
    return (to_decimal(price) / tick).to_integral_value(rounding=rounding) * tick


def round_size(size: float, lot: Decimal) -> Decimal:
    """Sizes round down to the lot (never more than the model asked for); negatives become 0."""
    if not math.isfinite(size) or size <= 0:
        return Decimal(0)
    return (to_decimal(size) / lot).to_integral_value(rounding=ROUND_FLOOR) * lot


def _level_sizes(base: float, cap: Decimal, params: QuoteParams) -> list[Decimal]:
    """`levels` sizes of `base` each, cut so that all of them filling keeps |position| ≤ max_position."""
    sizes: list[Decimal] = []
    remaining = (max(cap, Decimal(0)) / params.lot).to_integral_value(rounding=ROUND_FLOOR) * params.lot
    for _ in range(params.levels):
        size = min(round_size(base, params.lot), remaining)
        if size <= 0:
            break
        sizes.append(size)
        remaining -= size
    return sizes


def _ladder(
    side: Side,
    anchor: float,
    half_spread: float,
    sizes: list[Decimal],
    params: QuoteParams,
    *,
    snapshot: MarketSnapshot,
    costs: OpCosts | None,
    fair: float,
) -> tuple[Quote, ...]:
    """Quotes at `anchor ∓ d_i`, `d_0 = max(half_spread, fl(Q_0))`, `d_i = max(d_0 + i·spacing, fl(Q_i))`.

    fl is `gas_floor` when `costs` are given. Then post-only: a bid stays a tick under the best ask (an
    ask over the best bid), and each deeper level a tick behind the one before, so a clamp never stacks
    two levels on one price. Half a tick at least: a zero half-spread on a tick price would round bid and
    ask onto the same price.
    """
    tick = params.tick

    def floor(size: Decimal) -> float:
        return 0.0 if costs is None else gas_floor(costs, float(size), params, fair)

    if not sizes:
        return ()
    d0 = max(half_spread, float(tick) / 2.0, floor(sizes[0]))
    spacing = max(params.level_spacing * d0, float(tick))
    sign = -1.0 if side is Side.BUY else 1.0
    book = snapshot.best_ask if side is Side.BUY else snapshot.best_bid
    limit = None if book is None else round_price(book, tick, Side.SELL if side is Side.BUY else Side.BUY)
    quotes: list[Quote] = []
    last: Decimal | None = None
    for level, size in enumerate(sizes):
        raw = anchor + sign * max(d0 + level * spacing, floor(size))
        if not math.isfinite(raw):
            break
        price = round_price(raw, tick, side)
        if side is Side.BUY:
            price = price if limit is None else min(price, limit - tick)
            price = price if last is None else min(price, last - tick)
        else:
            price = price if limit is None else max(price, limit + tick)
            price = price if last is None else max(price, last + tick)
        if price <= 0:
            break
        quotes.append(Quote(side=side, price=price, size=size, level=level))
        last = price
    return tuple(quotes)


def _both_sides(
    snapshot: MarketSnapshot,
    inventory: Inventory,
    params: QuoteParams,
    *,
    anchor: float,
    half_spread: float,
    sizes: tuple[float, float],
    costs: OpCosts | None = None,
    fair: float = 0.0,
) -> tuple[tuple[Quote, ...], tuple[Quote, ...]]:
    """Bid and ask ladders; a full fill of either never takes |position| past max_position."""
    # In Decimal: 10 − 9.8 is 0.19999999999999929 in floats, which would round a lot away.
    limit, position = to_decimal(params.max_position), to_decimal(inventory.position)
    room = (limit - position, limit + position)

    def ladder(i: int, side: Side) -> tuple[Quote, ...]:
        level_sizes = _level_sizes(sizes[i], room[i], params)
        return _ladder(
            side, anchor, half_spread, level_sizes, params, snapshot=snapshot, costs=costs, fair=fair
        )

    return ladder(0, Side.BUY), ladder(1, Side.SELL)


def _eta_sizes(base: float, inventory: Inventory, params: QuoteParams) -> tuple[float, float]:
    """Hummingbot's η transform: the side that adds to the excess shrinks by e^(−η·|q|/q_max).

    Hummingbot divides by the total inventory value; a perp has no such budget, so q is scaled by
    max_position instead (q/q_max ∈ [−1, 1] whatever the market).
    """
    if params.max_position <= 0:
        return base, base
    q_rel = (inventory.position - inventory.target) / params.max_position
    bid = base * math.exp(-params.eta * q_rel) if q_rel > 0 else base
    ask = base * math.exp(params.eta * q_rel) if q_rel < 0 else base
    return bid, ask


# Model pieces


def glft_terms(gamma: float, sigma_price: float, a: float, k: float) -> tuple[float, float]:
    """GLFT closed form (Guéant 2017 eqs 4.6–4.7, Δ = ξ = γ): returns (c1, ω).

    `c1 = (1/γ)·ln(1 + γ/k)`, `ω = sqrt( γσ²/(2Ak) · (1 + γ/k)^(1 + k/γ) )`; then
    `δ^b = c1 + (2q + 1)/2·ω` and `δ^a = c1 − (2q − 1)/2·ω`, i.e. reservation `r = s − q·ω` and half-spread
    `c1 + ω/2` around it. log1p/exp keep `(1 + γ/k)^(1 + k/γ)` finite (→ e) when γ/k is tiny.
    """
    x = gamma / k
    c1 = math.log1p(x) / gamma
    omega = math.sqrt(gamma * sigma_price**2 / (2.0 * a * k) * math.exp((1.0 + 1.0 / x) * math.log1p(x)))
    return c1, omega


def expected_snapshots(time_to_next_s: float, interval_s: float, horizon_s: float) -> float:
    """Expected number of funding snapshots a position opened now is still held at.

    With an exponential holding time of mean H, P(held at t) = e^(−t/H), so over snapshots at
    t_next + j·I: `N = e^(−t_next/H) / (1 − e^(−I/H))`. For H ≫ I this is ≈ H/I (continuous funding);
    a snapshot due within ~H counts fully. (derived; facts §6.3)
    """
    if horizon_s <= 0:
        return 0.0
    return math.exp(-time_to_next_s / horizon_s) / -math.expm1(-interval_s / horizon_s)


def gas_floor(costs: OpCosts, size: float, params: QuoteParams, fair: float) -> float:
    """Smallest half-spread whose expected edge pays for the gas (and maker fee) of a quote.

    An order is created by a place after a fill (probability p = fill_ratio) or by a requote otherwise, so
    one order costs `c = p·c_place + (1 − p)·c_requote` and earns `p·Q·δ`; break-even with a maker fee f:
    `δ_gas = c / (p·Q) + f·s` (never below 0). Infinite for Q = 0: no quote is worth placing.
    """
    if size <= 0:
        return math.inf
    p = params.fill_ratio
    per_order = p * costs.place + (1.0 - p) * costs.requote
    return max(0.0, per_order / (p * size) + params.maker_fee_rate * fair)


def size_multiplier(sigma: float, tau_s: float, gas_level: float, params: QuoteParams) -> float:
    """`1/(1 + σ√τ / m_ref) · 1/(1 + g·max(0, level − 1))`: strictly smaller as σ, τ or gas level rise.

    σ√τ is the expected relative move while a quote settles (facts §5.3); at m_ref = size_ref_move the
    size halves. Gas level above its EWMA means costly, unpredictable requotes: quote less.
    """
    settle = 1.0 / (1.0 + sigma * math.sqrt(tau_s) / params.size_ref_move)
    return settle / (1.0 + params.gas_size_sensitivity * max(0.0, gas_level - 1.0))


def inventory_taper(sizes: tuple[float, float], q: float, soft: float | None) -> tuple[float, float]:
    """The side that adds to |q| shrinks linearly to 0 at the soft limit, and a full fill never crosses it.

    Bid (adds to a long): `min(Q_b·(1 − q/L), L − q)` for q > 0; the ask mirrors it. The side that
    reduces is untouched: shrink size before anything else (the desk's first fail-safe).
    """
    if soft is None or soft <= 0:
        return sizes
    bid, ask = sizes
    if q >= 0:
        bid = max(0.0, min(bid * (1.0 - q / soft), soft - q))
    if q <= 0:
        ask = max(0.0, min(ask * (1.0 + q / soft), soft + q))
    return bid, ask


def requote_threshold(cost_quote: float, size: float | Decimal) -> float:
    """The price move whose value on `size` equals the cost of requoting it (inf for size 0)."""
    s = float(size)
    return math.inf if s <= 0 else max(0.0, cost_quote) / s


class _PricedOrder(Protocol):
    @property
    def side(self) -> Side: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def size(self) -> Decimal: ...


def should_requote(
    live: _PricedOrder, desired: _PricedOrder, cost: float, *, size_tolerance: float = 0.25
) -> bool:
    """Requote only when it pays: `|Δp| · max(Q_live, Q_desired) ≥ cost`, or the size is off by more than
    `size_tolerance` of the live size. A zero-cost venue requotes on any move.
    """
    if live.side is not desired.side:
        return True
    move = abs(float(desired.price - live.price))
    if move > 0 and move >= requote_threshold(cost, max(live.size, desired.size)):
        return True
    return abs(desired.size - live.size) > to_decimal(size_tolerance) * live.size


def _fair_price(snapshot: MarketSnapshot, params: QuoteParams) -> float:
    ref = snapshot.micro_price if snapshot.micro_price is not None else snapshot.mid
    if snapshot.oracle_price is not None and params.oracle_weight > 0:
        ref = (1.0 - params.oracle_weight) * ref + params.oracle_weight * snapshot.oracle_price
    return ref


# Quoters


class KeeperQuoter:
    """GLFT quotes with funding drift, settlement-delay adverse selection, a gas floor and shrinking sizes.

    With fair price s (micro-price or mid, optionally blended with the oracle), σ = sigma·s, q = position −
    target, τ = settlement delay:

    - GLFT: `(c1, ω)` from `glft_terms`; inventory skew `−q·ω`; model half-spread `c1 + ω/2`.
    - Funding drift: holding q pays `q·f·P_oracle` per snapshot, the same as a price drift; over the model's
      own holding horizon `H = ω/(γσ²)` (capped at horizon_s; the μ/(γσ²)·ω term of Guéant 2017) the
      shift is `−f·P_oracle·N(H)` with N from `expected_snapshots`, clamped to ±max_funding_shift·s.
      Reservation `r = s − q·ω + shift`.
    - Adverse selection: `+ c·σ·√τ` (expected move while a quote is stale, facts §5.3); maker fee `+ f·s`.
    - Gas floor: each level's distance from r is at least `gas_floor(Q)`, so spread ≥ both sides' floors.
    - Sizes: `order_size · size_multiplier(σ, τ, gas level)` with Hummingbot's η transform, capped so a full
      fill keeps |position| ≤ max_position.
    """

    def __init__(self, params: QuoteParams, settlement: SettlementModel) -> None:
        self.params = params
        self.settlement = settlement

    def quote(self, snapshot: MarketSnapshot, inventory: Inventory, gas: GasInput) -> QuoteSet:
        p = self.params
        s = _fair_price(snapshot, p)
        sigma_price = snapshot.sigma * s
        q = inventory.position - inventory.target
        c1, omega = glft_terms(p.gamma, sigma_price, p.intensity_a, p.intensity_k)
        variance_rate = p.gamma * sigma_price**2
        horizon = p.horizon_s if variance_rate <= 0 else min(omega / variance_rate, p.horizon_s)
        notional_price = snapshot.oracle_price if snapshot.oracle_price is not None else s
        shift = -snapshot.funding_rate * notional_price
        shift *= expected_snapshots(snapshot.time_to_funding_s, snapshot.funding_interval_s, horizon)
        cap = p.max_funding_shift * s
        shift = min(max(shift, -cap), cap)
        adverse = p.adverse_selection_mult * sigma_price * math.sqrt(self.settlement.tau_s)
        half = c1 + omega / 2.0 + adverse + p.maker_fee_rate * s
        half = max(half, 0.0)
        skew = omega
        if p.soft_position is not None and p.soft_position > 0:
            # GLFT's ω assumes unbounded inventory; at the soft limit the reducing quote sits at fair.
            skew = max(omega, half / p.soft_position)
        r = s - q * skew + shift

        mult = size_multiplier(snapshot.sigma, self.settlement.tau_s, gas.level, p)
        sizes = inventory_taper(_eta_sizes(p.order_size * mult, inventory, p), q, p.soft_position)
        costs = self.settlement.op_costs(gas)
        bids, asks = _both_sides(
            snapshot, inventory, p, anchor=r, half_spread=half, sizes=sizes, costs=costs, fair=s
        )
        return QuoteSet(
            bids=bids,
            asks=asks,
            reservation_price=r,
            half_spread=half,
            adverse_selection=adverse,
            funding_shift=shift,
        )


class AvellanedaStoikovQuoter:
    """Plain Avellaneda–Stoikov, the `as` baseline (Hummingbot `avellaneda_market_making.pyx`).

    `r = s − q·γ·σ²·(T − t)`, `δ^a + δ^b = γσ²(T − t) + (2/γ)·ln(1 + γ/k)`, quoted symmetrically around r;
    T − t = horizon_s (Hummingbot's infinite mode also uses a fixed time left). s = mid, σ = sigma·mid,
    q in base units. Hummingbot's η size transform and level spacing apply; no gas, delay or funding terms.
    (Hummingbot itself multiplies γ by the std, not the variance, and scales q by the portfolio; we keep
    the paper's formula as the issue states it.)
    """

    def __init__(self, params: QuoteParams, settlement: SettlementModel | None = None) -> None:
        self.params = params

    def quote(self, snapshot: MarketSnapshot, inventory: Inventory, gas: GasInput) -> QuoteSet:
        p = self.params
        s = snapshot.mid
        variance = (snapshot.sigma * s) ** 2
        q = inventory.position - inventory.target
        r = s - q * p.gamma * variance * p.horizon_s
        spread = p.gamma * variance * p.horizon_s + 2.0 / p.gamma * math.log1p(p.gamma / p.intensity_k)
        half = spread / 2.0
        sizes = _eta_sizes(p.order_size, inventory, p)
        bids, asks = _both_sides(snapshot, inventory, p, anchor=r, half_spread=half, sizes=sizes)
        return QuoteSet(bids=bids, asks=asks, reservation_price=r, half_spread=half)


class FixedSpreadQuoter:
    """The `fixed` baseline: `mid·(1 ∓ fixed_half_spread_bps/10⁴)`, constant sizes, no skew."""

    def __init__(self, params: QuoteParams, settlement: SettlementModel | None = None) -> None:
        self.params = params

    def quote(self, snapshot: MarketSnapshot, inventory: Inventory, gas: GasInput) -> QuoteSet:
        p = self.params
        s = snapshot.mid
        half = s * p.fixed_half_spread_bps / 10_000.0
        sizes = (p.order_size, p.order_size)
        bids, asks = _both_sides(snapshot, inventory, p, anchor=s, half_spread=half, sizes=sizes)
        return QuoteSet(bids=bids, asks=asks, reservation_price=s, half_spread=half)


QuoterName = Literal["keeper", "as", "fixed"]


def make_quoter(name: QuoterName, params: QuoteParams, settlement: SettlementModel) -> Quoter:
    """The quoter the simulator and config call `keeper`, `as` or `fixed`."""
    if name == "keeper":
        return KeeperQuoter(params, settlement)
    if name == "as":
        return AvellanedaStoikovQuoter(params, settlement)
    if name == "fixed":
        return FixedSpreadQuoter(params, settlement)
    raise ValueError(f"unknown quoter {name!r}")
