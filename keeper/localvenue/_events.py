"""User-visible events for the WebSocket layer, already in the venue's message shapes.

Each event names the subscription type that receives it plus the routing key (``user`` for user
channels, ``coin`` for market channels); :meth:`WsEvent.message` is the frame to send. Events
accumulate until drained; beyond ``max_events`` the oldest are dropped so an idle server cannot
grow without bound.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

import msgspec

from keeper.localvenue._wire import JsonDict

WsSubscription = Literal[
    "orderUpdates",
    "userFills",
    "userEvents",
    "userFundings",
    "l2Book",
    "trades",
    "bbo",
    "allMids",
    "activeAssetCtx",
]


class WsEvent(msgspec.Struct, frozen=True):
    """One frame for subscribers of ``subscription`` (filtered by ``user`` or ``coin`` when set)."""

    subscription: WsSubscription
    data: Any
    user: str | None = None
    coin: str | None = None

    @property
    def channel(self) -> str:
        """Channel name in the frame: userEvents arrive on channel ``user``."""
        return "user" if self.subscription == "userEvents" else self.subscription

    def message(self) -> JsonDict:
        """``{"channel": ..., "data": ...}`` as sent on the socket."""
        return {"channel": self.channel, "data": self.data}


class EventLog:
    """Bounded queue of events, drained by the WS layer."""

    def __init__(self, max_events: int) -> None:
        self._events: deque[WsEvent] = deque(maxlen=max_events)

    def drain(self) -> list[WsEvent]:
        """All pending events, oldest first; the queue is emptied."""
        events = list(self._events)
        self._events.clear()
        return events

    def append(self, event: WsEvent) -> None:
        """A frame built elsewhere (e.g. ``activeAssetCtx`` from the info context)."""
        self._events.append(event)

    def order_updates(self, user: str, updates: list[JsonDict]) -> None:
        """``orderUpdates``: list of ``{order, status, statusTimestamp}``."""
        if updates:
            self._events.append(WsEvent("orderUpdates", updates, user=user))

    def fills(self, user: str, fills: list[JsonDict]) -> None:
        """``userFills`` (non-snapshot) and the ``user`` channel's ``{fills}`` event."""
        if fills:
            self._events.append(
                WsEvent("userFills", {"user": user, "isSnapshot": False, "fills": fills}, user)
            )
            self._events.append(WsEvent("userEvents", {"fills": fills}, user=user))

    def funding(self, user: str, funding: JsonDict) -> None:
        """``userFundings`` and the ``user`` channel's ``{funding}`` event."""
        data = {"user": user, "isSnapshot": False, "fundings": [funding]}
        self._events.append(WsEvent("userFundings", data, user=user))
        self._events.append(WsEvent("userEvents", {"funding": funding}, user=user))

    def non_user_cancel(self, user: str, cancels: list[JsonDict]) -> None:
        """``user`` channel ``{nonUserCancel: [{coin, oid}]}`` (scheduled, self-trade, reduce-only)."""
        if cancels:
            self._events.append(WsEvent("userEvents", {"nonUserCancel": cancels}, user=user))

    def market(self, subscription: WsSubscription, coin: str, data: Any) -> None:
        """``l2Book`` / ``trades`` / ``bbo`` / ``activeAssetCtx`` frame for one coin."""
        self._events.append(WsEvent(subscription, data, coin=coin))

    def all_mids(self, mids: dict[str, str]) -> None:
        """``allMids``: ``{mids: {coin: px}}``."""
        self._events.append(WsEvent("allMids", {"mids": mids}))
