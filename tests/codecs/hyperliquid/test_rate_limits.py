"""REST weight limiter and 429 backoff: the doc's weights, worked budget numbers, backoff bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.codecs.hyperliquid.rate_limits import (
    BackoffPolicy,
    WeightLimiter,
    exchange_weight,
    info_extra_weight,
    info_weight,
)


@pytest.mark.parametrize(
    ("batch_len", "weight"), [(0, 1), (1, 1), (39, 1), (40, 2), (79, 2), (80, 3), (200, 6)]
)
def test_exchange_weight_is_one_plus_floor_batch_over_40(batch_len: int, weight: int) -> None:
    assert exchange_weight(batch_len) == weight


@pytest.mark.parametrize(
    ("type_name", "weight"),
    [
        ("l2Book", 2),
        ("allMids", 2),
        ("clearinghouseState", 2),
        ("orderStatus", 2),
        ("spotClearinghouseState", 2),
        ("exchangeStatus", 2),
        ("userRole", 60),
        ("meta", 20),
        ("metaAndAssetCtxs", 20),
        ("openOrders", 20),
        ("frontendOpenOrders", 20),
        ("userFills", 20),
        ("predictedFundings", 20),
        ("userRateLimit", 20),
    ],
)
def test_info_weights(type_name: str, weight: int) -> None:
    assert info_weight(type_name) == weight


@pytest.mark.parametrize(
    ("type_name", "n_items", "extra"),
    [
        ("userFills", 0, 0),
        ("userFills", 19, 0),
        ("userFills", 20, 1),
        ("userFillsByTime", 2000, 100),
        ("fundingHistory", 500, 25),
        ("userFunding", 41, 2),
        ("candleSnapshot", 59, 0),
        ("candleSnapshot", 120, 2),
        ("l2Book", 1000, 0),  # not an item-charged type
        ("openOrders", 1000, 0),
    ],
)
def test_info_extra_weight_per_items(type_name: str, n_items: int, extra: int) -> None:
    assert info_extra_weight(type_name, n_items) == extra


def test_budget_exhaustion_and_refill_worked_numbers() -> None:
    limiter = WeightLimiter()  # 1200 per 60 s
    # 60 metaAndAssetCtxs (weight 20) one per second from t=0 spend the whole budget.
    for second in range(60):
        assert limiter.try_acquire(20, float(second)) == 0.0
    assert limiter.used(59.0) == 1200
    # At t=59.5 the next 20 must wait for the t=0 spend to leave the window at t=60.
    assert limiter.try_acquire(20, 59.5) == pytest.approx(0.5)
    assert limiter.used(59.5) == 1200  # a refused request spends nothing
    # A weight-50 request needs the spends of t=0, 1 and 2 to expire: wait until t=62.
    assert limiter.try_acquire(50, 59.5) == pytest.approx(2.5)
    assert limiter.try_acquire(20, 60.0) == 0.0  # t=0 expired exactly now
    assert limiter.used(60.0) == 1200
    assert limiter.try_acquire(2, 60.0) == pytest.approx(1.0)
    assert limiter.used(200.0) == 0  # everything expired


def test_burst_then_sliding_window_never_exceeds_budget_in_any_minute() -> None:
    limiter = WeightLimiter(budget=100)
    assert limiter.try_acquire(100, 0.0) == 0.0  # full burst allowed
    # A token bucket refilling 100/60 per s would admit weight again at t=30; the window must not.
    assert limiter.try_acquire(1, 30.0) == pytest.approx(30.0)
    assert limiter.try_acquire(100, 60.0) == 0.0


def test_charge_adds_post_response_weight_and_can_go_into_debt() -> None:
    limiter = WeightLimiter(budget=100)
    assert limiter.try_acquire(20, 0.0) == 0.0
    limiter.charge(info_extra_weight("userFills", 2000), 1.0)  # +100 after a 2000-fill response
    assert limiter.used(1.0) == 120
    assert limiter.try_acquire(10, 2.0) == pytest.approx(59.0)  # both spends must expire: t=61
    assert limiter.try_acquire(10, 61.0) == 0.0
    limiter.charge(0, 61.0)
    assert limiter.used(61.0) == 10


def test_clock_going_backwards_never_frees_budget_early() -> None:
    limiter = WeightLimiter(budget=10)
    assert limiter.try_acquire(10, 100.0) == 0.0
    assert limiter.try_acquire(1, 50.0) == pytest.approx(60.0)  # treated as t=100
    assert limiter.try_acquire(1, 159.0) == pytest.approx(1.0)


def test_limiter_refuses_impossible_or_invalid_requests() -> None:
    limiter = WeightLimiter(budget=100)
    with pytest.raises(ValueError, match="never fit"):
        limiter.try_acquire(101, 0.0)
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError, match="weight"):
            limiter.try_acquire(bad, 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        limiter.try_acquire(1, float("nan"))
    with pytest.raises(ValueError, match="budget"):
        WeightLimiter(budget=0)
    with pytest.raises(ValueError, match="window_s"):
        WeightLimiter(window_s=0)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.floats(0, 5, allow_nan=False), st.integers(1, 60), st.booleans()),
        min_size=1,
        max_size=200,
    )
)
@pytest.mark.parametrize("epoch", [0.0, 1.7e9])  # small monotonic times and Unix-epoch seconds
def test_granted_weight_in_any_window_never_exceeds_budget(
    epoch: float, steps: list[tuple[float, int, bool]]
) -> None:
    limiter = WeightLimiter(budget=120, window_s=10.0)
    now = epoch
    granted: list[tuple[float, int]] = []
    for dt, weight, retry_at_hint in steps:
        now += dt
        wait = limiter.try_acquire(weight, now)
        if wait == 0.0:
            granted.append((now, weight))
        else:
            assert wait > 0.0
            if retry_at_hint:  # retrying exactly after the hinted wait succeeds
                now += wait
                assert limiter.try_acquire(weight, now) == 0.0
                granted.append((now, weight))
    for start, _ in granted:
        # Window of 10 s minus the limiter's 1 us rounding tolerance.
        assert sum(w for t, w in granted if start <= t < start + 10.0 - 1e-6) <= 120


def test_backoff_full_jitter_bounds_and_cap() -> None:
    policy = BackoffPolicy(base_s=0.5, cap_s=30.0, multiplier=2.0)
    assert [policy.ceiling(a) for a in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert policy.delay(0, 0.0) == 0.0
    assert policy.delay(3, 0.5) == 2.0
    assert policy.delay(3, 0.999) == pytest.approx(3.996)
    assert policy.delay(10_000, 0.5) == 15.0  # huge attempt: no overflow, capped
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="uniform"):
            policy.delay(1, bad)
    with pytest.raises(ValueError, match="attempt"):
        policy.delay(-1, 0.5)


@given(attempt=st.integers(0, 5000), u=st.floats(0.0, 1.0, exclude_max=True))
def test_backoff_delay_always_within_zero_and_cap(attempt: int, u: float) -> None:
    policy = BackoffPolicy(base_s=0.25, cap_s=20.0, multiplier=3.0)
    delay = policy.delay(attempt, u)
    assert 0.0 <= delay < 20.0
    assert delay <= policy.ceiling(attempt)


def test_backoff_policy_validates_its_parameters() -> None:
    with pytest.raises(ValueError, match="base_s"):
        BackoffPolicy(base_s=0.0)
    with pytest.raises(ValueError, match="base_s"):
        BackoffPolicy(base_s=5.0, cap_s=1.0)
    with pytest.raises(ValueError, match="multiplier"):
        BackoffPolicy(multiplier=0.5)


def test_a_reserve_keeps_headroom_for_actions() -> None:
    """Reads spend with a reserve: once only the reserve is left they wait, an action still fits."""
    limiter = WeightLimiter(budget=100)
    assert limiter.try_acquire(70, 0.0, reserve=20) == 0.0
    assert limiter.try_acquire(20, 1.0, reserve=20) > 0  # a read would eat into the reserve
    assert limiter.try_acquire(20, 1.0) == 0.0  # an action takes it
    with pytest.raises(ValueError, match="never fit"):
        limiter.try_acquire(90, 2.0, reserve=20)
