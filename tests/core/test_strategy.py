"""The market-making step: risk grades, cost-aware requotes, hedge ladder and funding slices."""

from __future__ import annotations

from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.core.order_diff import Cancel, LiveOrder, Place, Replace
from keeper.core.quote import GasInput, QuoteParams, SettlementModel
from keeper.core.risk import RiskLimits, TradingState
from keeper.core.strategy import FundingUnwindParams, HedgeParams, MakerParams, MarketMaker, MarketView
from keeper.core.types import Side

D = Decimal
QUOTE = QuoteParams(
    tick=D("0.01"),
    lot=D("0.001"),
    order_size=0.5,
    max_position=10.0,
    intensity_a=1.0,
    intensity_k=1.0 / 0.9,
    maker_fee_rate=0.00015,
    soft_position=1.5,
)
LIMITS = RiskLimits(max_order_notional_usd=D(50_000), max_position_notional_usd=D(100_000), max_leverage=D(5))
API = SettlementModel(tau_s=0.17, replace_gas=0, max_batch=50)
CHAIN = SettlementModel(tau_s=2.0, place_gas=120_000, cancel_gas=40_000, replace_gas=110_000, max_batch=10)


def maker(quoter: str = "keeper", settlement: SettlementModel = API, **kw: object) -> MarketMaker:
    params = MakerParams(quoter=quoter, quote=QUOTE, cost_aware_requote=quoter == "keeper", **kw)  # type: ignore[arg-type]
    return MarketMaker(params, settlement, LIMITS)


def view(now: float = 10.0, mid: float = 3000.0, **kw: object) -> MarketView:
    return MarketView(now_s=now, mid=mid, best_bid=mid - 0.3, best_ask=mid + 0.3, oracle_price=mid, **kw)  # type: ignore[arg-type]


def places(decision: object) -> list[Place]:
    return [a for batch in decision.batches for a in batch if isinstance(a, Place)]  # type: ignore[attr-defined]


def test_flat_maker_quotes_both_sides_with_fresh_ids() -> None:
    m = maker()
    d = m.decide(view(), [], position=0.0, equity=100_000.0)
    assert d.state is TradingState.ACTIVE
    placed = places(d)
    assert {p.side for p in placed} == {Side.BUY, Side.SELL}
    assert len({p.order_id for p in placed}) == 2
    assert all(p.order_id for p in placed)
    bid = next(p for p in placed if p.side is Side.BUY)
    ask = next(p for p in placed if p.side is Side.SELL)
    assert bid.price < D(3000) < ask.price


def test_stale_market_data_cancels_everything_and_quotes_nothing() -> None:
    m = maker()
    live = [LiveOrder(order_id="a", side=Side.BUY, price=D("2999"), size=D("0.5"))]
    d = m.decide(view(now=100.0, market_data_s=10.0), live, position=0.0, equity=100_000.0)
    assert d.state is TradingState.HALTED
    assert [a for b in d.batches for a in b] == [Cancel(order_id="a", side=Side.BUY)]
    assert d.takes == ()


@settings(max_examples=60, deadline=None)
@given(position=st.floats(-12, 12).filter(lambda x: abs(x) > 0.01), drawdown=st.floats(5.5, 9.5))
def test_reducing_state_only_quotes_the_side_that_shrinks_the_position(
    position: float, drawdown: float
) -> None:
    m = maker()
    m.decide(view(now=1.0), [], position=0.0, equity=100_000.0)  # high-water mark 100,000
    equity = 100_000.0 * (1 - drawdown / 100)
    d = m.decide(view(now=2.0), [], position=position, equity=equity)
    assert d.state is TradingState.REDUCING
    for p in places(d):
        assert p.side is (Side.SELL if position > 0 else Side.BUY)
        assert p.size <= D(repr(abs(position))) + QUOTE.lot


