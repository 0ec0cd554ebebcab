"""Quote engine: worked numbers for each quoter and term, and properties over random markets."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from keeper.core.gas import GasState
from keeper.core.quote import (
    AvellanedaStoikovQuoter,
    FixedSpreadQuoter,
    GasInput,
    Inventory,
    KeeperQuoter,
    MarketSnapshot,
    Quote,
    QuoteParams,
    QuoteSet,
    SettlementModel,
    Side,
    expected_snapshots,
    gas_floor,
    glft_terms,
    make_quoter,
    requote_threshold,
    round_price,
    round_size,
    should_requote,
    size_multiplier,
)

D = Decimal


def params(**overrides: object) -> QuoteParams:
    fields: dict[str, object] = {
        "tick": D("0.01"),
        "lot": D("0.01"),
        "order_size": 1.0,
        "max_position": 10.0,
        "gamma": 0.1,
        "intensity_a": 1.0,
        "intensity_k": 10.0,
        "size_ref_move": 0.002,
        "fill_ratio": 0.5,
    }
    fields.update(overrides)
    return QuoteParams(**fields)  # type: ignore[arg-type]


# 100k gas to place, 50k to cancel, no native replace; 4 s until a quote or cancel lands.
SETTLEMENT = SettlementModel(tau_s=4.0, place_gas=100_000, cancel_gas=50_000, replace_gas=None, max_batch=8)
SNAP = MarketSnapshot(mid=100.0, sigma=0.001)  # σ = 0.001·100 = 0.1 quote per √s
EXPENSIVE = GasInput(quote_per_gas=1e-6)  # place 0.10, cancel 0.05
CHEAP = GasInput(quote_per_gas=1e-7)  # place 0.01, cancel 0.005
FLAT = Inventory(position=0.0)


def prices(quotes: tuple[Quote, ...]) -> list[Decimal]:
    return [q.price for q in quotes]


def sizes(quotes: tuple[Quote, ...]) -> list[Decimal]:
    return [q.size for q in quotes]


# ---- model pieces


def test_glft_terms_worked_numbers() -> None:
    c1, omega = glft_terms(gamma=0.1, sigma_price=0.1, a=1.0, k=10.0)
    assert c1 == pytest.approx(10 * math.log(1.01))  # 0.0995033
    assert omega == pytest.approx(math.sqrt(0.1 * 0.01 / 20 * 1.01**101))  # 0.0116873
    assert omega == pytest.approx(0.0116873, abs=1e-7)
    # Tiny γ/k: (1 + γ/k)^(1 + k/γ) -> e, c1 -> 1/k, no overflow.
    c1, omega = glft_terms(gamma=1e-12, sigma_price=1.0, a=1.0, k=1.0)
    assert c1 == pytest.approx(1.0)
    assert omega == pytest.approx(math.sqrt(1e-12 / 2 * math.e))


def test_expected_snapshots_worked_numbers() -> None:
    assert expected_snapshots(0.0, 3600.0, 3600.0) == pytest.approx(1 / (1 - math.exp(-1)))  # 1.582
    assert expected_snapshots(1800.0, 3600.0, 3600.0) == pytest.approx(math.exp(-0.5) / (1 - math.exp(-1)))
    assert expected_snapshots(0.0, 3600.0, 360_000.0) == pytest.approx(100.5, rel=1e-3)  # ≈ H/I + 1/2
    assert expected_snapshots(0.0, 3600.0, 1.0) == pytest.approx(1.0)  # due now, held briefly: one payment
    assert expected_snapshots(1800.0, 3600.0, 1.0) == pytest.approx(0.0)  # gone long before it
    assert expected_snapshots(10.0, 3600.0, 0.0) == 0.0


def test_gas_floor_amortises_ops_over_expected_fills() -> None:
    costs = SETTLEMENT.op_costs(EXPENSIVE)
    assert (costs.place, costs.cancel, costs.replace) == (pytest.approx(0.1), pytest.approx(0.05), None)
    assert costs.requote == pytest.approx(0.15)  # cancel + place
    # per order 0.5·0.10 + 0.5·0.15 = 0.125, earned on 0.5 fills of 0.5 base: δ ≥ 0.125 / 0.25 = 0.5
    assert gas_floor(costs, 0.5, params(), fair=100.0) == pytest.approx(0.5)
    # a 1 bp maker fee adds 0.01 at s = 100
    assert gas_floor(costs, 0.5, params(maker_fee_rate=1e-4), fair=100.0) == pytest.approx(0.51)
    assert gas_floor(costs, 0.0, params(), fair=100.0) == math.inf
    replace = SettlementModel(tau_s=1.0, place_gas=100_000, cancel_gas=50_000, replace_gas=60_000)
    assert replace.op_costs(EXPENSIVE).requote == pytest.approx(0.06)


def test_size_multiplier_worked_numbers() -> None:
    p = params()
    assert size_multiplier(0.001, 4.0, 1.0, p) == pytest.approx(0.5)  # σ√τ = 0.002 = m_ref: halve
    assert size_multiplier(0.0, 4.0, 1.0, p) == 1.0
    assert size_multiplier(0.0, 0.0, 2.0, p) == pytest.approx(0.5)  # gas at twice its EWMA
    assert size_multiplier(0.0, 0.0, 0.5, p) == 1.0  # cheap gas never grows sizes


def test_rounding_never_narrows() -> None:
    assert round_price(99.69465, D("0.01"), Side.BUY) == D("99.69")
    assert round_price(100.30535, D("0.01"), Side.SELL) == D("100.31")
    assert round_price(100.01, D("0.01"), Side.BUY) == D("100.01")  # repr, not the binary tail
    assert round_price(100.01, D("0.01"), Side.SELL) == D("100.01")
    assert round_price(1234.5, D("0.5"), Side.SELL) == D("1234.5")
    assert round_size(0.4999, D("0.01")) == D("0.49")
    assert round_size(-1.0, D("0.01")) == 0
    assert round_size(math.nan, D("0.01")) == 0


def test_gas_input_from_state() -> None:
    state = GasState(
        block_number=1,
        base_fee=10 * 10**9,
        next_base_fee=10 * 10**9,
        priority_fee=10**9,
        ewma_base_fee=5e9,
        level=2.0,
        trend=0.0,
        spike=True,
    )
    gas = GasInput.from_state(state, native_price_quote=3000.0)
    assert gas.quote_per_gas == pytest.approx(11e9 / 1e18 * 3000)
    assert gas.level == 2.0


# ---- KeeperQuoter worked numbers
# s = 100, σ = 0.1, γ = 0.1, k = 10, A = 1: c1 = 0.0995033, ω = 0.0116873; τ = 4 s adds σ√τ = 0.2;
# model half-spread 0.3053470. Size 1 × 1/(1 + 0.001·2/0.002) = 0.5.


def test_keeper_model_half_spread_when_gas_is_cheap() -> None:
    qs = KeeperQuoter(params(), SETTLEMENT).quote(SNAP, FLAT, CHEAP)
    assert qs.half_spread == pytest.approx(0.3053470, abs=1e-7)
    assert qs.adverse_selection == pytest.approx(0.2)
    assert qs.reservation_price == pytest.approx(100.0)
    assert prices(qs.bids) == [D("99.69")]  # 99.69465 down
    assert prices(qs.asks) == [D("100.31")]  # 100.30535 up
    assert sizes(qs.bids) == sizes(qs.asks) == [D("0.50")]
    assert all(isinstance(q.price, Decimal) and isinstance(q.size, Decimal) for q in qs.all())


def test_keeper_gas_floor_binds_when_gas_is_expensive() -> None:
    qs = KeeperQuoter(params(), SETTLEMENT).quote(SNAP, FLAT, EXPENSIVE)
    assert prices(qs.bids) == [D("99.50")]  # floor 0.5 > model 0.305
    assert prices(qs.asks) == [D("100.50")]


def test_keeper_inventory_skew() -> None:
    qs = KeeperQuoter(params(), SETTLEMENT).quote(SNAP, Inventory(position=1.0), CHEAP)
    assert qs.reservation_price == pytest.approx(100 - 0.0116873, abs=1e-7)
    assert prices(qs.bids) == [D("99.68")]  # 99.68296
    assert prices(qs.asks) == [D("100.30")]  # 100.29366
    target = KeeperQuoter(params(), SETTLEMENT).quote(SNAP, Inventory(position=1.0, target=1.0), CHEAP)
    assert target.reservation_price == pytest.approx(100.0)


def test_keeper_funding_drift() -> None:
    # Longs pay 1 bp at a snapshot due now, on the oracle price 100: the whole ladder leans 0.01 lower.
    snap = MarketSnapshot(mid=100.0, sigma=0.001, oracle_price=100.0, funding_rate=1e-4, time_to_funding_s=0)
    qs = KeeperQuoter(params(), SETTLEMENT).quote(snap, FLAT, CHEAP)
    assert qs.funding_shift == pytest.approx(-0.01)
    assert prices(qs.bids) == [D("99.68")]  # 99.68465
    assert prices(qs.asks) == [D("100.30")]  # 100.29465
    # The model holds inventory ~ω/(γσ²) = 11.7 s: a snapshot half an hour away does not matter.
    later = MarketSnapshot(mid=100.0, sigma=0.001, funding_rate=1e-4, time_to_funding_s=1800)
    assert KeeperQuoter(params(), SETTLEMENT).quote(later, FLAT, CHEAP).funding_shift == pytest.approx(0.0)
    # Clamped at max_funding_shift·s = 0.2; shorts paying leans up.
    wild = MarketSnapshot(mid=100.0, sigma=0.001, funding_rate=-0.04, time_to_funding_s=0)
    assert KeeperQuoter(params(), SETTLEMENT).quote(wild, FLAT, CHEAP).funding_shift == pytest.approx(0.2)


def test_keeper_levels_and_position_cap() -> None:
    quoter = KeeperQuoter(params(levels=3), SETTLEMENT)
    qs = quoter.quote(SNAP, FLAT, CHEAP)
    # d = 0.30535, spacing 0.5·d: 0.30535, 0.45802, 0.61069
    assert prices(qs.bids) == [D("99.69"), D("99.54"), D("99.38")]
    assert prices(qs.asks) == [D("100.31"), D("100.46"), D("100.62")]
    assert [q.level for q in qs.bids] == [0, 1, 2]
    capped = quoter.quote(SNAP, Inventory(position=9.8), CHEAP)
    assert sizes(capped.bids) == [D("0.20")]  # only 0.2 of room to buy
    assert sizes(capped.asks) == [D("0.50")] * 3
    assert quoter.quote(SNAP, Inventory(position=10.0), CHEAP).bids == ()


def test_keeper_sizes_shrink_with_gas_level() -> None:
    qs = KeeperQuoter(params(), SETTLEMENT).quote(SNAP, FLAT, GasInput(quote_per_gas=1e-7, level=2.0))
    assert sizes(qs.bids) == [D("0.25")]


def test_keeper_micro_price_and_oracle_anchor() -> None:
    snap = MarketSnapshot(mid=100.0, micro_price=100.2, oracle_price=101.0, sigma=0.0)
    qs = KeeperQuoter(params(oracle_weight=0.5), SettlementModel(tau_s=0.0)).quote(snap, FLAT, CHEAP)
    assert qs.reservation_price == pytest.approx(100.6)


# ---- baselines


def test_avellaneda_stoikov_worked_numbers() -> None:
    # r = 100 − 2·0.1·0.01·60 = 99.88; spread = 0.06 + 20·ln(1.01) = 0.259007; half 0.1295033
    qs = AvellanedaStoikovQuoter(params(horizon_s=60.0)).quote(SNAP, Inventory(position=2.0), EXPENSIVE)
    assert qs.reservation_price == pytest.approx(99.88)
    assert qs.half_spread == pytest.approx((0.06 + 20 * math.log(1.01)) / 2)
    assert prices(qs.bids) == [D("99.75")]  # 99.7504967
    assert prices(qs.asks) == [D("100.01")]  # 100.0095033
    assert sizes(qs.bids) == sizes(qs.asks) == [D("1.00")]  # no gas or delay terms


def test_avellaneda_stoikov_eta_shrinks_the_side_that_adds_risk() -> None:
    qs = AvellanedaStoikovQuoter(params(eta=1.0)).quote(SNAP, Inventory(position=5.0), CHEAP)
    assert sizes(qs.bids) == [D("0.60")]  # e^(−0.5) = 0.6065
    assert sizes(qs.asks) == [D("1.00")]


def test_fixed_spread_worked_numbers() -> None:
    qs = FixedSpreadQuoter(params(fixed_half_spread_bps=10.0, levels=2)).quote(SNAP, FLAT, EXPENSIVE)
    assert prices(qs.bids) == [D("99.90"), D("99.85")]
    assert prices(qs.asks) == [D("100.10"), D("100.15")]


def test_post_only_clamp_keeps_levels_apart() -> None:
    # Short 8 with a long horizon: r = 148, far through the book. Bids stop under the best ask.
    snap = MarketSnapshot(mid=100.0, sigma=0.001, best_bid=99.99, best_ask=100.01)
    qs = AvellanedaStoikovQuoter(params(horizon_s=6000.0, levels=3)).quote(
        snap, Inventory(position=-8.0), CHEAP
    )
    assert prices(qs.bids) == [D("100.00"), D("99.99"), D("99.98")]
    assert min(prices(qs.asks)) > D("100.01")


def test_make_quoter_names() -> None:
    assert isinstance(make_quoter("keeper", params(), SETTLEMENT), KeeperQuoter)
    assert isinstance(make_quoter("as", params(), SETTLEMENT), AvellanedaStoikovQuoter)
    assert isinstance(make_quoter("fixed", params(), SETTLEMENT), FixedSpreadQuoter)
    with pytest.raises(ValueError, match="unknown quoter"):
        make_quoter("nope", params(), SETTLEMENT)  # type: ignore[arg-type]


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="mid"):
        MarketSnapshot(mid=0.0, sigma=0.0)
    with pytest.raises(ValueError, match="sigma"):
        MarketSnapshot(mid=1.0, sigma=math.nan)
    with pytest.raises(ValueError, match="tick"):
        params(tick=D(0))
    with pytest.raises(ValueError, match="fill_ratio"):
        params(fill_ratio=0.0)
    with pytest.raises(ValueError, match="max_batch"):
        SettlementModel(tau_s=1.0, max_batch=0)


# ---- requote threshold


def test_should_requote_only_when_the_move_pays() -> None:
    live = Quote(side=Side.BUY, price=D("100.00"), size=D("1"), level=0)

    def to(price: str, size: str = "1") -> Quote:
        return Quote(side=Side.BUY, price=D(price), size=D(size), level=0)

    assert requote_threshold(0.02, D("1")) == pytest.approx(0.02)
    assert requote_threshold(0.02, 0) == math.inf
    assert not should_requote(live, to("100.01"), cost=0.02)  # 0.01 move on 1 unit < 0.02
    assert should_requote(live, to("100.02"), cost=0.02)
    assert should_requote(live, to("99.97"), cost=0.02)
    assert should_requote(live, to("100.01"), cost=0.0)  # free venue: any move
    assert not should_requote(live, to("100.00"), cost=0.0)
    assert not should_requote(live, to("100.00", "1.2"), cost=1.0)  # within the 25 % size tolerance
    assert should_requote(live, to("100.00", "1.5"), cost=1.0)
    assert should_requote(live, Quote(side=Side.SELL, price=D("100"), size=D("1"), level=0), cost=1.0)


# ---- properties


TICKS = st.sampled_from([D("0.0001"), D("0.01"), D("0.5"), D("1")])
LOTS = st.sampled_from([D("0.001"), D("0.01"), D("1")])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[QuoteParams, SettlementModel, MarketSnapshot, Inventory, GasInput]:
    mid = draw(st.floats(min_value=0.5, max_value=1e5))
    tick = draw(TICKS)
    p = params(
        tick=tick,
        lot=draw(LOTS),
        order_size=draw(st.floats(min_value=0.0, max_value=50.0)),
        max_position=draw(st.floats(min_value=0.0, max_value=100.0)),
        levels=draw(st.integers(min_value=1, max_value=4)),
        level_spacing=draw(st.floats(min_value=0.0, max_value=2.0)),
        gamma=draw(st.floats(min_value=1e-4, max_value=10.0)),
        intensity_a=draw(st.floats(min_value=0.01, max_value=100.0)),
        intensity_k=draw(st.floats(min_value=1e-3, max_value=100.0)),
        horizon_s=draw(st.floats(min_value=1.0, max_value=86_400.0)),
        eta=draw(st.floats(min_value=0.0, max_value=5.0)),
        maker_fee_rate=draw(st.floats(min_value=-1e-4, max_value=1e-3)),
        fill_ratio=draw(st.floats(min_value=0.01, max_value=1.0)),
        oracle_weight=draw(st.floats(min_value=0.0, max_value=1.0)),
    )
    replace_gas = draw(st.none() | st.integers(min_value=0, max_value=300_000))
    settlement = SettlementModel(
        tau_s=draw(st.floats(min_value=0.0, max_value=60.0)),
        place_gas=draw(st.integers(min_value=0, max_value=300_000)),
        cancel_gas=draw(st.integers(min_value=0, max_value=300_000)),
        replace_gas=replace_gas,
        op_fee_quote=draw(st.floats(min_value=0.0, max_value=1.0)),
    )
    half_book = draw(st.floats(min_value=0.0, max_value=0.01)) * mid
    with_book = draw(st.booleans())
    snap = MarketSnapshot(
        mid=mid,
        sigma=draw(st.floats(min_value=0.0, max_value=0.01)),
        micro_price=mid * draw(st.floats(min_value=0.99, max_value=1.01)),
        oracle_price=mid * draw(st.floats(min_value=0.95, max_value=1.05)),
        best_bid=mid - half_book if with_book else None,
        best_ask=mid + half_book if with_book else None,
        funding_rate=draw(st.floats(min_value=-0.04, max_value=0.04)),
        time_to_funding_s=draw(st.floats(min_value=0.0, max_value=3600.0)),
    )
    inventory = Inventory(position=draw(st.floats(min_value=-150.0, max_value=150.0)))
    gas = GasInput(
        quote_per_gas=draw(st.floats(min_value=0.0, max_value=1e-4)),
        level=draw(st.floats(min_value=0.1, max_value=10.0)),
    )
    return p, settlement, snap, inventory, gas


def check_quote_set(qs: QuoteSet, p: QuoteParams, snap: MarketSnapshot, inventory: Inventory) -> None:
    for q in qs.all():
        assert isinstance(q.price, Decimal)
        assert isinstance(q.size, Decimal)
        assert q.price > 0
        assert q.size > 0
        assert q.price % p.tick == 0
        assert q.size % p.lot == 0
    bid_prices, ask_prices = prices(qs.bids), prices(qs.asks)
    assert bid_prices == sorted(set(bid_prices), reverse=True)  # strictly descending
    assert ask_prices == sorted(set(ask_prices))  # strictly ascending
    if qs.bids and qs.asks:
        assert bid_prices[0] < ask_prices[0]
    if snap.best_ask is not None and qs.bids:
        assert float(bid_prices[0]) < snap.best_ask  # post-only: never takes
    if snap.best_bid is not None and qs.asks:
        assert float(ask_prices[0]) > snap.best_bid
    # a full fill of either side never takes |position| past the limit
    assert float(sum(sizes(qs.bids), D(0))) <= max(0.0, p.max_position - inventory.position) + 1e-9
    assert float(sum(sizes(qs.asks), D(0))) <= max(0.0, p.max_position + inventory.position) + 1e-9
    assert [q.level for q in qs.bids] == list(range(len(qs.bids)))


@settings(max_examples=300)
@given(scenarios())
def test_every_quoter_quotes_a_sane_book(
    scenario: tuple[QuoteParams, SettlementModel, MarketSnapshot, Inventory, GasInput],
) -> None:
    p, settlement, snap, inventory, gas = scenario
    for quoter in (KeeperQuoter(p, settlement), AvellanedaStoikovQuoter(p), FixedSpreadQuoter(p)):
        check_quote_set(quoter.quote(snap, inventory, gas), p, snap, inventory)


@settings(max_examples=300)
@given(scenarios())
def test_keeper_spread_never_below_the_gas_floor(
    scenario: tuple[QuoteParams, SettlementModel, MarketSnapshot, Inventory, GasInput],
) -> None:
    p, settlement, snap, inventory, gas = scenario
    assume(p.maker_fee_rate >= 0)
    qs = KeeperQuoter(p, settlement).quote(snap, inventory, gas)
    costs = settlement.op_costs(gas)
    requote = costs.cancel + costs.place if costs.replace is None else costs.replace
    per_order = p.fill_ratio * costs.place + (1 - p.fill_ratio) * requote
    r = qs.reservation_price
    slack = 1e-9 * max(1.0, abs(r))
    floors: dict[Side, float] = {}
    for q in qs.all():
        floor = per_order / (p.fill_ratio * float(q.size))  # gas alone, recomputed here
        distance = r - float(q.price) if q.side is Side.BUY else float(q.price) - r
        assert distance >= floor - slack
        floors.setdefault(q.side, floor)
    if qs.bids and qs.asks:
        assert float(qs.asks[0].price - qs.bids[0].price) >= floors[Side.BUY] + floors[Side.SELL] - 2 * slack


@given(
    sigma=st.floats(min_value=0.0, max_value=0.05),
    tau=st.floats(min_value=0.0, max_value=120.0),
    level=st.floats(min_value=0.0, max_value=20.0),
    bump=st.floats(min_value=1e-6, max_value=1.0),
)
def test_size_shrinks_as_sigma_tau_or_gas_level_rise(
    sigma: float, tau: float, level: float, bump: float
) -> None:
    p = params()
    base = size_multiplier(sigma, tau, level, p)
    assert 0 < base <= 1
    assert size_multiplier(sigma + bump / 100, tau, level, p) <= base
    assert size_multiplier(sigma, tau + bump, level, p) <= base
    assert size_multiplier(sigma, tau, level + bump, p) <= base
    if tau > 0.01:
        assert size_multiplier(sigma + bump / 100, tau, level, p) < base
    if level >= 1:
        assert size_multiplier(sigma, tau, level + bump, p) < base


@given(
    q1=st.floats(min_value=-9.0, max_value=9.0),
    q2=st.floats(min_value=-9.0, max_value=9.0),
    f1=st.floats(min_value=-0.01, max_value=0.01),
    f2=st.floats(min_value=-0.01, max_value=0.01),
)
def test_keeper_leans_against_inventory_and_funding(q1: float, q2: float, f1: float, f2: float) -> None:
    quoter = KeeperQuoter(params(), SETTLEMENT)

    def top(position: float, funding: float) -> tuple[Decimal, Decimal]:
        snap = MarketSnapshot(mid=100.0, sigma=0.001, funding_rate=funding, time_to_funding_s=5.0)
        qs = quoter.quote(snap, Inventory(position=position), CHEAP)
        return qs.bids[0].price, qs.asks[0].price

    def lower_or_equal(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal]) -> bool:
        return a[0] <= b[0] and a[1] <= b[1]

    lo, hi = sorted((q1, q2))
    assert lower_or_equal(top(hi, 0.0), top(lo, 0.0))  # longer: both quotes no higher
    lo, hi = sorted((f1, f2))
    assert lower_or_equal(top(0.0, hi), top(0.0, lo))  # longs pay more: both quotes no higher
