"""Funding-snapshot-aware unwind planner: hold, cut part or cut all of a position before a funding payment.

Pure: time enters only as ``seconds_to_snapshot``; slice times are offsets from the moment the input
describes. The executor sends each slice at its ``delay_s`` and re-plans when a new funding prediction
arrives (``on_funding_flip`` when its sign changes).

Sign convention (docs/perp-dex-facts.md §1.1, §1.7): ``funding_rate`` is the predicted rate of the next
snapshot as a fraction per funding interval, **positive = longs pay shorts**. A holder of signed size q
(long > 0) at price P pays ``q x P x f`` at the snapshot (negative = receives). Hyperliquid charges on
the oracle price; pass it as ``mark`` there. Payment is on the position held at the snapshot, with no
pro-rating (§1.1, §1.7), so a cut only has to be done before it.

Rule: over cut sizes x = fraction x |q| (a grid of ``fraction_steps`` fractions, floored to the lot)
and slice counts k, maximise

    value(x, k) = x P |f|                                  funding avoided (only when we are the payer)
                - sum_i [ n_i (s + fee + impact(n_i)) / 1e4 + g ]   unwind: spread, fee, impact, gas
                - sum_i [ n_i r / 1e4 + g ]                 re-entry after the snapshot (if planned)

with slice notionals n_i (sum n_i = x P), half-spread s, fee (taker; or maker with no spread and no
impact) and impact(n) = c (n / n_ref)^e bps (e = 1 linear, 0.5 square root; temporary impact only:
slices are spaced so the book refills). HOLD unless the best value exceeds ``min_benefit_quote``;
FULL when the best cut is the whole position, else PARTIAL. Linear costs make value linear in x, so
the answer is all or nothing; impact makes it concave and gives an interior optimum
(closed form for linear impact with k slices: x* P = (|f| 1e4 - s - fee - r) k n_ref / (2 c)).

Schedule: the last unwind slice is ``safety_s`` before the snapshot (time for it to land), earlier
ones every ``slice_interval_s`` before that; none after the snapshot; re-entry slices mirror the cut
from ``reentry_delay_s`` after it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal

import msgspec

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)
# Improvements smaller than this (quote) are Decimal rounding noise, e.g. from 10 / 6 without a lot
# size; they must not buy a bigger cut or more slices.
TIE_EPSILON = Decimal("1e-9")
# Without a lot size, sizes are floored to this quantum so the slices sum exactly to the cut (10 / 3
# in 28-digit Decimal does not); exact for sizes below 1e15 base units.
DEFAULT_QUANTUM = Decimal("1e-12")


class UnwindDecision(enum.Enum):
    HOLD = "hold"
    PARTIAL = "partial"
    FULL = "full"


class ExecutionStyle(enum.Enum):
    """TAKER crosses the spread (certain fill); MAKER rests at the touch (fee only, fill not certain:
    the executor should escalate to taker at the slice's deadline)."""

    TAKER = "taker"
    MAKER = "maker"


class SliceKind(enum.Enum):
    UNWIND = "unwind"
    REENTRY = "reentry"


class UnwindCosts(msgspec.Struct, frozen=True, kw_only=True):
    """What trading out (and back in) costs. Bps are of traded notional; quote amounts in USD."""

    half_spread_bps: Decimal = ZERO
    taker_fee_bps: Decimal = ZERO
    maker_fee_bps: Decimal = ZERO  # negative for a rebate
    gas_per_slice_quote: Decimal = ZERO  # on an API venue: 0
    impact_bps_at_ref: Decimal = ZERO  # c: impact of one slice of impact_ref_notional
    impact_ref_notional: Decimal = Decimal(10_000)
    impact_exponent: Decimal = ONE  # e: 1 linear, 0.5 square root
    style: ExecutionStyle = ExecutionStyle.TAKER
    # Re-enter after the snapshot at this all-in cost (spread + fee + impact) in bps; None: the cut is
    # permanent (the inventory was unwanted anyway).
    reentry_cost_bps: Decimal | None = None

    def __post_init__(self) -> None:
        if self.impact_ref_notional <= 0 or self.impact_exponent <= 0 or self.impact_bps_at_ref < 0:
            raise ValueError("need impact_ref_notional > 0, impact_exponent > 0, impact_bps_at_ref >= 0")
        if self.gas_per_slice_quote < 0 or self.half_spread_bps < 0:
            raise ValueError("gas and half-spread cannot be negative")

    def impact_bps(self, notional: Decimal) -> Decimal:
        """c (n / n_ref)^e. Example: c = 10 bps at 10,000, linear: a 1,500 slice moves 1.5 bps."""
        if notional <= 0 or self.impact_bps_at_ref == 0:
            return ZERO
        return self.impact_bps_at_ref * (notional / self.impact_ref_notional) ** self.impact_exponent

    def slice_cost(self, notional: Decimal) -> Decimal:
        """Quote cost of one unwind slice of ``notional``, gas included.

        TAKER: n (s + taker + impact(n)) / 1e4 + g. MAKER: n maker / 1e4 + g (no spread, no impact).
        Example: n = 30,000, s = 1, taker = 3.5, no impact, g = 0.5 -> 13.5 + 0.5 = 14.0.
        """
        if self.style is ExecutionStyle.MAKER:
            bps = self.maker_fee_bps
        else:
            bps = self.half_spread_bps + self.taker_fee_bps + self.impact_bps(notional)
        return notional * bps / BPS + self.gas_per_slice_quote


class SlicePolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How a cut is sliced and timed."""

    min_slice_size: Decimal = ZERO  # base units; the venue minimum
    lot_size: Decimal | None = None  # base units; slices and cuts are floored to it (None: 1e-12)
    max_slices: int = 10
    slice_interval_s: float = 10.0
    safety_s: float = 30.0  # the last unwind slice goes out at least this long before the snapshot
    reentry_delay_s: float = 5.0
    fraction_steps: int = 20  # the search grid: multiples of 1/fraction_steps of the position
    min_benefit_quote: Decimal = ZERO  # act only when the best plan nets more than this

    def __post_init__(self) -> None:
        if self.max_slices < 1 or self.fraction_steps < 1:
            raise ValueError("max_slices and fraction_steps must be >= 1")
        if self.slice_interval_s < 0 or self.safety_s < 0 or self.reentry_delay_s < 0:
            raise ValueError("slice_interval_s, safety_s and reentry_delay_s must be >= 0")
        if self.min_slice_size < 0 or (self.lot_size is not None and self.lot_size <= 0):
            raise ValueError("need min_slice_size >= 0 and lot_size > 0")


class FundingPlanInput(msgspec.Struct, frozen=True, kw_only=True):
    position: Decimal  # signed base units, long > 0
    mark: Decimal  # the price funding is charged on (oracle on Hyperliquid)
    funding_rate: Decimal  # next snapshot, fraction per interval, > 0: longs pay shorts
    seconds_to_snapshot: float
    costs: UnwindCosts = UnwindCosts()
    policy: SlicePolicy = SlicePolicy()


class UnwindSlice(msgspec.Struct, frozen=True, kw_only=True):
    kind: SliceKind
    delay_s: float  # send this long after the moment the input describes
    before_snapshot_s: float  # snapshot time minus send time; negative after the snapshot
    size: Decimal  # signed trade: buy > 0, sell < 0


class UnwindPlan(msgspec.Struct, frozen=True, kw_only=True):
    decision: UnwindDecision
    fraction: Decimal  # of |position| cut before the snapshot
    unwind_size: Decimal  # signed sum of the unwind slices
    slices: tuple[UnwindSlice, ...]  # unwind slices, in send order
    reentry: tuple[UnwindSlice, ...]  # re-entry slices (after the snapshot; before it after a flip)
    funding_rate: Decimal  # the prediction this plan was made for
    funding_gain: Decimal  # funding avoided by the cut (or earned by a restore), quote
    unwind_cost: Decimal
    reentry_cost: Decimal
    net_benefit: Decimal
    note: str = ""


def funding_payment(position: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """What the holder pays at the snapshot: q P f (negative = receives). 10 x 3,000 x 0.0005 = 15."""
    return position * price * rate


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


def _floor_lot(size: Decimal, lot: Decimal | None) -> Decimal:
    quantum = DEFAULT_QUANTUM if lot is None else lot
    return (size / quantum).to_integral_value(rounding=ROUND_FLOOR) * quantum


def _split(total: Decimal, k: int, policy: SlicePolicy) -> tuple[Decimal, ...] | None:
    """k lot-aligned sizes summing exactly to ``total``; the remainder rides on the first (earliest)
    slice so the ones closest to the snapshot are the smallest. None if a slice would be under the minimum.
    """
    base = _floor_lot(total / k, policy.lot_size)
    if base <= 0 or base < policy.min_slice_size:
        return None
    return (total - base * (k - 1), *([base] * (k - 1)))


def _slots(seconds_to_snapshot: float, policy: SlicePolicy) -> int:
    """How many slices fit between now and ``safety_s`` before the snapshot at ``slice_interval_s``."""
    room = seconds_to_snapshot - policy.safety_s
    if room < 0:
        return 0
    if policy.slice_interval_s == 0:
        return policy.max_slices
    return min(policy.max_slices, int(room // policy.slice_interval_s) + 1)


class _Candidate(msgspec.Struct, frozen=True):
    size: Decimal  # unsigned
    sizes: tuple[Decimal, ...]
    gain: Decimal
    trade_cost: Decimal
    reentry_cost: Decimal

    @property
    def value(self) -> Decimal:
        return self.gain - self.trade_cost - self.reentry_cost


def _search(
    *,
    available: Decimal,
    price: Decimal,
    gain_rate: Decimal,
    k_max: int,
    policy: SlicePolicy,
    cost: Callable[[tuple[Decimal, ...]], tuple[Decimal, Decimal]],
) -> _Candidate | None:
    """The best (size, slicing) over the fraction grid and k = 1..k_max; ties go to the smaller size."""
    best: _Candidate | None = None
    seen: set[Decimal] = set()
    for step in range(1, policy.fraction_steps + 1):
        size = _floor_lot(available * step / policy.fraction_steps, policy.lot_size)
        if size <= 0 or size < policy.min_slice_size or size in seen:
            continue
        seen.add(size)
        gain = size * price * gain_rate
        for k in range(1, k_max + 1):
            sizes = _split(size, k, policy)
            if sizes is None:
                break  # more slices only make them smaller
            trade_cost, reentry_cost = cost(sizes)
            candidate = _Candidate(size, sizes, gain, trade_cost, reentry_cost)
            if best is None or candidate.value > best.value + TIE_EPSILON:
                best = candidate
    return best


def _schedule(
    sizes: tuple[Decimal, ...], sign: int, kind: SliceKind, inp: FundingPlanInput
) -> list[UnwindSlice]:
    """Before the snapshot: last slice at safety_s, earlier ones every slice_interval_s before it."""
    pol = inp.policy
    k = len(sizes)
    out = []
    for i, size in enumerate(sizes):
        before = pol.safety_s + (k - 1 - i) * pol.slice_interval_s
        out.append(
            UnwindSlice(
                kind=kind,
                delay_s=inp.seconds_to_snapshot - before,
                before_snapshot_s=before,
                size=sign * size,
            )
        )
    return out


def _hold(inp: FundingPlanInput, note: str) -> UnwindPlan:
    return UnwindPlan(
        decision=UnwindDecision.HOLD,
        fraction=ZERO,
        unwind_size=ZERO,
        slices=(),
        reentry=(),
        funding_rate=inp.funding_rate,
        funding_gain=ZERO,
        unwind_cost=ZERO,
        reentry_cost=ZERO,
        net_benefit=ZERO,
        note=note,
    )


def plan_unwind(inp: FundingPlanInput) -> UnwindPlan:
    """Decide HOLD / PARTIAL / FULL for the next snapshot and schedule the slices (rule in the module doc).

    Worked numbers, long 10 at 3,000 (notional 30,000), f = +0.0005 (we pay 15 USD), taker,
    T = 600 s, defaults otherwise:

    - s = 1, taker = 3.5, g = 0.5, no impact, no re-entry: one slice costs 13.5 + 0.5 = 14 < 15
      -> FULL, one slice (more slices only add gas), net +1.
    - same, with re-entry at 4.5 bps: 15 - 14 - 13.5 - 0.5 = -13 -> HOLD.
    - s = 1, taker = 1, linear impact 10 bps at 10,000, g = 0.1, up to 10 slices: the closed form gives
      x* P = (5 - 2) x 10 x 10,000 / (2 x 10) = 15,000 -> PARTIAL 0.5: 10 slices of 0.5; gain 7.5,
      cost 3 (spread + fee) + 2.25 (impact: 10 x 1,500 x 1.5 bps) + 1 (gas) = 6.25, net 1.25.
    """
    if inp.mark <= 0:
        raise ValueError(f"mark must be positive, got {inp.mark}")
    q = inp.position
    if q == 0:
        return _hold(inp, "flat")
    pay_rate = _sign(q) * inp.funding_rate  # > 0: we pay at the snapshot
    if pay_rate <= 0:
        return _hold(inp, "we receive (or pay no) funding at the snapshot")
    k_max = _slots(inp.seconds_to_snapshot, inp.policy)
    if k_max == 0:
        return _hold(
            inp, f"too late: snapshot in {inp.seconds_to_snapshot} s < safety {inp.policy.safety_s} s"
        )

    costs = inp.costs
    reentry_bps = costs.reentry_cost_bps

    def cost(sizes: tuple[Decimal, ...]) -> tuple[Decimal, Decimal]:
        unwind = sum((costs.slice_cost(s * inp.mark) for s in sizes), ZERO)
        if reentry_bps is None:
            return unwind, ZERO
        notional = sum(sizes, ZERO) * inp.mark
        return unwind, notional * reentry_bps / BPS + costs.gas_per_slice_quote * len(sizes)

    best = _search(
        available=abs(q), price=inp.mark, gain_rate=pay_rate, k_max=k_max, policy=inp.policy, cost=cost
    )
    if best is None:
        return _hold(inp, "no cut meets the minimum slice size")
    if best.value <= inp.policy.min_benefit_quote:
        return _hold(
            inp,
            f"cost exceeds funding: best cut {best.size} saves {best.gain} for "
            f"{best.trade_cost + best.reentry_cost}",
        )

    direction = -_sign(q)
    slices = _schedule(best.sizes, direction, SliceKind.UNWIND, inp)
    reentry: list[UnwindSlice] = []
    if reentry_bps is not None:
        pol = inp.policy
        for i, size in enumerate(best.sizes):
            after = pol.reentry_delay_s + i * pol.slice_interval_s
            reentry.append(
                UnwindSlice(
                    kind=SliceKind.REENTRY,
                    delay_s=inp.seconds_to_snapshot + after,
                    before_snapshot_s=-after,
                    size=-direction * size,
                )
            )
    full = best.size == abs(q)
    return UnwindPlan(
        decision=UnwindDecision.FULL if full else UnwindDecision.PARTIAL,
        fraction=best.size / abs(q),
        unwind_size=direction * best.size,
        slices=tuple(slices),
        reentry=tuple(reentry),
        funding_rate=inp.funding_rate,
        funding_gain=best.gain,
        unwind_cost=best.trade_cost,
        reentry_cost=best.reentry_cost,
        net_benefit=best.value,
        note=f"cut {best.size} of {abs(q)} in {len(slices)} slices",
    )


def on_funding_flip(
    previous: UnwindPlan, inp: FundingPlanInput, target_position: Decimal | None = None
) -> UnwindPlan:
    """Re-plan when the predicted funding changes sign (zero counts as its own sign); else ``previous``.

    ``inp.position`` is the position now, after whatever slices already executed. The fresh plan
    replaces the old one (its unsent slices are dropped). If we were cutting and now would *receive*
    funding, and ``target_position`` (the inventory before the cut) is given, the planner also
    considers restoring part or all of the gap before the snapshot: the restored size earns
    r P |f| at the snapshot against its cost (``reentry_cost_bps`` if set, else the unwind cost model).

    Example: target long 10, already flat, f flips to -0.002 (shorts pay 0.2 %), P = 3,000, s = 1,
    taker = 3.5: restoring 10 earns 60 and costs 13.5 -> buy 10 before the snapshot, net +46.5.
    """
    if _sign(previous.funding_rate) == _sign(inp.funding_rate):
        return previous
    plan = plan_unwind(inp)
    if target_position is None or plan.decision is not UnwindDecision.HOLD:
        return plan
    side = _sign(target_position)
    gap = target_position - inp.position
    # Only move toward the target, from the same side or flat: never beyond it, never through zero.
    if side == 0 or _sign(gap) != side or _sign(inp.position) == -side:
        return plan
    earn_rate = -side * inp.funding_rate  # > 0: the restored size receives at the snapshot
    k_max = _slots(inp.seconds_to_snapshot, inp.policy)
    if earn_rate <= 0 or k_max == 0:
        return plan

    costs = inp.costs
    reentry_bps = costs.reentry_cost_bps

    def cost(sizes: tuple[Decimal, ...]) -> tuple[Decimal, Decimal]:
        if reentry_bps is None:
            return ZERO, sum((costs.slice_cost(s * inp.mark) for s in sizes), ZERO)
        notional = sum(sizes, ZERO) * inp.mark
        return ZERO, notional * reentry_bps / BPS + costs.gas_per_slice_quote * len(sizes)

    best = _search(
        available=abs(gap), price=inp.mark, gain_rate=earn_rate, k_max=k_max, policy=inp.policy, cost=cost
    )
    if best is None or best.value <= inp.policy.min_benefit_quote:
        return plan
    restore = _schedule(best.sizes, side, SliceKind.REENTRY, inp)
    return msgspec.structs.replace(
        plan,
        reentry=tuple(restore),
        funding_gain=best.gain,
        reentry_cost=best.reentry_cost,
        net_benefit=best.value,
        note=f"funding flipped: restore {best.size} of {abs(gap)} toward {target_position} before it",
    )
