"""Market-data guard: every rejection reason, the rebase rule, last-valid times, reports, clock offset."""

from __future__ import annotations

from decimal import Decimal

import pytest

from keeper.core.md_guard import (
    ClockOffsetEstimator,
    GuardConfig,
    MarketDataGuard,
    Reason,
    sane_number,
)
from keeper.core.venue import BookTop, MarketContext

D = Decimal
T0 = 1_700_000_000_000


def top(
    bid: str | None = "1999", ask: str | None = "2001", bid_size: str = "1", ask_size: str = "1"
) -> BookTop:
    return BookTop(
        market="ETH",
        bid=None if bid is None else D(bid),
        ask=None if ask is None else D(ask),
        bid_size=D(bid_size),
        ask_size=D(ask_size),
        ts_ms=T0,
    )


def ctx(oracle: str = "2000", mark: str = "2000", funding: str = "0.0000125") -> MarketContext:
    return MarketContext(market="ETH", mark=D(mark), oracle=D(oracle), funding_rate=D(funding), ts_ms=T0)


@pytest.fixture
def guard() -> MarketDataGuard:
    """A guard with a mid and an oracle of 2,000 as references."""
    g = MarketDataGuard()
    assert g.check_book(top(), T0).ok
    assert g.check_context(ctx(), T0).ok
    return g


@pytest.mark.parametrize(
    ("book", "reason"),
    [
        (top(bid="NaN"), Reason.NON_FINITE),
        (top(ask="sNaN"), Reason.NON_FINITE),
        (top(bid="Infinity"), Reason.NON_FINITE),
        (top(ask="-Infinity"), Reason.NON_FINITE),
        (top(bid="0"), Reason.NON_POSITIVE),
        (top(bid="-1999"), Reason.NON_POSITIVE),  # would make a mid of ~1 in a 2,000 market
        (top(ask="1e300"), Reason.OUT_OF_RANGE),
        (top(bid="1e-999999", ask=None), Reason.OUT_OF_RANGE),
        (top(bid_size="NaN"), Reason.NON_FINITE),
        (top(ask_size="-1"), Reason.BAD_SIZE),
        (top(bid_size="1e300"), Reason.BAD_SIZE),
        (top(ask_size="1e-999999"), Reason.BAD_SIZE),  # a division by it would overflow
        (top(bid="2001", ask="2000"), Reason.CROSSED),
        (top(bid="2000", ask="2000"), Reason.CROSSED),  # locked
        (top(bid="2499", ask="2501"), Reason.JUMP_VS_ORACLE),
        (top(bid=None, ask="1500"), Reason.JUMP_VS_ORACLE),  # one-sided: its side is the level
    ],
)
def test_each_bad_book_is_rejected_counted_and_leaves_the_state(
    guard: MarketDataGuard, book: BookTop, reason: Reason
) -> None:
    verdict = guard.check_book(book, T0 + 500)
    assert verdict.reason is reason
    assert not verdict.ok
    assert guard.stats.rejected == {reason: 1}
    assert guard.stats.books == 1
    assert guard.last_valid_ms("ETH", "book") == T0
    assert guard.reference("ETH") == (D(2000), D(2000))


def test_a_jump_against_the_mid_alone_is_named_so() -> None:
    guard = MarketDataGuard()
    assert guard.check_book(top(), T0).ok  # no oracle known yet
    assert guard.check_book(top("2409", "2411"), T0 + 1).reason is Reason.JUMP_VS_MID
    assert guard.check_book(top("2399", "2401"), T0 + 2).ok  # +20 %: the band's edge is inside
    assert guard.reference("ETH") == (D(2400), None)
    assert guard.check_context(ctx("3000", "3000"), T0 + 3).reason is Reason.JUMP_VS_MID


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        (ctx(oracle="NaN"), Reason.NON_FINITE),
        (ctx(mark="Infinity"), Reason.NON_FINITE),
        (ctx(funding="NaN"), Reason.NON_FINITE),
        (ctx(funding="-sNaN"), Reason.NON_FINITE),
        (ctx(oracle="0"), Reason.NON_POSITIVE),
        (ctx(mark="-2000"), Reason.NON_POSITIVE),
        (ctx(oracle="1e300", mark="1e300"), Reason.OUT_OF_RANGE),
        (ctx(funding="1"), Reason.BAD_FUNDING),
        (ctx(funding="-3.5"), Reason.BAD_FUNDING),
        (ctx(oracle="2600"), Reason.JUMP_VS_ORACLE),
        (ctx(mark="1500"), Reason.JUMP_VS_ORACLE),  # the mark is checked too
    ],
)
def test_each_bad_context_is_rejected_and_counted(
    guard: MarketDataGuard, context: MarketContext, reason: Reason
) -> None:
    verdict = guard.check_context(context, T0 + 500)
    assert verdict.reason is reason
    assert guard.stats.rejected == {reason: 1}
    assert guard.last_valid_ms("ETH", "context") == T0


