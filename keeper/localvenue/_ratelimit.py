"""Request-weight bookkeeping for the HTTP layer (hyperliquid-api.md §6.1).

Aggregate weight 1200 per minute per key (an IP, or an address); ``/exchange`` weighs
``1 + floor(batch / 40)``; ``/info`` weighs 2 for the light types, 60 for userRole, 20 otherwise,
plus one per 20 returned items for the history types. A refused charge means answer HTTP 429.
Implemented as a token bucket refilled continuously, in integer units so it is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keeper.codecs.hyperliquid.rate_limits import (
    IP_WEIGHT_PER_MINUTE,
    exchange_weight,
    info_extra_weight,
    info_weight,
)

MINUTE_MS = 60_000
DEFAULT_WEIGHT_PER_MINUTE = IP_WEIGHT_PER_MINUTE
_BATCH_KEYS = ("orders", "cancels", "modifies")
_PRUNE_ABOVE = 10_000


def info_request_weight(body: object, response: Any = None) -> int:
    """Weight of one ``/info`` request (pass the response to charge the per-item part), by the codec's
    weight table: the server charges exactly what a well-behaved client budgets for."""
    info_type = body.get("type") if isinstance(body, Mapping) else None
    if not isinstance(info_type, str):
        return info_weight("")
    weight = info_weight(info_type)
    if isinstance(response, list):
        weight += info_extra_weight(info_type, len(response))
    return weight


def exchange_request_weight(body: object) -> int:
    """Weight of one ``/exchange`` request: ``1 + floor(batch_length / 40)``."""
    action = body.get("action") if isinstance(body, Mapping) else None
    if isinstance(action, Mapping):
        for key in _BATCH_KEYS:
            batch = action.get(key)
            if isinstance(batch, list):
                return exchange_weight(len(batch))
    return exchange_weight(0)


class RateLimiter:
    """Token bucket per key; ``charge`` says whether to serve (True) or answer 429 (False)."""

    def __init__(self, weight_per_minute: int = DEFAULT_WEIGHT_PER_MINUTE) -> None:
        if weight_per_minute <= 0:
            raise ValueError("weight_per_minute must be positive")
        self._rate = weight_per_minute  # units refilled per ms
        self._capacity = weight_per_minute * MINUTE_MS  # one weight = MINUTE_MS units
        self._buckets: dict[str, tuple[int, int]] = {}  # key -> (units, last_ms)

    def _level(self, key: str, now_ms: int) -> int:
        units, last_ms = self._buckets.get(key, (self._capacity, now_ms))
        return min(self._capacity, units + max(0, now_ms - last_ms) * self._rate)

    def remaining(self, key: str, now_ms: int) -> int:
        """Weight the key may still spend now."""
        return self._level(key, now_ms) // MINUTE_MS

    def charge(self, key: str, weight: int, now_ms: int) -> bool:
        """Spend ``weight`` for ``key`` if available; a refused charge spends nothing."""
        units = self._level(key, now_ms)
        cost = max(0, weight) * MINUTE_MS
        allowed = units >= cost
        self._buckets[key] = (units - cost if allowed else units, now_ms)
        if len(self._buckets) > _PRUNE_ABOVE:
            self._prune(now_ms)
        return allowed

    def _prune(self, now_ms: int) -> None:
        # A full bucket is indistinguishable from an unseen key, so it can be forgotten.
        for key in [key for key in self._buckets if self._level(key, now_ms) >= self._capacity]:
            del self._buckets[key]
