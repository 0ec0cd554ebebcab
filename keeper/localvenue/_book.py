"""Price-time priority order book of one asset.

Each side keeps a sorted list of prices and a FIFO queue per price: the front of the best queue
is the next maker. Matching itself lives in :mod:`_matching` because it touches accounts.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterator
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from keeper.localvenue._orders import RestingOrder
from keeper.localvenue._wire import ZERO

Level = tuple[Decimal, Decimal, int]  # price, total size, order count


class BookSide:
    """Bids (best = highest) or asks (best = lowest)."""

    def __init__(self, *, is_bid: bool) -> None:
        self.is_bid = is_bid
        self._prices: list[Decimal] = []  # ascending
        self._queues: dict[Decimal, deque[RestingOrder]] = {}

    def add(self, order: RestingOrder) -> None:
        """Append at the back of its price queue (time priority)."""
        queue = self._queues.get(order.limit_px)
        if queue is None:
            bisect.insort(self._prices, order.limit_px)
            queue = self._queues[order.limit_px] = deque()
        queue.append(order)

    def remove(self, order: RestingOrder) -> None:
        """Take an order out of the book (no-op if absent)."""
        queue = self._queues.get(order.limit_px)
        if queue is None:
            return
        for index, resting in enumerate(queue):
            if resting.oid == order.oid:
                del queue[index]
                break
        if not queue:
            del self._queues[order.limit_px]
            del self._prices[bisect.bisect_left(self._prices, order.limit_px)]

    def best(self) -> Decimal | None:
        """Best price, or None when empty."""
        if not self._prices:
            return None
        return self._prices[-1] if self.is_bid else self._prices[0]

    def front(self) -> RestingOrder | None:
        """Oldest order at the best price."""
        best = self.best()
        return None if best is None else self._queues[best][0]

    def _prices_best_first(self) -> Iterator[Decimal]:
        return reversed(self._prices) if self.is_bid else iter(self._prices)

    def levels(self, limit: int | None = None) -> list[Level]:
        """Aggregated levels, best first."""
        out: list[Level] = []
        for price in self._prices_best_first():
            queue = self._queues[price]
            out.append((price, sum((order.sz for order in queue), ZERO), len(queue)))
            if limit is not None and len(out) >= limit:
                break
        return out

    def orders(self) -> Iterator[RestingOrder]:
        """All orders in priority order."""
        for price in self._prices_best_first():
            yield from self._queues[price]

    def impact_px(self, notional: Decimal) -> Decimal | None:
        """Average price of taking ``notional`` USDC from this side; None if the side is too thin."""
        filled_ntl = ZERO
        filled_sz = ZERO
        for price, size, _ in self.levels():
            remaining = notional - filled_ntl
            if size * price >= remaining:
                return notional / (filled_sz + remaining / price)
            filled_ntl += size * price
            filled_sz += size
        return None


class Book:
    """Both sides of one asset's book."""

    def __init__(self) -> None:
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)

    def own_side(self, is_buy: bool) -> BookSide:
        """Side an order of this direction rests on."""
        return self.bids if is_buy else self.asks

    def opposite(self, is_buy: bool) -> BookSide:
        """Side an order of this direction matches against."""
        return self.asks if is_buy else self.bids

    def best_bid(self) -> Decimal | None:
        """Highest bid."""
        return self.bids.best()

    def best_ask(self) -> Decimal | None:
        """Lowest ask."""
        return self.asks.best()

    def mid(self) -> Decimal | None:
        """(bid + ask) / 2 when both sides exist."""
        bid, ask = self.bids.best(), self.asks.best()
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2

    def crosses(self, is_buy: bool, price: Decimal) -> bool:
        """Would an order at ``price`` match the opposite best?"""
        best = self.opposite(is_buy).best()
        if best is None:
            return False
        return price >= best if is_buy else price <= best


def aggregate(levels: list[Level], sig_figs: int | None, *, is_bid: bool, limit: int) -> list[Level]:
    """Bucket levels to ``sig_figs`` significant figures (bids round down, asks up), like ``nSigFigs``."""
    if sig_figs is None:
        return levels[:limit]
    out: list[Level] = []
    rounding = ROUND_FLOOR if is_bid else ROUND_CEILING
    for price, size, count in levels:
        quantum = Decimal(1).scaleb(price.adjusted() - sig_figs + 1)
        bucket = price.quantize(quantum, rounding=rounding)
        if out and out[-1][0] == bucket:
            out[-1] = (bucket, out[-1][1] + size, out[-1][2] + count)
        else:
            if len(out) >= limit:
                break
            out.append((bucket, size, count))
    return out
