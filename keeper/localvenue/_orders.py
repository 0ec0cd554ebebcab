"""Orders and fills as the engine keeps them, their wire shapes, and the order store.

The store holds the open orders (indexed by oid, user and cloid) plus a bounded history of closed
ones so ``orderStatus`` can answer after an order left the book.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal

import msgspec

from keeper.localvenue._wire import JsonDict, fmt, fmt_usd


class RestingOrder(msgspec.Struct, kw_only=True):
    """A limit order accepted by the engine; ``sz`` is what remains, ``orig_sz`` what was placed."""

    oid: int
    user: str
    asset: int
    coin: str
    is_buy: bool
    limit_px: Decimal
    sz: Decimal
    orig_sz: Decimal
    timestamp: int
    tif: str
    reduce_only: bool
    cloid: str | None

    def wire(self) -> JsonDict:
        """``openOrders`` / ``orderUpdates`` order shape."""
        out: JsonDict = {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "origSz": fmt(self.orig_sz),
        }
        if self.cloid is not None:
            out["cloid"] = self.cloid
        if self.reduce_only:
            out["reduceOnly"] = True
        return out

    def frontend(self) -> JsonDict:
        """``frontendOpenOrders`` / ``orderStatus`` order shape (limit orders only: no triggers here)."""
        return {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": fmt(self.limit_px),
            "sz": fmt(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "triggerCondition": "N/A",
            "isTrigger": False,
            "triggerPx": "0.0",
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": "Limit",
            "origSz": fmt(self.orig_sz),
            "tif": self.tif,
            "cloid": self.cloid,
        }


class OrderRecord(msgspec.Struct, frozen=True):
    """A closed order with its final status (``filled``, ``canceled``, ``scheduledCancel``, ...)."""

    order: RestingOrder
    status: str
    status_ts: int

    def update(self) -> JsonDict:
        """One ``orderUpdates`` entry."""
        return {"order": self.order.wire(), "status": self.status, "statusTimestamp": self.status_ts}


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    """One side of one trade, as ``userFills`` reports it to that user."""

    coin: str
    px: Decimal
    sz: Decimal
    is_buy: bool
    time: int
    start_position: Decimal
    direction: str
    closed_pnl: Decimal
    hash: str
    oid: int
    crossed: bool
    fee: Decimal
    tid: int
    cloid: str | None = None

    def wire(self) -> JsonDict:
        """``userFills`` entry."""
        out: JsonDict = {
            "coin": self.coin,
            "px": fmt(self.px),
            "sz": fmt(self.sz),
            "side": "B" if self.is_buy else "A",
            "time": self.time,
            "startPosition": fmt(self.start_position),
            "dir": self.direction,
            "closedPnl": fmt_usd(self.closed_pnl),
            "hash": self.hash,
            "oid": self.oid,
            "crossed": self.crossed,
            "fee": fmt_usd(self.fee),
            "tid": self.tid,
            "feeToken": "USDC",
            "twapId": None,
        }
        if self.cloid is not None:
            out["cloid"] = self.cloid
        return out


class OrderStore:
    """Open orders by oid / user / cloid, and the last ``max_history`` closed orders."""

    def __init__(self, max_history: int) -> None:
        self.open: dict[int, RestingOrder] = {}
        self._by_user: dict[str, dict[int, RestingOrder]] = {}
        self._cloids: dict[tuple[str, str], int] = {}
        self._closed: OrderedDict[int, OrderRecord] = OrderedDict()
        self._max_history = max_history

    def add(self, order: RestingOrder) -> None:
        """Register a newly accepted order (resting or about to match)."""
        self.open[order.oid] = order
        self._by_user.setdefault(order.user, {})[order.oid] = order
        if order.cloid is not None:
            self._cloids[(order.user, order.cloid)] = order.oid

    def close(self, order: RestingOrder, status: str, now_ms: int) -> OrderRecord:
        """Move an order to history with its final status; returns the record."""
        self.open.pop(order.oid, None)
        user_orders = self._by_user.get(order.user)
        if user_orders is not None:
            user_orders.pop(order.oid, None)
            if not user_orders:
                del self._by_user[order.user]
        record = OrderRecord(msgspec.structs.replace(order), status, now_ms)
        self._closed[order.oid] = record
        while len(self._closed) > self._max_history:
            self._closed.popitem(last=False)
        return record

    def of_user(self, user: str) -> list[RestingOrder]:
        """The user's open orders, oldest first."""
        return list(self._by_user.get(user, {}).values())

    def oid_of(self, user: str, cloid: str) -> int | None:
        """Latest oid the user placed with this cloid."""
        return self._cloids.get((user, cloid))

    def lookup(self, user: str, oid: int) -> tuple[RestingOrder, str, int] | None:
        """(order, status, statusTimestamp) of one of the user's orders, open or closed."""
        order = self.open.get(oid)
        if order is not None and order.user == user:
            return order, "open", order.timestamp
        record = self._closed.get(oid)
        if record is not None and record.order.user == user:
            return record.order, record.status, record.status_ts
        return None
