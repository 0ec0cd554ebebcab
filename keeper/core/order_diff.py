"""Order diff: desired quotes vs live orders → the fewest actions, in venue-sized batches.

Pure. Every on-chain or API operation costs gas or rate limit, so the diff minimises the number of wire
actions (cancel / replace / place); keeps are free.

Why the result is minimal, per side (sides never mix: a replace keeps its side). With L live orders, D
desired quotes, a matching of m live–desired pairs of which k are within tolerance (kept):

- with a native replace, the cost is `(m − k) + (L − m) + (D − m) = L + D − m − k`; so take k = the largest
  matching inside tolerance (augmenting paths, Kuhn 1955), then pair the rest up to m = min(L, D) as
  replaces. Any maximum keep-matching extends to a matching of size min(L, D), so both are maximal at once.
- without one, a moved order is a cancel plus a place (cost 2, the same as leaving both unmatched), so the
  cost is `L + D − 2k` and only the keep-matching matters.

Leftovers are paired in price order (bids high to low, asks low to high), which moves orders the least in
total for one-dimensional prices. Batches go cancels first (a stale quote is the risk), then replaces, then
places, best levels first, each batch holding at most `max_batch` actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from keeper.core.quote import Quote, QuoteSet
from keeper.core.types import Side


class LiveOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A resting order of ours as last known: remaining size, not the original one."""

    order_id: str
    side: Side
    price: Decimal
    size: Decimal


class Keep(msgspec.Struct, frozen=True, kw_only=True, tag="keep"):
    order_id: str
    side: Side
    price: Decimal  # the live order's (unchanged) price and size
    size: Decimal
    level: int  # the desired level it stands for


class Cancel(msgspec.Struct, frozen=True, kw_only=True, tag="cancel"):
    order_id: str
    side: Side


class Replace(msgspec.Struct, frozen=True, kw_only=True, tag="replace"):
    order_id: str
    side: Side
    price: Decimal  # the new price and size
    size: Decimal
    level: int
    new_order_id: str | None = None  # the client id the replacement rests under, once assigned


class Place(msgspec.Struct, frozen=True, kw_only=True, tag="place"):
    side: Side
    price: Decimal
    size: Decimal
    level: int
    order_id: str | None = None  # client id, assigned by the maker after the diff


Action = Keep | Cancel | Replace | Place
WireAction = Cancel | Replace | Place


class OrderDiff(msgspec.Struct, frozen=True, kw_only=True):
    """Keeps (nothing to send) and the wire actions in send order, cut into batches."""

    keeps: tuple[Keep, ...] = ()
    batches: tuple[tuple[WireAction, ...], ...] = ()

    @property
    def wire_actions(self) -> list[WireAction]:
        return [action for batch in self.batches for action in batch]

    @property
    def actions(self) -> list[Action]:
        """Every action, keeps first, then the wire actions in send order."""
        return [*self.keeps, *self.wire_actions]


def within_tolerance(live: LiveOrder, quote: Quote, tolerance: Decimal, size_tolerance: Decimal) -> bool:
    """Close enough to leave resting: `|Δprice| ≤ tolerance` and `|Δsize| ≤ size_tolerance · desired size`."""
    return (
        live.side is quote.side
        and abs(quote.price - live.price) <= tolerance
        and abs(quote.size - live.size) <= size_tolerance * quote.size
    )


def _max_matching(adjacency: list[list[int]]) -> dict[int, int]:
    """Maximum bipartite matching by augmenting paths; returns right index → left index.

    Left vertices are tried in order and their neighbours in the given order, so the best levels and the
    closest orders win ties. Sizes are a handful of levels, so O(V·E) is nothing.
    """
    owner: dict[int, int] = {}

    def augment(left: int, seen: set[int]) -> bool:
        for right in adjacency[left]:
            if right in seen:
                continue
            seen.add(right)
            if right not in owner or augment(owner[right], seen):
                owner[right] = left
                return True
        return False

    for left in range(len(adjacency)):
        augment(left, set())
    return owner


