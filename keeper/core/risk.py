"""Risk gate: graded trading state (ACTIVE / REDUCING / HALTED) and per-order approval with typed denials.

Pure: the gate is fed account snapshots, the current time and the receive times of the last market
data and oracle update as arguments; it never reads a clock or does I/O. It holds two pieces of
state: the orders it approved that are still in flight, and a latch for a hard-drawdown halt.

Graded fail-safes (the desk's order: shrink, widen, partially hedge, withdraw). The gate owns the two
last grades; the quote engine owns shrinking and widening:

- ``REDUCING`` when a soft limit is breached: drawdown from the high-water mark at or above
  ``reduce_drawdown_fraction x max_drawdown_pct``, gross leverage above ``max_leverage``, a position
  closer to liquidation than ``min_liquidation_distance_pct``, or a position above
  ``max_position_notional_usd`` after a mark move. Only orders that shrink an existing position
  (counting every same-side order already in flight) are approved.
- ``HALTED`` on the kill flag, stale market data or oracle (fail closed: a missing timestamp is
  stale), or a hard drawdown (``>= max_drawdown_pct``, latched until :meth:`RiskGate.reset_halt`).
  Nothing is approved and ``cancel_all_required`` is set.

Formulas (sources: docs/perp-dex-facts.md §2.2, §2.7):

- drawdown % = (H - E) / H x 100 with H = max(high-water mark, equity); 100 when H <= 0.
  Example: H = 10,000, E = 9,200 -> 8 %.
- gross leverage = sum_i |q_i| x mark_i / E (infinite when E <= 0).
  Example: 2 ETH at 3,000 and -0.1 BTC at 60,000 with E = 4,000 -> (6,000 + 6,000) / 4,000 = 3.0x.
- liquidation distance % = |mark - liq| / mark x 100, on the safe side only (0 when already past).
  Example: long at mark 3,000 with liq 2,700 -> 10 %.

Cumulative limits count in-flight orders at their worst case: for a market with position q, resting
buys B and sells S, the exposure is max(|q + B|, |q - S|) x price, so two orders that each pass alone
cannot together breach the position or leverage limit.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from decimal import Decimal

import msgspec

from keeper.core.types import Side

ZERO = Decimal(0)
HUNDRED = Decimal(100)
INFINITY = Decimal("Infinity")


class TradingState(enum.Enum):
    """What the gate lets through: everything within limits, only position-reducing orders, or nothing."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class DenialReason(enum.Enum):
    """Why an order is denied, or why the trading state left ACTIVE."""

    NOT_EVALUATED = "not_evaluated"  # no evaluate() yet: fail closed
    KILL_SWITCH = "kill_switch"
    STALE_MARKET_DATA = "stale_market_data"
    STALE_ORACLE = "stale_oracle"
    DRAWDOWN_HALT = "drawdown_halt"  # hard drawdown (latched)
    # Conditions the process measures and hands in (`evaluate(..., halts=...)`): each halts while it holds.
    CLOCK_SKEW = "clock_skew"  # our clock and the venue's disagree beyond the limit: expiries misfire
    OTHER_INSTANCE = "other_instance"  # another process is trading this account
    INTERNAL_ERROR = "internal_error"  # a decision raised: quote nothing until one succeeds
    VENUE_DOWN = "venue_down"  # the venue (or its chain) cannot take orders now
    DRAWDOWN = "drawdown"  # soft drawdown: reduce only
    LEVERAGE = "leverage"
    LIQUIDATION_DISTANCE = "liquidation_distance"
    POSITION_NOTIONAL = "position_notional"
    ORDER_NOTIONAL = "order_notional"
    REDUCE_ONLY_STATE = "reduce_only_state"  # the gate is REDUCING and the order would not reduce
    NOT_REDUCING = "not_reducing"  # the order is flagged reduce-only but would grow or flip the position
    INVALID_ORDER = "invalid_order"
    DUPLICATE_ORDER = "duplicate_order"


class RiskLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The config's RiskConfig as Decimals (same field names), plus the soft-drawdown grade.

    ``reduce_drawdown_fraction`` places the REDUCING threshold at that fraction of the hard drawdown:
    with the defaults, reduce only from 5 % and halt at 10 %.
    """

    max_order_notional_usd: Decimal
    max_position_notional_usd: Decimal
    max_leverage: Decimal = Decimal(3)
    max_drawdown_pct: Decimal = Decimal(10)
    min_liquidation_distance_pct: Decimal = Decimal(15)
    stale_data_s: float = 5.0
    kill: bool = False
    reduce_drawdown_fraction: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        if self.max_order_notional_usd <= 0 or self.max_position_notional_usd <= 0 or self.max_leverage <= 0:
            raise ValueError("notional and leverage limits must be positive")
        if not ZERO < self.max_drawdown_pct <= HUNDRED or not ZERO < self.reduce_drawdown_fraction <= 1:
            raise ValueError("need 0 < max_drawdown_pct <= 100 and 0 < reduce_drawdown_fraction <= 1")
        if not ZERO <= self.min_liquidation_distance_pct <= HUNDRED or self.stale_data_s <= 0:
            raise ValueError("need 0 <= min_liquidation_distance_pct <= 100 and stale_data_s > 0")


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """One market's position: signed size (long > 0, base units), entry and mark price, liquidation price."""

    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    liquidation_price: Decimal | None = None  # None: not known or not liquidatable (e.g. flat)

    @property
    def notional(self) -> Decimal:
        return abs(self.size) * self.mark_price

    def liquidation_distance_pct(self) -> Decimal | None:
        """|mark - liq| / mark x 100 on the safe side; 0 once the mark has crossed it; None if unknown."""
        if self.liquidation_price is None or self.size == 0 or self.mark_price <= 0:
            return None
        gap = (self.mark_price - self.liquidation_price) * (1 if self.size > 0 else -1)
        return max(gap, ZERO) / self.mark_price * HUNDRED


class AccountState(msgspec.Struct, frozen=True, kw_only=True):
    """One account snapshot in quote currency (USD). The caller persists the high-water mark."""

    equity: Decimal  # collateral + unrealised PnL incl. pending funding
    high_water_mark: Decimal
    positions: dict[str, Position] = {}
    margin_used: Decimal = ZERO  # reported only: leverage is gross notional / equity, venue-neutral


class OrderIntent(msgspec.Struct, frozen=True, kw_only=True):
    """An order the strategy wants to send. ``order_id`` is the client id the gate tracks it under."""

    order_id: str
    market: str
    side: Side
    size: Decimal  # base units, > 0
    price: Decimal  # limit price, > 0
    reduce_only: bool = False

    @property
    def notional(self) -> Decimal:
        return self.size * self.price


class Approved(msgspec.Struct, frozen=True):
    order_id: str
    reducing: bool


class Denied(msgspec.Struct, frozen=True):
    reason: DenialReason
    detail: str


