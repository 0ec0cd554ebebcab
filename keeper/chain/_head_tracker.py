"""Continuity of the heads a watcher sees: reorgs and chain resets, as typed notices.

`HeadTracker.accept(head, hash_at)` keeps a window of the block hashes seen (parent hashes included)
and classifies each new head:

- the child of the last head (the usual case): accepted, no node lookup;
- a head already seen at its height (a WS push and a poll of the same block, a lagging endpoint):
  skipped;
- anything else (a gap after an outage, a lower or equal number, a parent we did not see, the first
  head after a reconnect): the node is asked for its hashes at the heights we saw, newest first. If
  it still has our last head, the chain just moved on. If it has an older block of ours, the blocks
  above it were replaced: a `Reorg` when seen live, but a `ChainReset` when it is the first thing
  seen after a reconnect (a node that went away and came back with other blocks, or a lower head, is
  taken for a restarted one: a devnet restarted within the same second even has the same genesis).
  If it has none of ours, or its genesis block changed, it is another chain: a `ChainReset`.

`hash_at(n)` is the node's block hash at height `n` (None if it has no such block); its errors
propagate, and the head is then neither accepted nor rejected (the caller retries with the next one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec

from keeper.chain._canonical import CanonicalChain
from keeper.chain._heads_codec import BlockHeader

HashAt = Callable[[int], Awaitable[str | None]]
ResetReason = Literal["genesis_changed", "no_common_block", "diverged_after_reconnect"]


class ChainReset(msgspec.Struct, frozen=True, kw_only=True):
    """The node now serves another chain than the heads seen so far (nothing of it is canonical any more).

    `reason`: "genesis_changed" (block 0's hash differs), "no_common_block" (none of the recent blocks
    we saw is on the node's chain), or "diverged_after_reconnect" (after a reconnect the node's head
    is lower than ours, or its block at a height we saw differs).
    """

    previous: BlockHeader  # the last head before the reset
    head: BlockHeader  # the first head of the new chain
    reason: ResetReason

    def describe(self) -> str:
        return f"chain reset: head {self.previous.number} -> {self.head.number} ({self.reason})"


class Reorg(msgspec.Struct, frozen=True, kw_only=True):
    """Blocks we saw left the canonical chain.

    `number` is the first replaced height and `depth` how many of the heights we saw up to the old
    head were replaced (`previous.number - number + 1`); the block at `number - 1` is still canonical.
    """

    number: int
    depth: int
    previous: BlockHeader  # the last head before the reorg
    head: BlockHeader  # the new head that revealed it

    def describe(self) -> str:
        return f"reorg at {self.number}, depth {self.depth}"


ChainNotice = ChainReset | Reorg


class HeadTracker:
    """The window of recent block hashes and the classification of each new head (see the module doc)."""

    def __init__(self, window: int = 128) -> None:
        self._chain = CanonicalChain(depth=window)
        self.last: BlockHeader | None = None
        self.genesis: str | None = None
        self.verify_next = False  # after a reconnect: check the next head against the node

    async def accept(self, head: BlockHeader, hash_at: HashAt) -> tuple[bool, ChainNotice | None]:
        """(is this head new, the notice it reveals if any). Node lookup errors propagate."""
        if self._chain.hash_at(head.number) == head.hash:
            return False, None
        last = self.last
        if last is None:
            if self.genesis is None:
                self.genesis = await hash_at(0) if head.number > 0 else head.hash
            self._record(head)
            return True, None
        if not self.verify_next and head.number == last.number + 1 and head.parent_hash == last.hash:
            self._record(head)
            return True, None
        notice = await self._classify(last, head, hash_at, after_reconnect=self.verify_next)
        self.verify_next = False
        return True, notice

    async def _classify(
        self, last: BlockHeader, head: BlockHeader, hash_at: HashAt, after_reconnect: bool
    ) -> ChainNotice | None:
        genesis: list[str | None] = []  # the node's block 0, fetched at most once per classification

        async def genesis_changed() -> bool:
            if not genesis:
                genesis.append(await hash_at(0))
            return self.genesis is not None and genesis[0] is not None and genesis[0] != self.genesis

        heights = sorted((n for n in self._chain.heights() if n < head.number), reverse=True)
        for i, n in enumerate(heights):
            node_hash = head.parent_hash if n == head.number - 1 else await hash_at(n)
            if node_hash == self._chain.hash_at(n):
                if n >= last.number:  # the node still has our last head: the chain just moved on
                    self._record(head)
                    return None
                if after_reconnect:
                    return self._reset(
                        last, head, "diverged_after_reconnect", genesis[0] if genesis else None
                    )
                self._chain.truncate_above(n)
                self._record(head)
                return Reorg(number=n + 1, depth=last.number - n, previous=last, head=head)
            if i == 0 and await genesis_changed():  # the cheap test for another chain before the walk
                break
        reason: ResetReason = "genesis_changed" if await genesis_changed() else "no_common_block"
        return self._reset(last, head, reason, genesis[0])

    def _reset(
        self, last: BlockHeader, head: BlockHeader, reason: ResetReason, genesis: str | None
    ) -> ChainReset:
        self._chain = CanonicalChain(depth=self._chain.depth)
        if head.number == 0:
            self.genesis = head.hash
        elif genesis is not None:
            self.genesis = genesis
        self._record(head)
        return ChainReset(previous=last, head=head, reason=reason)

    def _record(self, head: BlockHeader) -> None:
        if head.number > 0 and self._chain.hash_at(head.number - 1) != head.parent_hash:
            self._chain.record(head.number - 1, head.parent_hash)
        self._chain.record(head.number, head.hash)
        self.last = head
