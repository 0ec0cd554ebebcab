"""Our resting orders at the simulated venue, and how taker flow and arbitrageurs fill them.

The rest of the book is not modelled order by order: its touch sits `book_half_spread` around the true
mid, an order of ours inside the touch is first in line, and one at or behind it has `queue_ahead`
base units ahead of it (an exponential draw at placement; a replace loses its place, as on a real book).

- A taker market order sweeping to relative depth D fills our orders on its side whose distance from
  mid is within D, best price first, after eating the queue ahead of each (partial fills).
- An arbitrageur takes any order of ours that is through the true mid by more than its threshold
  (a stale quote after a jump): the whole remaining size, at our price.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal


class SimOrder:
    """One resting order of ours. side +1 bid, −1 ask; sizes in base units."""

    __slots__ = ("order_id", "price", "price_dec", "queue", "remaining", "side")

    def __init__(self, order_id: str, side: int, price_dec: Decimal, size: float, queue: float) -> None:
        self.order_id = order_id
        self.side = side
        self.price_dec = price_dec
        self.price = float(price_dec)
        self.remaining = size
        self.queue = queue


class Fill:
    __slots__ = ("liquidity", "order_id", "price", "side", "size")

    def __init__(self, order_id: str, side: int, price: float, size: float, liquidity: str) -> None:
        self.order_id = order_id
        self.side = side  # our side: +1 we bought
        self.price = price
        self.size = size
        self.liquidity = liquidity  # "maker" | "arb" (a maker fill against an informed taker) | "taker"


class OurBook:
    """Our orders by id, with the best bid / ask cached for the per-step arbitrage check."""

    def __init__(self) -> None:
        self.orders: dict[str, SimOrder] = {}
        self.best_bid = -1.0
        self.best_ask = float("inf")

    def __iter__(self) -> Iterator[SimOrder]:
        return iter(self.orders.values())

    def __len__(self) -> int:
        return len(self.orders)

    def add(self, order: SimOrder) -> None:
        self.orders[order.order_id] = order
        self._refresh()

    def remove(self, order_id: str) -> SimOrder | None:
        order = self.orders.pop(order_id, None)
        if order is not None:
            self._refresh()
        return order

    def _refresh(self) -> None:
        bids = [o.price for o in self.orders.values() if o.side > 0]
        asks = [o.price for o in self.orders.values() if o.side < 0]
        self.best_bid = max(bids) if bids else -1.0
        self.best_ask = min(asks) if asks else float("inf")

    def crossed_by(self, mid: float, threshold_rel: float) -> bool:
        """Cheap per-step test: is any order through the mid by more than the threshold?"""
        return self.best_bid >= mid * (1.0 + threshold_rel) or self.best_ask <= mid * (1.0 - threshold_rel)

    def arbitrage(self, mid: float, threshold_rel: float) -> list[Fill]:
        """Arbitrageurs take every order through the mid by more than their threshold, in full."""
        fills: list[Fill] = []
        for order in list(self.orders.values()):
            through = (order.price - mid) * order.side / mid
            if through >= threshold_rel:
                fills.append(Fill(order.order_id, order.side, order.price, order.remaining, "arb"))
                del self.orders[order.order_id]
        if fills:
            self._refresh()
        return fills

    def sweep(self, taker_side: int, mid: float, depth_rel: float, size: float) -> list[Fill]:
        """A taker order (taker_side +1 buys: it hits our asks) reaching `depth_rel` from mid."""
        our_side = -taker_side
        reach = mid * (1.0 - depth_rel) if our_side > 0 else mid * (1.0 + depth_rel)
        key: Callable[[SimOrder], float] = (lambda o: -o.price) if our_side > 0 else (lambda o: o.price)
        hit = sorted(
            (
                o
                for o in self.orders.values()
                if o.side == our_side and (o.price >= reach if our_side > 0 else o.price <= reach)
            ),
            key=key,
        )
        fills: list[Fill] = []
        left = size
        for order in hit:
            if left <= 0:
                break
            ahead = min(order.queue, left)
            order.queue -= ahead
            left -= ahead
            take = min(order.remaining, left)
            if take <= 0:
                continue
            left -= take
            order.remaining -= take
            fills.append(Fill(order.order_id, our_side, order.price, take, "maker"))
            if order.remaining <= 1e-12:
                del self.orders[order.order_id]
        if fills:
            self._refresh()
        return fills