@settings(max_examples=40, deadline=None)
@given(position=st.floats(-10, 10), drawdown=st.floats(10.0, 90.0))
def test_halted_after_a_hard_drawdown_sends_no_order(position: float, drawdown: float) -> None:
    m = maker()
    m.decide(view(now=1.0), [], position=0.0, equity=100_000.0)
    d = m.decide(view(now=2.0), [], position=position, equity=100_000.0 * (1 - drawdown / 100))
    assert d.state is TradingState.HALTED
    assert not places(d)
    assert d.takes == ()


def test_gas_spike_keeps_live_orders_when_a_requote_costs_more_than_the_move() -> None:
    # 15 gwei at 3,000 USD: a replace costs 110,000 * 15e-9 * 3,000 = 4.95 USD; a 1 USD move on 0.5 is
    # worth 0.3 * 0.5 * 1 = 0.15 USD in expectation: keep. The baseline requotes.
    gas = GasInput(quote_per_gas=15e-9 * 3000.0, level=1.0)
    keeper = maker(settlement=CHAIN)
    first = keeper.decide(view(now=1.0, gas=gas), [], position=0.0, equity=100_000.0)
    live = [
        LiveOrder(order_id=p.order_id or "", side=p.side, price=p.price, size=p.size) for p in places(first)
    ]
    moved = keeper.decide(view(now=2.0, mid=3001.0, gas=gas), live, position=0.0, equity=100_000.0)
    assert moved.batches == ()
    baseline = maker("as", settlement=CHAIN)
    first = baseline.decide(view(now=1.0, gas=gas), [], position=0.0, equity=100_000.0)
    live = [
        LiveOrder(order_id=p.order_id or "", side=p.side, price=p.price, size=p.size) for p in places(first)
    ]
    moved = baseline.decide(view(now=2.0, mid=3001.0, gas=gas), live, position=0.0, equity=100_000.0)
    assert any(isinstance(a, Replace) for b in moved.batches for a in b)


def test_hedge_ladder_takes_slices_back_toward_the_target() -> None:
    m = maker(hedge=HedgeParams(trigger=0.3, target=0.5, slice_size=1.0, interval_s=2.0))
    d = m.decide(view(now=10.0), [], position=4.0, equity=100_000.0)
    # trigger 3, target 1.5: the excess is 2.5, one slice of at most 1.0, selling.
    assert [(t.side, t.size, t.reason) for t in d.takes] == [(Side.SELL, D("1.000"), "hedge")]
    tick = m.params.quote.tick
    assert all(t.limit_price % tick == 0 for t in d.takes)  # venues refuse off-tick limits
    assert m.decide(view(now=11.0), [], position=3.5, equity=100_000.0).takes == ()  # within the interval
    assert len(m.decide(view(now=12.5), [], position=3.5, equity=100_000.0).takes) == 1
    assert m.decide(view(now=20.0), [], position=2.9, equity=100_000.0).takes == ()  # under the trigger


def test_funding_planner_cuts_a_paying_position_before_the_snapshot() -> None:
    # Long 5 at 3,000 paying 10 bp: 15 USD saved against 5.5 bp (1 spread + 4.5 taker) = 8.25: cut all.
    unwind = FundingUnwindParams(plan_window_s=300.0, taker_fee_bps=4.5, half_spread_bps=1.0)
    m = maker(funding_unwind=unwind, hedge=None)
    v = view(now=3400.0, funding_rate=0.001, time_to_funding_s=200.0)
    takes = list(m.decide(v, [], position=5.0, equity=100_000.0).takes)
    later = msgspec.structs.replace(v, now_s=3600.0 - 20.0, time_to_funding_s=20.0)
    takes += m.decide(later, [], position=5.0, equity=100_000.0).takes
    cut = sum((t.size for t in takes if t.reason == "funding_unwind"), D(0))
    assert cut == D(5)
    assert all(t.side is Side.SELL for t in takes)


def test_jump_trigger_marks_the_decision_urgent() -> None:
    m = maker(jump_trigger_bps=5.0)
    assert not m.decide(view(now=1.0), [], position=0.0, equity=100_000.0).urgent
    assert not m.wants_to_react(3000.9)
    assert m.wants_to_react(3002.0)
    assert m.decide(view(now=1.2, mid=3002.0), [], position=0.0, equity=100_000.0).urgent
