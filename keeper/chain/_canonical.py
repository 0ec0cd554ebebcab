"""A window of recent canonical block hashes, to notice reorgs and find where they forked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


class CanonicalChain:
    """Block number -> hash for the last `depth` blocks the manager has seen."""

    def __init__(self, depth: int = 128) -> None:
        self._depth = depth
        self._hashes: dict[int, str] = {}
        self.head: int | None = None

    @property
    def depth(self) -> int:
        return self._depth

    def hash_at(self, number: int) -> str | None:
        return self._hashes.get(number)

    def heights(self) -> list[int]:
        """The heights in the window (not necessarily contiguous)."""
        return list(self._hashes)

    def is_canonical(self, number: int, block_hash: str) -> bool | None:
        """True/False if the window knows that height, None if it is outside the window."""
        known = self._hashes.get(number)
        return None if known is None else known == block_hash

    def record(self, number: int, block_hash: str) -> None:
        self._hashes[number] = block_hash
        # Heights above a re-recorded one are stale (a shorter reorg): forget them.
        for stale in [n for n in self._hashes if n > number]:
            del self._hashes[stale]
        self.head = number
        for old in [n for n in self._hashes if n <= number - self._depth]:
            del self._hashes[old]

    async def find_fork_point(self, node_hash_at: Callable[[int], Awaitable[str | None]]) -> int | None:
        """The highest height where the node agrees with the window (None: the whole window is off)."""
        for number in sorted(self._hashes, reverse=True):
            if await node_hash_at(number) == self._hashes[number]:
                return number
        return None

    def truncate_above(self, number: int) -> None:
        for stale in [n for n in self._hashes if n > number]:
            del self._hashes[stale]
        self.head = number if self._hashes else None
