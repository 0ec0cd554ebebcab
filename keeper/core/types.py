"""Small types shared across the pure core."""

from __future__ import annotations

import enum


class Side(enum.Enum):
    """The side of an order: a buy (a bid when resting) or a sell (an ask)."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy (adds to a signed position), -1 for a sell."""
        return 1 if self is Side.BUY else -1