def test_a_negative_funding_rate_and_one_sided_or_empty_books_are_valid(guard: MarketDataGuard) -> None:
    assert guard.check_context(ctx(funding="-0.0005"), T0 + 1).ok
    assert guard.check_book(top(bid=None), T0 + 2).ok
    assert guard.check_book(top(ask=None, ask_size="0"), T0 + 3).ok
    assert guard.check_book(top(bid=None, ask=None), T0 + 4).ok
    assert guard.stats.rejected == {}
    assert guard.reference("ETH") == (D(2000), D(2000))  # a one-sided book is no mid
    assert guard.last_valid_ms("ETH") == T0 + 4


def test_last_valid_times_per_kind_and_market(guard: MarketDataGuard) -> None:
    assert guard.last_valid_ms("BTC") is None
    guard.check_book(top(), T0 + 10)
    guard.check_book(top(bid="NaN"), T0 + 20)
    guard.check_context(ctx(oracle="NaN"), T0 + 30)
    assert (guard.last_valid_ms("ETH", "book"), guard.last_valid_ms("ETH", "context")) == (T0 + 10, T0)
    assert guard.last_valid_ms("ETH") == T0 + 10


def test_a_lone_bad_print_is_dropped_and_the_next_good_one_taken(guard: MarketDataGuard) -> None:
    assert guard.check_book(top("2999", "3001"), T0 + 1).reason is Reason.JUMP_VS_ORACLE
    assert guard.check_book(top("1999", "2001"), T0 + 5_000).ok
    # The good book ended the streak: much later jumps start from one again.
    assert not guard.check_book(top("2999", "3001"), T0 + 6_000).ok
    assert not guard.check_book(top("2999", "3001"), T0 + 9_000).ok
    assert guard.stats.rebases == 0


def test_a_persisting_agreeing_level_is_rebased_after_n_frames_over_more_than_t() -> None:
    guard = MarketDataGuard(GuardConfig(rebase_frames=3, rebase_after_ms=2_000))
    assert guard.check_book(top(), T0).ok
    assert guard.check_context(ctx(), T0).ok
    # A real move to ~2,500: three agreeing frames are not enough within 2 s ...
    assert not guard.check_book(top("2499", "2501"), T0 + 1_000).ok
    assert not guard.check_book(top("2509", "2511"), T0 + 2_000).ok
    assert not guard.check_book(top("2519", "2521"), T0 + 3_000).ok  # 3 frames, but exactly 2 s
    verdict = guard.check_book(top("2529", "2531"), T0 + 3_001)  # 4 frames over > 2 s
    assert verdict.ok
    assert verdict.rebased
    assert guard.stats.rebases == 1
    assert guard.stats.rejected == {Reason.JUMP_VS_ORACLE: 3}
    # The new level is the reference; the oracle that disagrees with it is forgotten ...
    assert guard.reference("ETH") == (D(2530), None)
    assert guard.check_book(top("2539", "2541"), T0 + 3_100).ok
    assert not guard.check_book(top("1999", "2001"), T0 + 3_200).ok
    # ... so the confirming oracle is taken at once.
    assert guard.check_context(ctx("2535", "2536"), T0 + 3_300).ok
    assert guard.reference("ETH") == (D(2540), D(2535))


def test_frames_that_do_not_agree_restart_the_streak_so_garbage_never_rebases() -> None:
    guard = MarketDataGuard(GuardConfig(rebase_frames=3, rebase_after_ms=2_000))
    guard.check_book(top(), T0)
    for i, level in enumerate((3000, 4000, 3000, 5000, 3000, 4000, 6000)):
        assert not guard.check_book(top(str(level - 1), str(level + 1)), T0 + 1_000 * (i + 1)).ok
    assert guard.stats.rebases == 0
    assert guard.reference("ETH") == (D(2000), None)