def _price_order(side: Side, price: Decimal) -> Decimal:
    return -price if side is Side.BUY else price  # best first


def _diff_side(
    side: Side,
    live: list[LiveOrder],
    desired: list[Quote],
    *,
    tolerance: Decimal,
    size_tolerance: Decimal,
    supports_replace: bool,
) -> tuple[list[Keep], list[Cancel], list[Replace], list[Place]]:
    desired = sorted(desired, key=lambda q: (q.level, _price_order(side, q.price)))
    live = sorted(live, key=lambda o: (_price_order(side, o.price), o.order_id))
    adjacency = [
        sorted(
            (j for j, order in enumerate(live) if within_tolerance(order, quote, tolerance, size_tolerance)),
            key=lambda j: (abs(live[j].price - quote.price), abs(live[j].size - quote.size), j),
        )
        for quote in desired
    ]
    owner = _max_matching(adjacency)
    keeps = [
        Keep(
            order_id=live[j].order_id,
            side=side,
            price=live[j].price,
            size=live[j].size,
            level=desired[i].level,
        )
        for j, i in sorted(owner.items(), key=lambda item: item[1])
    ]
    kept_desired = set(owner.values())
    free_live = [order for j, order in enumerate(live) if j not in owner]
    free_desired = [quote for i, quote in enumerate(desired) if i not in kept_desired]
    replaces: list[Replace] = []
    if supports_replace:
        free_desired.sort(key=lambda q: _price_order(side, q.price))
        pairs = min(len(free_live), len(free_desired))
        replaces = [
            Replace(order_id=order.order_id, side=side, price=quote.price, size=quote.size, level=quote.level)
            for order, quote in zip(free_live[:pairs], free_desired[:pairs], strict=True)
        ]
        free_live, free_desired = free_live[pairs:], free_desired[pairs:]
    cancels = [Cancel(order_id=order.order_id, side=side) for order in free_live]
    places = [Place(side=side, price=q.price, size=q.size, level=q.level) for q in free_desired]
    return keeps, cancels, replaces, places


def chunk(actions: Sequence[WireAction], max_batch: int) -> tuple[tuple[WireAction, ...], ...]:
    """Consecutive batches of at most `max_batch` actions, order preserved."""
    if max_batch < 1:
        raise ValueError("max_batch must be >= 1")
    return tuple(tuple(actions[i : i + max_batch]) for i in range(0, len(actions), max_batch))


def diff_orders(
    live: Sequence[LiveOrder],
    desired: QuoteSet,
    tolerance: Decimal,
    max_batch: int,
    *,
    size_tolerance: Decimal = Decimal(0),
    supports_replace: bool = True,
) -> OrderDiff:
    """The fewest cancel / replace / place actions that turn `live` into `desired` (see the module doc).

    `tolerance` is the price move left unfixed, e.g. `requote_threshold(cost, size)` from
    `keeper.core.quote` so that no requote costs more than it saves.
    """
    if tolerance < 0 or size_tolerance < 0:
        raise ValueError("tolerances must be >= 0")
    keeps: list[Keep] = []
    cancels: list[Cancel] = []
    replaces: list[Replace] = []
    places: list[Place] = []
    for side, quotes in ((Side.BUY, desired.bids), (Side.SELL, desired.asks)):
        side_live = [order for order in live if order.side is side]
        k, c, r, p = _diff_side(
            side,
            side_live,
            list(quotes),
            tolerance=tolerance,
            size_tolerance=size_tolerance,
            supports_replace=supports_replace,
        )
        keeps += k
        cancels += c
        replaces += r
        places += p
    # Best levels first across both sides, so a cut-off batch still leaves the touch quoted.
    replaces.sort(key=lambda a: (a.level, a.side is Side.SELL))
    places.sort(key=lambda a: (a.level, a.side is Side.SELL))
    wire: list[WireAction] = [*cancels, *replaces, *places]
    return OrderDiff(keeps=tuple(keeps), batches=chunk(wire, max_batch))