class RiskAssessment(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one evaluate(): the state, every cause found and the numbers behind them."""

    state: TradingState
    reasons: tuple[DenialReason, ...]
    drawdown_pct: Decimal
    leverage: Decimal
    cancel_all_required: bool


class _InFlight(msgspec.Struct, frozen=True):
    market: str
    side: Side
    remaining: Decimal
    price: Decimal


class InFlightOrder(msgspec.Struct, frozen=True, kw_only=True):
    """An order that may still rest or fill, as the caller's book of record (the order ledger) has it."""

    order_id: str
    market: str
    side: Side
    remaining: Decimal
    price: Decimal


def drawdown_pct(equity: Decimal, high_water_mark: Decimal) -> Decimal:
    """(H - E) / H x 100 with H = max(high_water_mark, equity); 100 when H <= 0 (no capital: fail closed)."""
    peak = max(high_water_mark, equity)
    if peak <= 0:
        return HUNDRED
    return (peak - equity) / peak * HUNDRED


def next_high_water_mark(high_water_mark: Decimal, equity: Decimal) -> Decimal:
    """The running peak the caller should persist after each equity update."""
    return max(high_water_mark, equity)


def gross_leverage(account: AccountState) -> Decimal:
    """sum |q| x mark / equity; infinite when equity <= 0 with any exposure."""
    gross = sum((p.notional for p in account.positions.values()), ZERO)
    if account.equity <= 0:
        return INFINITY if gross > 0 else ZERO
    return gross / account.equity


def reduces_position(
    side: Side, size: Decimal, position: Decimal, same_side_in_flight: Decimal = ZERO
) -> bool:
    """Whether an order only shrinks |position|: opposite side, and together with every order of the
    same side already in flight it does not exceed |position|, so no combination of fills can flip it.
    The worst-case exposure max(|q + B|, |q - S|) then cannot grow, which is why such orders skip the
    position and leverage limits.

    Example: long 10, a sell of 4 in flight: a sell of 6 reduces, a sell of 7 does not.
    """
    if size <= 0 or position == 0 or side.sign * position > 0:
        return False
    return same_side_in_flight + size <= abs(position)


class RiskGate:
    """Evaluates the trading state and approves or denies orders against limits and in-flight orders.

    Usage per cycle: ``evaluate(account, now_s, last_md_s, last_oracle_s)``; if ``cancel_all_required``
    cancel everything; then ``check(intent, account)`` per new order; report ``on_fill`` /
    ``on_done`` so in-flight exposure stays current. Swap limits (e.g. the kill flag) with
    ``set_limits``; the next evaluate applies them. Until the first evaluate the gate is HALTED.
    """

    def __init__(self, limits: RiskLimits) -> None:
        self._limits = limits
        self._in_flight: dict[str, _InFlight] = {}
        self._drawdown_latched = False
        self._latch_reason: str | None = None  # a restored latch's cause (None: the hard drawdown)
        self._assessment = RiskAssessment(
            state=TradingState.HALTED,
            reasons=(DenialReason.NOT_EVALUATED,),
            drawdown_pct=ZERO,
            leverage=ZERO,
            cancel_all_required=True,
        )

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @property
    def state(self) -> TradingState:
        return self._assessment.state

    @property
    def assessment(self) -> RiskAssessment:
        return self._assessment

    @property
    def cancel_all_required(self) -> bool:
        """True while HALTED: every resting order should be cancelled (stale quotes are the worst risk)."""
        return self._assessment.cancel_all_required

    def set_limits(self, limits: RiskLimits) -> None:
        """Hot reload. A kill flag set here denies every order at once, before the next evaluate."""
        self._limits = limits
        if limits.kill:
            self._assessment = self._halted_now((DenialReason.KILL_SWITCH,))

    def reset_halt(self) -> None:
        """Operator action: clear a latched hard-drawdown halt (also reset the high-water mark upstream)."""
        self._drawdown_latched = False
        self._latch_reason = None

    def restore(self, latched: bool, reason: str | None = None) -> None:
        """Start-up: re-apply a latch persisted by an earlier process. It holds HALTED through every
        evaluate until `reset_halt`, denying with ``reason`` when that names a `DenialReason`, else
        DRAWDOWN_HALT. Fail safe: restoring ``latched=False`` never clears a latch (`reset_halt` does).
        """
        if not latched:
            return
        self._drawdown_latched = True
        self._latch_reason = reason
        self._assessment = self._halted_now((self._latch_denial(),))

    @property
    def latched(self) -> bool:
        """A halt is latched (hard drawdown, or restored) until `reset_halt`: persist it when it turns on."""
        return self._drawdown_latched

    @property
    def latch_reason(self) -> str | None:
        """Why the latch holds (what to persist and give back to `restore`); None when not latched."""
        if not self._drawdown_latched:
            return None
        return self._latch_reason or DenialReason.DRAWDOWN_HALT.value

    def _latch_denial(self) -> DenialReason:
        known = {r.value: r for r in DenialReason}
        return known.get(self._latch_reason or "", DenialReason.DRAWDOWN_HALT)

    def evaluate(
        self,
        account: AccountState,
        now_s: float,
        last_market_data_s: float | None,
        last_oracle_s: float | None,
        halts: Iterable[DenialReason] = (),
    ) -> TradingState:
        """Grade the account: HALTED on kill / stale data / stale oracle / hard drawdown, REDUCING on a
        soft breach, else ACTIVE. A timestamp is stale when missing or more than ``stale_data_s`` away
        from ``now_s`` in either direction (a receive time in the future means a clock problem).
        ``halts``: conditions the caller measured (clock skew, another instance, ...) that halt too.
        """
        lim = self._limits
        dd = drawdown_pct(account.equity, account.high_water_mark)
        lev = gross_leverage(account)
        halt: list[DenialReason] = list(dict.fromkeys(halts))  # measured outside: clock, instance, ...
        if lim.kill:
            halt.append(DenialReason.KILL_SWITCH)
        if _stale(now_s, last_market_data_s, lim.stale_data_s):
            halt.append(DenialReason.STALE_MARKET_DATA)
        if _stale(now_s, last_oracle_s, lim.stale_data_s):
            halt.append(DenialReason.STALE_ORACLE)
        if dd >= lim.max_drawdown_pct:
            self._drawdown_latched = True
        if self._drawdown_latched and self._latch_denial() not in halt:
            halt.append(self._latch_denial())

        reduce: list[DenialReason] = []
        if dd >= lim.max_drawdown_pct * lim.reduce_drawdown_fraction:
            reduce.append(DenialReason.DRAWDOWN)
        if lev > lim.max_leverage:
            reduce.append(DenialReason.LEVERAGE)
        if any(_too_close(p, lim) for p in account.positions.values()):
            reduce.append(DenialReason.LIQUIDATION_DISTANCE)
        if any(p.notional > lim.max_position_notional_usd for p in account.positions.values()):
            reduce.append(DenialReason.POSITION_NOTIONAL)

        state = TradingState.HALTED if halt else TradingState.REDUCING if reduce else TradingState.ACTIVE
        self._assessment = RiskAssessment(
            state=state,
            reasons=(*halt, *reduce),
            drawdown_pct=dd,
            leverage=lev,
            cancel_all_required=state is TradingState.HALTED,
        )
        return state

    def check(self, intent: OrderIntent, account: AccountState) -> Approved | Denied:
        """Approve or deny one order against the last evaluated state, ``account`` and in-flight orders.

        Order of checks: HALTED -> malformed / duplicate id -> per-order notional (every order, a
        fat-finger guard; big reductions are sliced) -> reducing orders pass (REDUCING and ACTIVE) ->
        REDUCING denies the rest -> position notional, leverage and liquidation distance for orders
        that can grow exposure, each counting in-flight orders at their worst case.
        An approved order is recorded as in flight until ``on_fill`` consumes it or ``on_done``.
        """
        lim = self._limits
        assessment = self._assessment
        if lim.kill:
            return Denied(DenialReason.KILL_SWITCH, "kill flag is set")
        if assessment.state is TradingState.HALTED:
            first = assessment.reasons[0] if assessment.reasons else DenialReason.NOT_EVALUATED
            return Denied(first, "halted: " + _names(assessment.reasons))
        if intent.size <= 0 or intent.price <= 0:
            return Denied(
                DenialReason.INVALID_ORDER, f"size {intent.size} and price {intent.price} must be > 0"
            )
        if intent.order_id in self._in_flight:
            return Denied(DenialReason.DUPLICATE_ORDER, f"order id {intent.order_id!r} is already in flight")
        if intent.notional > lim.max_order_notional_usd:
            return Denied(
                DenialReason.ORDER_NOTIONAL,
                f"order notional {intent.notional} > limit {lim.max_order_notional_usd}",
            )

        held = account.positions.get(intent.market)
        position = held.size if held is not None else ZERO
        reducing = reduces_position(
            intent.side, intent.size, position, self._same_side_in_flight(intent.market, intent.side)
        )
        if reducing:
            return self._approve(intent, reducing=True)
        if intent.reduce_only:
            return Denied(DenialReason.NOT_REDUCING, f"reduce-only order would grow or flip {position}")
        if assessment.state is TradingState.REDUCING:
            return Denied(DenialReason.REDUCE_ONLY_STATE, "reducing: " + _names(assessment.reasons))

        exposure = self._worst_exposure(account, intent.market, intent)
        if exposure > lim.max_position_notional_usd:
            return Denied(
                DenialReason.POSITION_NOTIONAL,
                f"{intent.market} worst-case notional {exposure} > limit {lim.max_position_notional_usd}",
            )
        markets = {*account.positions, *(o.market for o in self._in_flight.values()), intent.market}
        gross = sum((self._worst_exposure(account, m, intent) for m in markets), ZERO)
        if account.equity <= 0 or gross / account.equity > lim.max_leverage:
            return Denied(
                DenialReason.LEVERAGE,
                f"worst-case gross {gross} on equity {account.equity} > {lim.max_leverage}x",
            )
        if held is not None and _too_close(held, lim):
            return Denied(
                DenialReason.LIQUIDATION_DISTANCE,
                f"{intent.market} is {held.liquidation_distance_pct()} % from liquidation "
                f"< {lim.min_liquidation_distance_pct} %",
            )
        return self._approve(intent, reducing=False)

    def on_fill(self, order_id: str, filled_size: Decimal) -> None:
        """A (partial) fill: the filled part now lives in the position the caller reports, not in flight."""
        order = self._in_flight.get(order_id)
        if order is None:
            return
        remaining = order.remaining - filled_size
        if remaining <= 0:
            del self._in_flight[order_id]
        else:
            self._in_flight[order_id] = msgspec.structs.replace(order, remaining=remaining)

    def on_done(self, order_id: str) -> None:
        """Cancelled, rejected, expired or fully filled: the order stops counting (unknown ids: no-op)."""
        self._in_flight.pop(order_id, None)

    def sync_in_flight(self, orders: Iterable[InFlightOrder]) -> None:
        """Rebuild the in-flight book from the book of record (the ledger's possibly-live orders, at
        their remaining size): adopted orders and orders a refused replace restored count, and nothing
        the venue has closed lingers."""
        self._in_flight = {
            o.order_id: _InFlight(o.market, o.side, o.remaining, o.price) for o in orders if o.remaining > 0
        }

    def clear_in_flight(self) -> None:
        """After a confirmed cancel-all or a reconciliation that rebuilt the live order set."""
        self._in_flight.clear()

    def in_flight_notional(self, market: str | None = None) -> Decimal:
        """Sum of remaining size x limit price of approved, unfinished orders (one market or all)."""
        return sum(
            (o.remaining * o.price for o in self._in_flight.values() if market is None or o.market == market),
            ZERO,
        )

    def in_flight_ids(self) -> frozenset[str]:
        return frozenset(self._in_flight)

    def _approve(self, intent: OrderIntent, *, reducing: bool) -> Approved:
        self._in_flight[intent.order_id] = _InFlight(intent.market, intent.side, intent.size, intent.price)
        return Approved(intent.order_id, reducing)

    def _halted_now(self, reasons: tuple[DenialReason, ...]) -> RiskAssessment:
        return msgspec.structs.replace(
            self._assessment,
            state=TradingState.HALTED,
            reasons=(*reasons, *(r for r in self._assessment.reasons if r not in reasons)),
            cancel_all_required=True,
        )

    def _same_side_in_flight(self, market: str, side: Side) -> Decimal:
        return sum(
            (o.remaining for o in self._in_flight.values() if o.market == market and o.side is side), ZERO
        )

    def _worst_exposure(self, account: AccountState, market: str, extra: OrderIntent) -> Decimal:
        """max(|q + B|, |q - S|) x price for one market, in-flight orders and ``extra`` (if in it) included.

        Price: the position's mark when known, else the highest limit price among the orders.
        """
        orders: list[tuple[Side, Decimal, Decimal]] = [
            (o.side, o.remaining, o.price) for o in self._in_flight.values() if o.market == market
        ]
        if extra.market == market:
            orders.append((extra.side, extra.size, extra.price))
        held = account.positions.get(market)
        q = held.size if held is not None else ZERO
        buys = sum((size for side, size, _ in orders if side is Side.BUY), ZERO)
        sells = sum((size for side, size, _ in orders if side is Side.SELL), ZERO)
        if held is not None and held.mark_price > 0:
            price = held.mark_price
        else:
            price = max((p for _, _, p in orders), default=ZERO)
        return max(abs(q + buys), abs(q - sells)) * price


def _stale(now_s: float, last_s: float | None, stale_s: float) -> bool:
    return last_s is None or abs(now_s - last_s) > stale_s


def _too_close(position: Position, limits: RiskLimits) -> bool:
    distance = position.liquidation_distance_pct()
    return distance is not None and distance < limits.min_liquidation_distance_pct


def _names(reasons: Iterable[DenialReason]) -> str:
    return ", ".join(r.value for r in reasons) or "none"


def limits_from_mapping(values: Mapping[str, object]) -> RiskLimits:
    """Build limits from plain numbers (e.g. ``msgspec.structs.asdict(config.risk)``); floats go via str
    so 0.1 stays 0.1 rather than its binary expansion.
    """
    decimals = {
        "max_order_notional_usd",
        "max_position_notional_usd",
        "max_leverage",
        "max_drawdown_pct",
        "min_liquidation_distance_pct",
        "reduce_drawdown_fraction",
    }
    kwargs: dict[str, object] = {}
    for key, value in values.items():
        if key in decimals and isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
            kwargs[key] = Decimal(str(value))
        else:
            kwargs[key] = value
    return msgspec.convert(kwargs, RiskLimits)
