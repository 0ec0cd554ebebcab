"""Risk gate: worked numbers for drawdown, leverage and liquidation distance; graded states; typed denials;
in-flight accounting; properties (REDUCING approves only reductions, HALTED approves nothing)."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.config import RiskConfig
from keeper.core.risk import (
    AccountState,
    Approved,
    DenialReason,
    Denied,
    OrderIntent,
    Position,
    RiskGate,
    RiskLimits,
    Side,
    TradingState,
    drawdown_pct,
    gross_leverage,
    limits_from_mapping,
    next_high_water_mark,
    reduces_position,
)

D = Decimal
LIMITS = RiskLimits(
    max_order_notional_usd=D(10_000),
    max_position_notional_usd=D(20_000),
    max_leverage=D(3),
    max_drawdown_pct=D(10),
    min_liquidation_distance_pct=D(15),
    stale_data_s=5.0,
)
NOW = 1_000.0


def eth(size: str, mark: str = "3000", liq: str | None = None) -> Position:
    return Position(
        size=D(size),
        entry_price=D(mark),
        mark_price=D(mark),
        liquidation_price=None if liq is None else D(liq),
    )


def account(equity: str = "10000", hwm: str = "10000", **positions: Position) -> AccountState:
    return AccountState(equity=D(equity), high_water_mark=D(hwm), positions=positions)


def order(
    oid: str, side: Side, size: str, price: str = "3000", market: str = "ETH", **kw: bool
) -> OrderIntent:
    return OrderIntent(order_id=oid, market=market, side=side, size=D(size), price=D(price), **kw)


def gate_at(acct: AccountState, limits: RiskLimits = LIMITS) -> RiskGate:
    gate = RiskGate(limits)
    gate.evaluate(acct, NOW, NOW - 1, NOW - 1)
    return gate


# -- formulas ----------------------------------------------------------------------------------------


def test_drawdown_is_measured_from_the_high_water_mark() -> None:
    assert drawdown_pct(D(9_200), D(10_000)) == D(8)
    assert drawdown_pct(D(11_000), D(10_000)) == 0  # a new peak: the stale mark is superseded
    assert drawdown_pct(D(0), D(0)) == 100  # no capital: fail closed
    assert next_high_water_mark(D(10_000), D(10_500)) == D(10_500)
    assert next_high_water_mark(D(10_000), D(9_000)) == D(10_000)


def test_gross_leverage_worked_numbers() -> None:
    acct = AccountState(
        equity=D(4_000),
        high_water_mark=D(4_000),
        positions={"ETH": eth("2"), "BTC": Position(size=D("-0.1"), entry_price=D(1), mark_price=D(60_000))},
    )
    assert gross_leverage(acct) == D(3)  # (6,000 + 6,000) / 4,000
    assert gross_leverage(account("-1", ETH=eth("1"))) == D("Infinity")
    assert gross_leverage(account("0")) == 0


def test_liquidation_distance_on_the_safe_side() -> None:
    assert eth("1", liq="2700").liquidation_distance_pct() == D(10)  # long: (3000 - 2700) / 3000
    assert eth("-1", liq="3450").liquidation_distance_pct() == D(15)  # short: (3450 - 3000) / 3000
    assert eth("1", liq="3100").liquidation_distance_pct() == 0  # crossed
    assert eth("1").liquidation_distance_pct() is None


def test_reduces_position_counts_same_side_orders_in_flight() -> None:
    assert reduces_position(Side.SELL, D(6), D(10), same_side_in_flight=D(4))
    assert not reduces_position(Side.SELL, D(7), D(10), same_side_in_flight=D(4))  # would flip
    assert not reduces_position(Side.BUY, D(1), D(10))  # same side grows it
    assert not reduces_position(Side.SELL, D(1), D(0))  # flat: anything opens a position
    assert reduces_position(Side.BUY, D(2), D(-2))


def test_limits_from_the_config_section() -> None:
    cfg = RiskConfig(max_order_notional_usd=1_000.0, max_position_notional_usd=5_000.0, max_drawdown_pct=7.5)
    limits = limits_from_mapping(msgspec.structs.asdict(cfg))
    assert limits.max_order_notional_usd == D("1000.0")
    assert limits.max_drawdown_pct == D("7.5")
    assert limits.max_leverage == D("3.0")
    assert limits.kill is False
    assert limits.stale_data_s == 5.0


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        RiskLimits(max_order_notional_usd=D(0), max_position_notional_usd=D(1))
    with pytest.raises(ValueError, match="drawdown"):
        RiskLimits(max_order_notional_usd=D(1), max_position_notional_usd=D(1), max_drawdown_pct=D(0))


# -- states ------------------------------------------------------------------------------------------


def test_a_new_gate_is_halted_until_evaluated() -> None:
    gate = RiskGate(LIMITS)
    assert gate.state is TradingState.HALTED
    assert gate.cancel_all_required
    assert gate.check(order("a", Side.BUY, "1"), account()) == Denied(
        DenialReason.NOT_EVALUATED, "halted: not_evaluated"
    )


def test_fresh_data_and_no_breach_is_active() -> None:
    gate = RiskGate(LIMITS)
    assert gate.evaluate(account(ETH=eth("1", liq="2000")), NOW, NOW - 4.9, NOW - 0.1) is TradingState.ACTIVE
    assert not gate.cancel_all_required
    assert gate.assessment.reasons == ()
    assert gate.assessment.leverage == D("0.3")


@pytest.mark.parametrize(
    ("md", "oracle", "reason"),
    [
        (NOW - 5.1, NOW, DenialReason.STALE_MARKET_DATA),
        (NOW, NOW - 60, DenialReason.STALE_ORACLE),
        (None, NOW, DenialReason.STALE_MARKET_DATA),  # never received: fail closed
        (NOW, None, DenialReason.STALE_ORACLE),
        (NOW + 30, NOW, DenialReason.STALE_MARKET_DATA),  # from the future: a clock problem
    ],
)
def test_stale_data_halts_and_cancels_all(
    md: float | None, oracle: float | None, reason: DenialReason
) -> None:
    gate = RiskGate(LIMITS)
    assert gate.evaluate(account(), NOW, md, oracle) is TradingState.HALTED
    assert gate.cancel_all_required
    assert gate.assessment.reasons == (reason,)
    denied = gate.check(order("a", Side.BUY, "1"), account())
    assert isinstance(denied, Denied)
    assert denied.reason is reason
    # Data returns: trading resumes on the next evaluate.
    assert gate.evaluate(account(), NOW + 1, NOW + 1, NOW + 1) is TradingState.ACTIVE


def test_kill_flag_flipped_at_run_time_halts_at_once() -> None:
    acct = account(ETH=eth("1"))
    gate = gate_at(acct)
    assert isinstance(gate.check(order("a", Side.BUY, "1"), acct), Approved)
    gate.set_limits(msgspec.structs.replace(LIMITS, kill=True))
    # Before any evaluate: already halted and cancel-all.
    assert gate.state is TradingState.HALTED
    assert gate.cancel_all_required
    assert gate.check(order("b", Side.SELL, "0.5"), acct) == Denied(
        DenialReason.KILL_SWITCH, "kill flag is set"
    )
    assert gate.evaluate(acct, NOW, NOW, NOW) is TradingState.HALTED
    assert gate.assessment.reasons == (DenialReason.KILL_SWITCH,)
    gate.set_limits(LIMITS)
    assert gate.evaluate(acct, NOW, NOW, NOW) is TradingState.ACTIVE


def test_soft_drawdown_reduces_hard_drawdown_halts_and_latches() -> None:
    long_eth = eth("2")
    gate = RiskGate(LIMITS)
    # 5 % from a 10,000 peak = half of the 10 % hard limit: reduce only.
    assert gate.evaluate(account("9500", "10000", ETH=long_eth), NOW, NOW, NOW) is TradingState.REDUCING
    assert gate.assessment.drawdown_pct == D(5)
    assert gate.assessment.reasons == (DenialReason.DRAWDOWN,)
    assert not gate.cancel_all_required
    # 4.9 % is still ACTIVE: the peak, not the starting equity, is the reference.
    assert gate.evaluate(account("10459", "11000", ETH=long_eth), NOW, NOW, NOW) is TradingState.ACTIVE
    # 10 % halts, and stays halted when equity recovers ...
    assert gate.evaluate(account("9000", "10000", ETH=long_eth), NOW, NOW, NOW) is TradingState.HALTED
    assert DenialReason.DRAWDOWN_HALT in gate.assessment.reasons
    assert gate.evaluate(account("9990", "10000", ETH=long_eth), NOW, NOW, NOW) is TradingState.HALTED
    # ... until the operator resets it.
    gate.reset_halt()
    assert gate.evaluate(account("9990", "10000", ETH=long_eth), NOW, NOW, NOW) is TradingState.ACTIVE


def test_leverage_liquidation_distance_and_position_breaches_reduce() -> None:
    gate = RiskGate(LIMITS)
    assert gate.evaluate(account("5000", "5000", ETH=eth("6")), NOW, NOW, NOW) is TradingState.REDUCING
    assert gate.assessment.reasons == (DenialReason.LEVERAGE,)  # 18,000 / 5,000 = 3.6x
    assert gate.evaluate(account(ETH=eth("1", liq="2600")), NOW, NOW, NOW) is TradingState.REDUCING
    assert gate.assessment.reasons == (DenialReason.LIQUIDATION_DISTANCE,)  # 13.3 % < 15 %
    big = account("100000", "100000", ETH=eth("7"))  # 21,000 > 20,000 after a mark move
    assert gate.evaluate(big, NOW, NOW, NOW) is TradingState.REDUCING
    assert gate.assessment.reasons == (DenialReason.POSITION_NOTIONAL,)


# -- orders ------------------------------------------------------------------------------------------


def test_reducing_state_approves_only_reductions() -> None:
    acct = account("9400", "10000", ETH=eth("4"))
    gate = gate_at(acct)
    assert gate.state is TradingState.REDUCING
    assert gate.check(order("a", Side.SELL, "3"), acct) == Approved("a", reducing=True)
    denied = gate.check(order("b", Side.SELL, "2"), acct)  # 3 + 2 > 4: would flip short
    assert isinstance(denied, Denied)
    assert denied.reason is DenialReason.REDUCE_ONLY_STATE
    assert "drawdown" in denied.detail
    assert isinstance(gate.check(order("c", Side.BUY, "0.1"), acct), Denied)
    assert gate.check(order("d", Side.SELL, "1"), acct) == Approved("d", reducing=True)  # exactly flat
    gate.on_done("a")  # cancelled: its share of the position is free again
    assert gate.check(order("e", Side.SELL, "3"), acct) == Approved("e", reducing=True)


def test_order_notional_applies_to_every_order() -> None:
    acct = account("100000", "100000", ETH=eth("5"))
    gate = gate_at(acct)
    denied = gate.check(order("a", Side.SELL, "4"), acct)  # 12,000 > 10,000 even though it reduces
    assert denied == Denied(DenialReason.ORDER_NOTIONAL, "order notional 12000 > limit 10000")


def test_in_flight_orders_count_against_the_position_limit() -> None:
    acct = account("100000", "100000", ETH=eth("2"))  # 6,000
    gate = gate_at(acct)
    assert gate.check(order("a", Side.BUY, "3"), acct) == Approved("a", reducing=False)  # worst 5 x 3,000
    assert gate.in_flight_notional() == D(9_000)
    denied = gate.check(order("b", Side.BUY, "2"), acct)  # worst 7 x 3,000 = 21,000
    assert isinstance(denied, Denied)
    assert denied.reason is DenialReason.POSITION_NOTIONAL
    gate.on_fill("a", D(1))  # 1 filled: the caller now reports a position of 3 and 2 still rest
    acct = account("100000", "100000", ETH=eth("3"))
    assert gate.in_flight_notional("ETH") == D(6_000)
    assert isinstance(gate.check(order("b", Side.BUY, "2"), acct), Denied)  # still 7 worst case
    gate.on_fill("a", D(2))  # fully filled
    acct = account("100000", "100000", ETH=eth("5"))
    assert gate.in_flight_ids() == frozenset()
    assert isinstance(gate.check(order("b", Side.BUY, "1.6"), acct), Approved)  # 6.6 x 3,000 = 19,800


def test_in_flight_orders_count_against_leverage_across_markets() -> None:
    acct = account("10000", "10000")  # 3x: worst-case gross <= 30,000
    gate = gate_at(acct)
    assert isinstance(gate.check(order("a", Side.BUY, "3", market="ETH"), acct), Approved)  # 9,000
    assert isinstance(
        gate.check(order("b", Side.SELL, "0.15", "60000", market="BTC"), acct), Approved
    )  # 18,000
    # The opposite side of the same market does not add: BTC worst case stays max(0.1, 0.15) x 60,000.
    assert isinstance(gate.check(order("c", Side.BUY, "0.1", "60000", market="BTC"), acct), Approved)
    assert isinstance(gate.check(order("d", Side.BUY, "1", market="ETH"), acct), Approved)  # 12,000 + 9,000
    assert isinstance(
        gate.check(order("e", Side.SELL, "0.1", "60000", market="BTC"), acct), Approved
    )  # 27,000
    denied = gate.check(order("f", Side.BUY, "1.1", market="SOL"), acct)  # + 3,300 = 30,300
    assert denied == Denied(DenialReason.LEVERAGE, "worst-case gross 30300.00 on equity 10000 > 3x")
    gate.on_done("e")
    assert isinstance(gate.check(order("f", Side.BUY, "1.1", market="SOL"), acct), Approved)  # 24,300


def test_active_gate_denies_growth_near_liquidation_and_misflagged_reduce_only() -> None:
    gate = gate_at(account(ETH=eth("1")))
    near = account(ETH=eth("1", liq="2700"))  # the account moved since evaluate: 10 % from liquidation
    denied = gate.check(order("a", Side.BUY, "0.5"), near)
    assert isinstance(denied, Denied)
    assert denied.reason is DenialReason.LIQUIDATION_DISTANCE
    assert isinstance(gate.check(order("b", Side.SELL, "0.5"), near), Approved)
    denied = gate.check(order("c", Side.BUY, "0.5", reduce_only=True), near)
    assert isinstance(denied, Denied)
    assert denied.reason is DenialReason.NOT_REDUCING


def test_malformed_and_duplicate_orders() -> None:
    acct = account(ETH=eth("1"))
    gate = gate_at(acct)
    bad = gate.check(order("a", Side.BUY, "0"), acct)
    assert isinstance(bad, Denied)
    assert bad.reason is DenialReason.INVALID_ORDER
    assert isinstance(gate.check(order("a", Side.BUY, "0.1"), acct), Approved)
    dup = gate.check(order("a", Side.BUY, "0.1"), acct)
    assert isinstance(dup, Denied)
    assert dup.reason is DenialReason.DUPLICATE_ORDER
    gate.clear_in_flight()
    assert gate.in_flight_notional() == 0


# -- properties --------------------------------------------------------------------------------------

sizes = st.decimals(min_value=D("0.01"), max_value=D(20), places=2)
signed_sizes = st.decimals(min_value=D(-20), max_value=D(20), places=2)
intents = st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), sizes, st.booleans()), max_size=12)


@settings(max_examples=200)
@given(position=signed_sizes, orders=intents)
def test_reducing_state_never_approves_growth_or_a_flip(
    position: D, orders: list[tuple[Side, D, bool]]
) -> None:
    # 10 % down with a 15 % hard limit: past the 7.5 % soft grade, so REDUCING.
    limits = msgspec.structs.replace(LIMITS, max_order_notional_usd=D(10**9), max_drawdown_pct=D(15))
    acct = account("9000", "10000", ETH=eth(str(position), "100"))
    gate = gate_at(acct, limits)
    assert gate.state is TradingState.REDUCING
    sold = bought = D(0)
    for i, (side, size, reduce_only) in enumerate(orders):
        result = gate.check(order(str(i), side, str(size), "100", reduce_only=reduce_only), acct)
        if isinstance(result, Approved):
            assert result.reducing
            assert side.sign * position < 0
            if side is Side.SELL:
                sold += size
            else:
                bought += size
    assert sold <= max(position, D(0))
    assert bought <= max(-position, D(0))


halt_causes = st.sampled_from(["kill", "stale_md", "stale_oracle", "drawdown"])


@given(cause=halt_causes, position=signed_sizes, orders=intents, age=st.floats(5.01, 1e6))
def test_halted_approves_nothing(
    cause: str, position: D, orders: list[tuple[Side, D, bool]], age: float
) -> None:
    limits = msgspec.structs.replace(LIMITS, kill=cause == "kill", max_order_notional_usd=D(10**9))
    equity = "8999" if cause == "drawdown" else "10000"
    acct = account(equity, "10000", ETH=eth(str(position), "100"))
    md = NOW - age if cause == "stale_md" else NOW
    oracle = NOW - age if cause == "stale_oracle" else NOW
    gate = RiskGate(limits)
    assert gate.evaluate(acct, NOW, md, oracle) is TradingState.HALTED
    assert gate.cancel_all_required
    for i, (side, size, reduce_only) in enumerate(orders):
        assert isinstance(
            gate.check(order(str(i), side, str(size), "100", reduce_only=reduce_only), acct), Denied
        )
    assert gate.in_flight_ids() == frozenset()


@given(
    equity=st.decimals(min_value=D(1), max_value=D(20_000), places=2),
    hwm=st.decimals(min_value=D(1), max_value=D(20_000), places=2),
)
def test_state_follows_drawdown_from_the_high_water_mark(equity: D, hwm: D) -> None:
    gate = RiskGate(LIMITS)
    state = gate.evaluate(AccountState(equity=equity, high_water_mark=hwm), NOW, NOW, NOW)
    dd = (max(hwm, equity) - equity) / max(hwm, equity) * 100
    assert gate.assessment.drawdown_pct == dd
    expected = TradingState.HALTED if dd >= 10 else TradingState.REDUCING if dd >= 5 else TradingState.ACTIVE
    assert state is expected


@settings(max_examples=200)
@given(
    position=signed_sizes,
    orders=st.lists(
        st.tuples(st.sampled_from(["ETH", "BTC"]), st.sampled_from([Side.BUY, Side.SELL]), sizes), max_size=15
    ),
)
def test_active_approvals_keep_worst_case_exposure_within_limits(
    position: D, orders: list[tuple[str, Side, D]]
) -> None:
    # |position| x 1,000 <= 20,000 = the position limit; leverage 3x on 10,000 caps the gross at 30,000.
    acct = account("10000", "10000", ETH=eth(str(position), "1000"))
    gate = gate_at(acct)
    assert gate.state is TradingState.ACTIVE
    resting: dict[str, list[tuple[Side, D]]] = {"ETH": [], "BTC": []}
    for i, (market, side, size) in enumerate(orders):
        if isinstance(gate.check(order(str(i), side, str(size), "1000", market=market), acct), Approved):
            resting[market].append((side, size))
    gross = D(0)
    for market, rest in resting.items():
        q = position if market == "ETH" else D(0)
        buys = sum((s for side, s in rest if side is Side.BUY), D(0))
        sells = sum((s for side, s in rest if side is Side.SELL), D(0))
        worst = max(abs(q + buys), abs(q - sells)) * 1000
        assert worst <= LIMITS.max_position_notional_usd
        gross += worst
    assert gross <= 30_000
    assert gate.in_flight_notional() == sum((s * 1000 for rest in resting.values() for _, s in rest), D(0))


# -- latch persistence: restore, latched, latch_reason ------------------------------------------------


def test_a_restored_latch_holds_through_evaluate_until_reset() -> None:
    gate = RiskGate(LIMITS)
    gate.restore(True, "drawdown_halt")
    assert gate.latched
    assert gate.latch_reason == "drawdown_halt"
    assert gate.state is TradingState.HALTED
    assert gate.cancel_all_required
    # Fresh data, no drawdown at all (a new process, the peak not yet known): still halted.
    for _ in range(3):
        assert gate.evaluate(account("10000", "10000"), NOW, NOW - 1, NOW - 1) is TradingState.HALTED
        assert gate.assessment.reasons == (DenialReason.DRAWDOWN_HALT,)
    denied = gate.check(order("a", Side.BUY, "1"), account())
    assert isinstance(denied, Denied)
    assert denied.reason is DenialReason.DRAWDOWN_HALT
    gate.reset_halt()
    assert not gate.latched
    assert gate.latch_reason is None
    assert gate.evaluate(account("10000", "10000"), NOW, NOW - 1, NOW - 1) is TradingState.ACTIVE


def test_restore_denies_at_once_before_any_evaluate() -> None:
    gate = RiskGate(LIMITS)
    gate.restore(True, None)
    assert gate.latch_reason == "drawdown_halt"  # no reason recorded: the hard drawdown
    denied = gate.check(order("a", Side.BUY, "1"), account())
    assert isinstance(denied, Denied)
    assert denied.reason is DenialReason.DRAWDOWN_HALT


def test_restore_with_another_known_reason_halts_with_it() -> None:
    gate = RiskGate(LIMITS)
    gate.restore(True, DenialReason.STALE_ORACLE.value)
    gate.evaluate(account(), NOW, NOW - 1, NOW - 1)
    assert gate.state is TradingState.HALTED
    assert gate.assessment.reasons == (DenialReason.STALE_ORACLE,)
    assert gate.latch_reason == "stale_oracle"


def test_restore_with_an_unknown_reason_halts_as_a_drawdown_and_keeps_the_text() -> None:
    gate = RiskGate(LIMITS)
    gate.restore(True, "operator said so")
    gate.evaluate(account(), NOW, NOW - 1, NOW - 1)
    assert gate.assessment.reasons == (DenialReason.DRAWDOWN_HALT,)
    assert gate.latch_reason == "operator said so"  # what was persisted comes back unchanged


def test_restoring_unlatched_never_clears_a_latch() -> None:
    gate = gate_at(account("8900", "10000"))  # 11 % drawdown: latched
    assert gate.latched
    gate.restore(False, None)
    assert gate.latched
    assert gate.evaluate(account("10000", "10000"), NOW, NOW - 1, NOW - 1) is TradingState.HALTED
    fresh = RiskGate(LIMITS)
    fresh.restore(False, None)
    assert not fresh.latched
    assert fresh.evaluate(account(), NOW, NOW - 1, NOW - 1) is TradingState.ACTIVE


def test_a_hard_drawdown_reports_its_latch_for_persistence() -> None:
    gate = gate_at(account("9500", "10000"))  # 5 %: reducing, not latched
    assert not gate.latched
    assert gate.latch_reason is None
    gate.evaluate(account("8900", "10000"), NOW, NOW - 1, NOW - 1)
    assert gate.latched
    assert gate.latch_reason == "drawdown_halt"
    # A kill flag and a restored kill-switch latch name the cause once.
    killed = RiskGate(msgspec.structs.replace(LIMITS, kill=True))
    killed.restore(True, DenialReason.KILL_SWITCH.value)
    killed.evaluate(account(), NOW, NOW - 1, NOW - 1)
    assert killed.assessment.reasons == (DenialReason.KILL_SWITCH,)
