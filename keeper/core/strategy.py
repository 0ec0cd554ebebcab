"""The market-making decision step: market view + own state → order actions. Runs in the simulator and live.

Pure: the caller feeds the view (prices, funding, gas, observed settlement delay), the orders the venue
says are live, and the account; the maker answers with one `MakerDecision` per call. It owns the quoter,
the risk gate, the volatility estimate, the hedge ladder and the funding-unwind schedule, and nothing else.

One step, in the desk's order of fail-safes (shrink, widen, partially hedge, withdraw):

1. Risk gate: `evaluate`; HALTED → cancel everything, quote nothing. REDUCING → only the side that shrinks
   the position is quoted (and the gate re-checks every order).
2. Quotes from the quoter (`keeper`: GLFT + funding drift + σ√τ + gas floor + shrinking sizes; `as`, `fixed`:
   the baselines), with the settlement delay τ the caller observed.
3. Order diff with a requote tolerance: the baselines use a fixed tolerance (Hummingbot's
   `order_refresh_tolerance_pct`); the keeper also refuses a requote that costs more than the move is worth
   (`requote_threshold`).
4. Keeper only: a laddered partial hedge (IOC slices) once |q| passes `hedge_trigger · max_position`, and the
   funding planner's unwind slices before a snapshot when cutting costs less than the funding it saves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from keeper.core.calibration import EwmaVolatility
from keeper.core.funding_plan import (
    FundingPlanInput,
    SlicePolicy,
    UnwindCosts,
    UnwindDecision,
    plan_unwind,
)
from keeper.core.order_diff import Cancel, LiveOrder, Replace, WireAction, chunk, diff_orders
from keeper.core.quote import (
    GasInput,
    Inventory,
    MarketSnapshot,
    QuoteParams,
    QuoterName,
    QuoteSet,
    SettlementModel,
    make_quoter,
    requote_threshold,
    round_price,
    round_size,
    to_decimal,
)
from keeper.core.risk import (
    AccountState,
    Approved,
    DenialReason,
    InFlightOrder,
    OrderIntent,
    Position,
    RiskGate,
    RiskLimits,
    TradingState,
)
from keeper.core.types import Side

ZERO = Decimal(0)


class HedgeParams(msgspec.Struct, frozen=True, kw_only=True):
    """Laddered partial hedge: past `trigger · max_position`, take back toward
    `target · trigger · max_position` in IOC slices of at most `slice_size`, one slice per `interval_s`
    (the book refills in between)."""

    trigger: float = 0.5
    target: float = 0.5
    slice_size: float = 1.0
    interval_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.trigger <= 1 or not 0 <= self.target < 1:
            raise ValueError("need 0 < hedge trigger <= 1 and 0 <= hedge target < 1")
        if self.slice_size <= 0 or self.interval_s < 0:
            raise ValueError("need hedge slice_size > 0 and interval_s >= 0")


class FundingUnwindParams(msgspec.Struct, frozen=True, kw_only=True):
    """When and at what assumed cost the funding planner is asked about the next snapshot."""

    plan_window_s: float = 300.0  # ask the planner once the snapshot is this close
    taker_fee_bps: float = 4.5
    half_spread_bps: float = 1.0
    impact_bps_at_ref: float = 0.0
    impact_ref_notional: float = 10_000.0
    slice_policy: SlicePolicy = SlicePolicy(max_slices=4, slice_interval_s=10.0, safety_s=20.0)


class MakerParams(msgspec.Struct, frozen=True, kw_only=True):
    """One strategy: the quoter and the keeper-only layers on top of it (None = off)."""

    quoter: QuoterName
    quote: QuoteParams
    market: str = "ETH"
    refresh_tolerance_bps: float = 0.0  # keep a live order whose price is this close to the desired one
    size_tolerance: float = 0.25  # ... and whose size is within this fraction
    cost_aware_requote: bool = False  # widen the tolerance to what a requote costs (keeper)
    hedge: HedgeParams | None = None
    funding_unwind: FundingUnwindParams | None = None
    vol_half_life_s: float = 300.0
    initial_sigma: float = 1e-4  # relative per √s until the estimate has data
    # Decide at once, off the timer, when the mid has moved this far since the last decision (None: timer
    # only); such a decision's actions are urgent (they outbid the arbitrageurs racing for stale quotes).
    jump_trigger_bps: float | None = None
    # Re-fit the fill intensity (A, k) from our own fills every this many seconds, the configured values as
    # the prior worth `intensity_prior_fills` fills (None: keep the configured values).
    intensity_refit_s: float | None = None
    intensity_prior_fills: float = 200.0


class MarketView(msgspec.Struct, frozen=True, kw_only=True):
    """What the maker sees at one decision. Prices in quote currency; times in seconds."""

    now_s: float
    mid: float
    best_bid: float | None = None
    best_ask: float | None = None
    oracle_price: float | None = None
    funding_rate: float = 0.0  # predicted for the next snapshot, > 0: longs pay
    time_to_funding_s: float = 3600.0
    funding_interval_s: float = 3600.0
    gas: GasInput = GasInput(0.0, 1.0)
    tau_s: float | None = None  # observed settlement delay; None: the settlement model's own
    market_data_s: float | None = None  # receive time of the data (stale-data rule); None: now
    oracle_s: float | None = None
    halts: tuple[DenialReason, ...] = ()  # measured by the caller (clock skew, ...): the gate halts
    # The venue's figures for the position (None: not known): the liquidation-distance rule uses them.
    entry_price: float | None = None
    liquidation_price: float | None = None
    margin_used: float = 0.0


class TakeOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An IOC order that crosses the spread: a hedge slice or a funding-unwind slice."""

    order_id: str
    side: Side
    size: Decimal
    limit_price: Decimal
    reason: str  # "hedge" | "funding_unwind"