def test_non_jump_rejections_neither_count_towards_nor_break_a_streak() -> None:
    guard = MarketDataGuard(GuardConfig(rebase_frames=2, rebase_after_ms=1_000))
    guard.check_book(top(), T0)
    assert not guard.check_book(top("2999", "3001"), T0 + 100).ok
    assert guard.check_book(top(bid="NaN"), T0 + 600).reason is Reason.NON_FINITE
    assert guard.check_book(top("3000", "2999"), T0 + 900).reason is Reason.CROSSED
    assert guard.check_book(top("3009", "3011"), T0 + 1_101).rebased


def test_a_context_rebases_on_its_own_streak_and_forgets_a_disagreeing_mid() -> None:
    guard = MarketDataGuard(GuardConfig(rebase_frames=2, rebase_after_ms=1_000))
    guard.check_book(top(), T0)
    guard.check_context(ctx(), T0)
    assert guard.check_context(ctx("3000", "3000"), T0 + 100).reason is Reason.JUMP_VS_ORACLE
    verdict = guard.check_context(ctx("3010", "3005"), T0 + 1_200)
    assert verdict.rebased
    assert guard.reference("ETH") == (None, D(3010))
    assert guard.check_book(top("3004", "3006"), T0 + 1_300).ok


def test_the_band_is_configurable() -> None:
    guard = MarketDataGuard(GuardConfig(jump_band=D("0.05")))
    guard.check_book(top(), T0)
    assert guard.check_book(top("2109", "2111"), T0 + 1).reason is Reason.JUMP_VS_MID  # +5.5 %
    assert guard.check_book(top("2089", "2091"), T0 + 2).ok  # +4.5 %


def test_a_seed_mid_is_checked_and_becomes_the_reference() -> None:
    guard = MarketDataGuard()
    for bad, reason in (
        ("NaN", Reason.NON_FINITE),
        ("-5", Reason.NON_POSITIVE),
        ("1e300", Reason.OUT_OF_RANGE),
    ):
        assert guard.check_mid("ETH", D(bad), T0).reason is reason
    assert guard.check_mid("ETH", D(2000), T0).ok
    assert guard.last_valid_ms("ETH") is None  # not a book message
    assert guard.check_book(top("2999", "3001"), T0 + 1).reason is Reason.JUMP_VS_MID
    assert guard.check_context(ctx("4000", "4000"), T0 + 2).reason is Reason.JUMP_VS_MID
    assert guard.stats.mids == 1


def test_config_is_validated() -> None:
    for bad in (
        {"jump_band": D(0)},
        {"jump_band": D("NaN")},
        {"min_price": D(5), "max_price": D(1)},
        {"max_price": D("1e20")},
        {"rebase_frames": 0},
    ):
        with pytest.raises(ValueError, match=r"must|need"):
            GuardConfig(**bad)  # type: ignore[arg-type]


def test_reports_are_due_once_per_key_per_interval_with_the_count_since() -> None:
    guard = MarketDataGuard(GuardConfig(log_interval_ms=60_000))
    assert guard.report_due("crossed", T0) == 1
    assert [guard.report_due("crossed", T0 + i) for i in range(1, 5)] == [None] * 4
    assert guard.report_due("non_finite", T0 + 5) == 1  # per key
    assert guard.report_due("crossed", T0 + 59_999) is None
    assert guard.report_due("crossed", T0 + 60_000) == 6


@pytest.mark.parametrize(
    ("value", "sane"),
    [
        ("0", True),
        ("-3.5", True),
        ("1e15", True),
        ("1e-30", True),
        ("NaN", False),
        ("sNaN", False),
        ("-Infinity", False),
        ("1.000001e15", False),
        ("1e-31", False),
        ("1e999999999", False),
    ],
)
def test_sane_number(value: str, sane: bool) -> None:
    assert sane_number(D(value)) is sane


def test_clock_offset_is_the_median_of_the_last_samples() -> None:
    estimator = ClockOffsetEstimator(window=5)
    assert estimator.offset_ms() is None
    for delay in (3, 2, 250, 4, 1):  # one late frame
        estimator.add(T0 + 15_000 + delay, T0)
    assert estimator.offset_ms() == 15_003
    for _ in range(5):
        estimator.add(T0 - 15_000, T0)  # the clock stepped: older samples age out
    assert estimator.offset_ms() == -15_000
    assert estimator.stats.samples == 10


def test_clock_offset_discards_implausible_samples() -> None:
    estimator = ClockOffsetEstimator(window=3, max_abs_ms=86_400_000)
    assert not estimator.add(T0, 0)
    assert not estimator.add(T0, -5)
    assert not estimator.add(T0, 10**30)
    assert estimator.offset_ms() is None
    assert estimator.stats.discarded == 3
