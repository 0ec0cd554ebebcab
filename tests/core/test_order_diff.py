"""Order diff: worked cases, batching, and minimality against brute force over all matchings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.core.order_diff import (
    Cancel,
    Keep,
    LiveOrder,
    OrderDiff,
    Place,
    Replace,
    chunk,
    diff_orders,
)
from keeper.core.quote import Quote, QuoteSet
from keeper.core.types import Side

D = Decimal


def live(order_id: str, side: Side, price: str, size: str = "1") -> LiveOrder:
    return LiveOrder(order_id=order_id, side=side, price=D(price), size=D(size))


def quotes(side: Side, *levels: tuple[str, str]) -> tuple[Quote, ...]:
    return tuple(
        Quote(side=side, price=D(price), size=D(size), level=i) for i, (price, size) in enumerate(levels)
    )


DESIRED = QuoteSet(
    bids=quotes(Side.BUY, ("99.00", "1"), ("98.50", "1")),
    asks=quotes(Side.SELL, ("101.00", "1")),
)
LIVE = [
    live("b1", Side.BUY, "99.00"),
    live("b2", Side.BUY, "98.00"),
    live("a1", Side.SELL, "101.02"),
    live("a2", Side.SELL, "102.00"),
]


def test_nothing_to_do_when_live_matches() -> None:
    current = [live("b1", Side.BUY, "99.00"), live("b2", Side.BUY, "98.50"), live("a1", Side.SELL, "101.00")]
    diff = diff_orders(current, DESIRED, D("0"), max_batch=4)
    assert diff.batches == ()
    assert [k.order_id for k in diff.keeps] == ["b1", "b2", "a1"]
    assert [k.level for k in diff.keeps] == [0, 1, 0]


def test_replace_cancel_and_keep() -> None:
    diff = diff_orders(LIVE, DESIRED, D("0.01"), max_batch=10)
    assert diff.keeps == (Keep(order_id="b1", side=Side.BUY, price=D("99.00"), size=D(1), level=0),)
    assert diff.wire_actions == [
        Cancel(order_id="a2", side=Side.SELL),
        Replace(order_id="a1", side=Side.SELL, price=D("101.00"), size=D(1), level=0),
        Replace(order_id="b2", side=Side.BUY, price=D("98.50"), size=D(1), level=1),
    ]
    assert diff.actions == [*diff.keeps, *diff.wire_actions]
    # a wider tolerance leaves a1 resting 2 cents off
    wide = diff_orders(LIVE, DESIRED, D("0.02"), max_batch=10)
    assert {k.order_id for k in wide.keeps} == {"b1", "a1"}
    assert len(wide.wire_actions) == 2


def test_without_native_replace_a_move_is_cancel_then_place() -> None:
    diff = diff_orders(LIVE, DESIRED, D("0.01"), max_batch=10, supports_replace=False)
    assert diff.wire_actions == [
        Cancel(order_id="b2", side=Side.BUY),
        Cancel(order_id="a1", side=Side.SELL),
        Cancel(order_id="a2", side=Side.SELL),
        Place(side=Side.SELL, price=D("101.00"), size=D(1), level=0),
        Place(side=Side.BUY, price=D("98.50"), size=D(1), level=1),
    ]


def test_batches_respect_the_venue_limit_and_send_cancels_first() -> None:
    diff = diff_orders(LIVE, DESIRED, D("0.01"), max_batch=2, supports_replace=False)
    assert [len(b) for b in diff.batches] == [2, 2, 1]
    assert all(isinstance(a, Cancel) for a in diff.batches[0])
    assert chunk([], 3) == ()
    with pytest.raises(ValueError, match="max_batch"):
        chunk([Cancel(order_id="x", side=Side.BUY)], 0)


def test_places_and_cancels_for_unmatched_orders() -> None:
    diff = diff_orders([], DESIRED, D("0"), max_batch=10)
    assert [type(a) for a in diff.wire_actions] == [Place, Place, Place]
    assert [(a.side, a.level) for a in diff.wire_actions if isinstance(a, Place)] == [
        (Side.BUY, 0),
        (Side.SELL, 0),
        (Side.BUY, 1),
    ]  # the touch on both sides first
    gone = diff_orders(LIVE, QuoteSet(), D("0"), max_batch=10)
    assert sorted(a.order_id for a in gone.wire_actions if isinstance(a, Cancel)) == ["a1", "a2", "b1", "b2"]


def test_size_tolerance() -> None:
    desired = QuoteSet(bids=quotes(Side.BUY, ("99.00", "1.0")))
    partly_filled = [live("b1", Side.BUY, "99.00", "0.8")]
    assert len(diff_orders(partly_filled, desired, D("0"), 1).keeps) == 0
    assert len(diff_orders(partly_filled, desired, D("0"), 1, size_tolerance=D("0.25")).keeps) == 1


def test_keeps_are_a_maximum_matching_not_greedy() -> None:
    # Level 0 (100.00) is closest to 99.99, but only 99.99 can serve level 1 (99.98): the augmenting path
    # gives level 0 to 100.015 instead, and both orders stay.
    desired = QuoteSet(bids=quotes(Side.BUY, ("100.00", "1"), ("99.98", "1")))
    current = [live("x", Side.BUY, "99.99"), live("y", Side.BUY, "100.015")]
    diff = diff_orders(current, desired, D("0.015"), max_batch=4)
    assert diff.batches == ()
    assert {(k.order_id, k.level) for k in diff.keeps} == {("x", 1), ("y", 0)}


def test_rejects_negative_tolerance() -> None:
    with pytest.raises(ValueError, match="tolerances"):
        diff_orders([], QuoteSet(), D("-0.01"), 1)


# ---- properties against brute force

PRICES = st.integers(min_value=0, max_value=6).map(lambda i: D(100) + D(i) / 100)
SIZES = st.sampled_from([D(1), D(2)])


def brute_force_cost(
    orders: list[LiveOrder], wanted: list[Quote], tol: Decimal, size_tol: Decimal, replace: bool
) -> int:
    """Fewest wire actions over every partial one-to-one assignment of desired quotes to live orders."""
    move = 1 if replace else 2
    best = len(orders) + len(wanted)

    def go(i: int, used: frozenset[int], cost: int) -> None:
        nonlocal best
        if i == len(wanted):
            best = min(best, cost + len(orders) - len(used))
            return
        go(i + 1, used, cost + 1)  # place it
        for j, order in enumerate(orders):
            if j not in used:
                q = wanted[i]
                keep = abs(q.price - order.price) <= tol and abs(q.size - order.size) <= size_tol * q.size
                go(i + 1, used | {j}, cost + (0 if keep else move))

    go(0, frozenset(), 0)
    return best


@st.composite
def books(draw: st.DrawFn) -> tuple[list[LiveOrder], QuoteSet]:
    orders: list[LiveOrder] = []
    desired: dict[Side, tuple[Quote, ...]] = {}
    for side in (Side.BUY, Side.SELL):
        n_live = draw(st.integers(min_value=0, max_value=4))
        orders += [
            LiveOrder(order_id=f"{side.value}{i}", side=side, price=draw(PRICES), size=draw(SIZES))
            for i in range(n_live)
        ]
        n_want = draw(st.integers(min_value=0, max_value=4))
        desired[side] = tuple(
            Quote(side=side, price=draw(PRICES), size=draw(SIZES), level=i) for i in range(n_want)
        )
    return orders, QuoteSet(bids=desired[Side.BUY], asks=desired[Side.SELL])


def check_result(diff: OrderDiff, orders: list[LiveOrder], desired: QuoteSet, tol: Decimal) -> None:
    by_id = {o.order_id: o for o in orders}
    touched = [k.order_id for k in diff.keeps]
    touched += [a.order_id for a in diff.wire_actions if isinstance(a, Cancel | Replace)]
    assert sorted(touched) == sorted(by_id)  # each live order is kept, moved or cancelled exactly once
    for side, wanted in ((Side.BUY, desired.bids), (Side.SELL, desired.asks)):
        served = [k.level for k in diff.keeps if k.side is side]
        served += [a.level for a in diff.wire_actions if isinstance(a, Replace | Place) and a.side is side]
        assert sorted(served) == [q.level for q in wanted]  # each desired level served exactly once
        for k in diff.keeps:
            if k.side is side:
                assert abs(wanted[k.level].price - by_id[k.order_id].price) <= tol
        for a in diff.wire_actions:
            if isinstance(a, Replace | Place) and a.side is side:
                assert (a.price, a.size) == (wanted[a.level].price, wanted[a.level].size)


@given(
    book=books(),
    tol=st.sampled_from([D(0), D("0.01"), D("0.02")]),
    size_tol=st.sampled_from([D(0), D("0.5")]),
    replace=st.booleans(),
    max_batch=st.integers(min_value=1, max_value=4),
)
def test_diff_is_minimal_complete_and_batched(
    book: tuple[list[LiveOrder], QuoteSet], tol: Decimal, size_tol: Decimal, replace: bool, max_batch: int
) -> None:
    orders, desired = book
    diff = diff_orders(orders, desired, tol, max_batch, size_tolerance=size_tol, supports_replace=replace)
    check_result(diff, orders, desired, tol)
    expected = sum(
        brute_force_cost([o for o in orders if o.side is side], list(wanted), tol, size_tol, replace)
        for side, wanted in ((Side.BUY, desired.bids), (Side.SELL, desired.asks))
    )
    assert len(diff.wire_actions) == expected
    assert all(1 <= len(batch) <= max_batch for batch in diff.batches)
    kinds = [0 if isinstance(a, Cancel) else 1 if isinstance(a, Replace) else 2 for a in diff.wire_actions]
    assert kinds == sorted(kinds)  # cancels, then replaces, then places
    if not replace:
        assert not any(isinstance(a, Replace) for a in diff.wire_actions)
