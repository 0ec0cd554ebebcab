"""Nonce lanes: one per key, allocating locally, never backwards, never leaving a gap.

The lane is the only owner of its key's nonces (eth_defi's hot-wallet rule: never let a library pick
them). It starts from the chain's pending count, then counts locally. A stale read from a lagging
node can only move it forward. A nonce whose transaction was refused for good goes back to the lane
as a *hole*; the next allocation takes the lowest hole first, and the transaction manager fills any
hole left behind a pending transaction with a self-send, so later nonces are never stuck.
"""

from __future__ import annotations

import enum
import heapq


class LaneState(enum.Enum):
    """ACTIVE lanes take new sends; DRAINING ones (a rotated-out key) only finish what they have."""

    ACTIVE = "active"
    DRAINING = "draining"
    RETIRED = "retired"


class NonceLane:
    """Nonce allocation for one address."""

    def __init__(self, address: str, name: str = "") -> None:
        self.address = address
        self.name = name
        self.state = LaneState.ACTIVE
        self._next: int | None = None
        self._holes: list[int] = []
        self.resyncs = 0

    @property
    def synced(self) -> bool:
        return self._next is not None

    @property
    def next_nonce(self) -> int:
        if self._next is None:
            raise RuntimeError(f"nonce lane {self.address} has not been synced with the chain")
        return self._next

    @property
    def holes(self) -> tuple[int, ...]:
        return tuple(sorted(self._holes))

    def sync(self, chain_pending_count: int) -> int:
        """Adopt the chain's pending count if it is ahead (another sender, or first sync); returns next."""
        if self._next is None or chain_pending_count > self._next:
            if self._next is not None:
                self.resyncs += 1
            self._next = chain_pending_count
            # Holes below the chain's count were taken by someone else: they are no longer ours to fill.
            self._holes = [h for h in self._holes if h >= chain_pending_count]
            heapq.heapify(self._holes)
        return self._next

    def allocate(self) -> int:
        """The lowest free nonce: a hole first, else the next fresh one."""
        if self._holes:
            return heapq.heappop(self._holes)
        nonce = self.next_nonce
        self._next = nonce + 1
        return nonce

    def release(self, nonce: int) -> None:
        """Give back a nonce whose transaction never reached any mempool (refused for good)."""
        nxt = self.next_nonce
        if nonce >= nxt or nonce in self._holes:
            return
        if nonce == nxt - 1:
            # Nothing was allocated after it: just step back; absorb holes that now sit on the edge.
            self._next = nonce
            while self._holes and max(self._holes) == self._next - 1:
                self._holes.remove(self._next - 1)
                self._next -= 1
            heapq.heapify(self._holes)
            return
        heapq.heappush(self._holes, nonce)

    def take_hole(self, nonce: int) -> bool:
        """Claim a specific hole (to fill it with a self-send); False if it is no longer a hole."""
        if nonce in self._holes:
            self._holes.remove(nonce)
            heapq.heapify(self._holes)
            return True
        return False