class MakerDecision(msgspec.Struct, frozen=True, kw_only=True):
    """Actions in send order: `batches` of quote actions (cancels first), then `takes`."""

    batches: tuple[tuple[WireAction, ...], ...] = ()
    takes: tuple[TakeOrder, ...] = ()
    quotes: QuoteSet | None = None
    state: TradingState = TradingState.HALTED
    denied: int = 0  # quote orders the risk gate refused this step
    urgent: bool = False  # a reaction to a jump: send at cancel priority

    @property
    def empty(self) -> bool:
        return not self.batches and not self.takes


class MarketMaker:
    """A market maker on one market. Order ids it hands out are `<prefix><n>`, unique per maker."""

    def __init__(
        self,
        params: MakerParams,
        settlement: SettlementModel,
        limits: RiskLimits,
        *,
        id_prefix: str = "o",
    ) -> None:
        self.params = params
        self.settlement = settlement
        self.gate = RiskGate(limits)
        self.vol = EwmaVolatility(params.vol_half_life_s, initial_sigma=params.initial_sigma)
        self._last_mid_s: float | None = None
        self._prefix = id_prefix
        self._next_id = 0
        self._high_water = ZERO
        self._last_hedge_s = -math.inf
        self._unwind_slices: list[tuple[float, Decimal]] = []  # (send at, signed size)
        self._planned_snapshot_s: float | None = None
        self._last_decision_mid: float | None = None

    @property
    def high_water(self) -> Decimal:
        """The equity high-water mark the drawdown is measured from (persist it; 0: none yet)."""
        return self._high_water

    @high_water.setter
    def high_water(self, value: Decimal) -> None:
        """Restore a persisted mark, or 0 to take the next equity reading as the peak (a resume)."""
        self._high_water = value

    # Feeds from the venue

    def observe_mid(self, mid: float, now_s: float) -> None:
        """Every market-data update (not only decisions) feeds the volatility estimate."""
        dt = 0.0 if self._last_mid_s is None else max(0.0, now_s - self._last_mid_s)
        self.vol.update(mid, dt)
        self._last_mid_s = now_s

    def on_fill(self, order_id: str, size: Decimal) -> None:
        self.gate.on_fill(order_id, size)

    def on_done(self, order_id: str) -> None:
        self.gate.on_done(order_id)

    # The decision

    def wants_to_react(self, mid: float) -> bool:
        """True when the mid has jumped past `jump_trigger_bps` since the last decision."""
        trigger = self.params.jump_trigger_bps
        last = self._last_decision_mid
        return trigger is not None and last is not None and abs(mid / last - 1.0) * 10_000.0 >= trigger

    def decide(
        self,
        view: MarketView,
        live: Sequence[LiveOrder],
        position: float,
        equity: float,
        exposure: Sequence[LiveOrder] | None = None,
    ) -> MakerDecision:
        """One decision. `live`: the orders the diff may keep, replace or cancel. `exposure`: every order
        that may still rest or fill (cancels in flight, unknown outcomes, adopted orders included),
        from the caller's book of record; the gate's in-flight exposure is rebuilt from it. None: the
        gate keeps its own book from `on_fill` / `on_done` (the simulator's venue has no ledger)."""
        p = self.params
        if exposure is not None:
            self.gate.sync_in_flight(
                InFlightOrder(
                    order_id=o.order_id, market=p.market, side=o.side, remaining=o.size, price=o.price
                )
                for o in exposure
            )
        urgent = self.wants_to_react(view.mid)
        self._last_decision_mid = view.mid
        account = self._account(view, position, equity)
        md_s = view.now_s if view.market_data_s is None else view.market_data_s
        oracle_s = view.now_s if view.oracle_s is None else view.oracle_s
        state = self.gate.evaluate(account, view.now_s, md_s, oracle_s, view.halts)
        if state is TradingState.HALTED:
            cancels: list[WireAction] = [Cancel(order_id=o.order_id, side=o.side) for o in live]
            return MakerDecision(batches=chunk(cancels, self.settlement.max_batch), state=state)

        snapshot = MarketSnapshot(
            mid=view.mid,
            sigma=self.vol.sigma,
            best_bid=view.best_bid,
            best_ask=view.best_ask,
            oracle_price=view.oracle_price,
            funding_rate=view.funding_rate,
            time_to_funding_s=view.time_to_funding_s,
            funding_interval_s=view.funding_interval_s,
        )
        settlement = self.settlement
        if view.tau_s is not None:
            settlement = msgspec.structs.replace(settlement, tau_s=view.tau_s)
        quoter = make_quoter(p.quoter, p.quote, settlement)
        quotes = quoter.quote(snapshot, Inventory(position=position), view.gas)
        if state is TradingState.REDUCING:
            quotes = _reducing_only(quotes, position)

        tolerance = view.mid * p.refresh_tolerance_bps / 10_000.0
        size_tolerance = p.size_tolerance
        if p.cost_aware_requote:
            # A move is worth fill_ratio·Q·|Δp| in expectation, a size change fill_ratio·|ΔQ|·δ: requote
            # only when that pays for the requote.
            cost = settlement.op_costs(view.gas).requote
            fill = p.quote.fill_ratio
            size = max((float(q.size) for q in quotes.all()), default=p.quote.order_size)
            tolerance = max(tolerance, requote_threshold(cost, size) / fill)
            if cost > 0 and quotes.half_spread > 0 and size > 0:
                size_tolerance = max(size_tolerance, min(1e6, cost / (fill * quotes.half_spread * size)))
        diff = diff_orders(
            live,
            quotes,
            _price_tolerance(tolerance, p.quote.tick),
            max_batch=10_000,
            size_tolerance=to_decimal(size_tolerance),
            supports_replace=settlement.supports_replace,
        )
        actions, denied = self._gate_actions(diff.wire_actions, account, view)
        takes = self._takes(view, position, account)
        return MakerDecision(
            batches=chunk(actions, settlement.max_batch),
            takes=tuple(takes),
            quotes=quotes,
            state=state,
            denied=denied,
            urgent=urgent,
        )

    # Pieces

    def new_order_id(self) -> str:
        self._next_id += 1
        return f"{self._prefix}{self._next_id}"

    def _account(self, view: MarketView, position: float, equity: float) -> AccountState:
        eq = to_decimal(equity)
        self._high_water = max(self._high_water, eq)
        positions: dict[str, Position] = {}
        if position != 0:
            mark = to_decimal(view.oracle_price if view.oracle_price is not None else view.mid)
            positions[self.params.market] = Position(
                size=to_decimal(position),
                entry_price=mark if view.entry_price is None else to_decimal(view.entry_price),
                mark_price=mark,
                liquidation_price=None
                if view.liquidation_price is None
                else to_decimal(view.liquidation_price),
            )
        return AccountState(
            equity=eq,
            high_water_mark=self._high_water,
            positions=positions,
            margin_used=to_decimal(view.margin_used),
        )

    def _gate_actions(
        self, actions: Sequence[WireAction], account: AccountState, view: MarketView
    ) -> tuple[list[WireAction], int]:
        """Every order-creating action passes the gate; a replace frees its old order's in-flight slot
        first (the venue swaps them atomically). Denied creations are dropped; their old order is
        cancelled so nothing stale rests."""
        approved: list[WireAction] = []
        denied = 0
        for action in actions:
            if isinstance(action, Cancel):
                approved.append(action)
                continue
            if isinstance(action, Replace):
                self.gate.on_done(action.order_id)
            order_id = self.new_order_id()
            intent = OrderIntent(
                order_id=order_id,
                market=self.params.market,
                side=action.side,
                size=action.size,
                price=action.price,
            )
            verdict = self.gate.check(intent, account)
            if isinstance(verdict, Approved):
                if isinstance(action, Replace):
                    approved.append(msgspec.structs.replace(action, new_order_id=order_id))
                else:
                    approved.append(msgspec.structs.replace(action, order_id=order_id))
            else:
                denied += 1
                if isinstance(action, Replace):
                    approved.append(Cancel(order_id=action.order_id, side=action.side))
        return approved, denied

    def _takes(self, view: MarketView, position: float, account: AccountState) -> list[TakeOrder]:
        takes: list[TakeOrder] = []
        hedge = self.params.hedge
        q_max = self.params.quote.max_position
        if hedge is not None and view.now_s - self._last_hedge_s >= hedge.interval_s:
            trigger = hedge.trigger * q_max
            if abs(position) > trigger:
                excess = abs(position) - hedge.target * trigger
                take = self._take(view, -math.copysign(min(excess, hedge.slice_size), position), "hedge")
                if take is not None:
                    takes.append(take)
                    self._last_hedge_s = view.now_s
        takes.extend(self._funding_takes(view, position, account))
        return takes

    def _funding_takes(self, view: MarketView, position: float, account: AccountState) -> list[TakeOrder]:
        plan_params = self.params.funding_unwind
        if plan_params is None:
            return []
        snapshot_s = view.now_s + view.time_to_funding_s
        if self._planned_snapshot_s is not None and snapshot_s > self._planned_snapshot_s + 1.0:
            self._unwind_slices.clear()  # that snapshot has passed: its unsent slices are void
            self._planned_snapshot_s = None
        if self._planned_snapshot_s is None and view.time_to_funding_s <= plan_params.plan_window_s:
            self._planned_snapshot_s = snapshot_s
            mark = view.oracle_price if view.oracle_price is not None else view.mid
            plan = plan_unwind(
                FundingPlanInput(
                    position=to_decimal(position),
                    mark=to_decimal(mark),
                    funding_rate=to_decimal(view.funding_rate),
                    seconds_to_snapshot=view.time_to_funding_s,
                    costs=UnwindCosts(
                        half_spread_bps=to_decimal(plan_params.half_spread_bps),
                        taker_fee_bps=to_decimal(plan_params.taker_fee_bps),
                        gas_per_slice_quote=to_decimal(self.settlement.op_costs(view.gas).place),
                        impact_bps_at_ref=to_decimal(plan_params.impact_bps_at_ref),
                        impact_ref_notional=to_decimal(plan_params.impact_ref_notional),
                    ),
                    policy=plan_params.slice_policy,
                )
            )
            if plan.decision is not UnwindDecision.HOLD:
                self._unwind_slices = [(view.now_s + s.delay_s, s.size) for s in plan.slices]
        takes: list[TakeOrder] = []
        due = [s for s in self._unwind_slices if s[0] <= view.now_s]
        self._unwind_slices = [s for s in self._unwind_slices if s[0] > view.now_s]
        for _, size in due:
            # Never more than the position now holds: hedges may already have cut part of it.
            signed = float(size)
            if signed * position >= 0:
                continue
            signed = math.copysign(min(abs(signed), abs(position)), signed)
            take = self._take(view, signed, "funding_unwind")
            if take is not None:
                takes.append(take)
                position += signed
        return takes

    def _take(self, view: MarketView, signed_size: float, reason: str) -> TakeOrder | None:
        size = round_size(abs(signed_size), self.params.quote.lot)
        if size <= 0:
            return None
        side = Side.BUY if signed_size > 0 else Side.SELL
        # The limit allows crossing the touch plus a slippage band; an IOC never rests.
        band = 0.002 * view.mid
        touch = view.best_ask if side is Side.BUY else view.best_bid
        ref = view.mid if touch is None else touch
        limit = ref + band if side is Side.BUY else max(ref - band, float(self.params.quote.tick))
        # On the tick, rounded toward the touch (a buy down, a sell up): never beyond the slippage band,
        # and a venue refuses an off-tick price.
        return TakeOrder(
            order_id=self.new_order_id(),
            side=side,
            size=size,
            limit_price=round_price(limit, self.params.quote.tick, side),
            reason=reason,
        )


def _price_tolerance(tolerance: float, tick: Decimal) -> Decimal:
    if not math.isfinite(tolerance):
        return Decimal(10) ** 12  # an infinite requote cost: keep everything that is live
    return round_price(max(tolerance, 0.0), tick, Side.BUY)  # floored to the tick, as a bid is


def _reducing_only(quotes: QuoteSet, position: float) -> QuoteSet:
    """In REDUCING only the side that shrinks the position is quoted (flat: nothing)."""
    if position > 0:
        return msgspec.structs.replace(quotes, bids=())
    if position < 0:
        return msgspec.structs.replace(quotes, asks=())
    return msgspec.structs.replace(quotes, bids=(), asks=())
