"""A bounded memory of recently seen keys: de-duplication of fills and payments that can arrive twice."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class RecentKeys(Generic[K]):
    """Remembers the last `capacity` keys added (oldest forgotten first), so a long run stays bounded.

    A duplicate older than `capacity` newer keys is no longer recognised: size it above the number of
    events that can arrive between the first copy and the last (NautilusTrader keeps ~10k trade ids).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._keys: set[K] = set()
        self._order: deque[K] = deque()
        self._capacity = capacity

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K) -> bool:
        """Remember `key`; False if it was already remembered (a duplicate)."""
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self._capacity:
            self._keys.discard(self._order.popleft())
        return True
