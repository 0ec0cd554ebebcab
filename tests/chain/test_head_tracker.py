"""Head continuity (pure, with a scripted node): continuation, gaps, duplicates, reorgs, resets."""

from __future__ import annotations

import pytest

from keeper.chain import BlockHeader, ChainReset, HeadTracker, Reorg


class Chain:
    """A node's canonical chain: hashes by height; `fork` rewrites the top, `lookups` counts hash_at calls."""

    def __init__(self, tag: str, length: int) -> None:
        self.hashes = [self.hash(tag, n) for n in range(length + 1)]
        self.lookups = 0
        self.down = False

    @staticmethod
    def hash(tag: str, n: int) -> str:
        return f"0x{tag}{n:06d}"

    def head(self, n: int | None = None) -> BlockHeader:
        n = len(self.hashes) - 1 if n is None else n
        parent = self.hashes[n - 1] if n > 0 else "0x" + "00" * 32
        return BlockHeader(n, self.hashes[n], parent, 1_700_000_000 + n, 10**9, 0, 30_000_000)

    def mine(self, tag: str = "a", blocks: int = 1) -> None:
        for _ in range(blocks):
            self.hashes.append(self.hash(tag, len(self.hashes)))

    def fork(self, depth: int, tag: str) -> None:
        top = len(self.hashes) - 1
        for n in range(top - depth + 1, top + 1):
            self.hashes[n] = self.hash(tag, n)

    async def hash_at(self, n: int) -> str | None:
        self.lookups += 1
        if self.down:
            raise ConnectionError("node down")
        return self.hashes[n] if 0 <= n < len(self.hashes) else None


async def test_children_are_accepted_without_asking_the_node() -> None:
    chain, tracker = Chain("a", 10), HeadTracker()
    assert await tracker.accept(chain.head(), chain.hash_at) == (True, None)
    lookups = chain.lookups  # the genesis hash, once
    for _ in range(5):
        chain.mine()
        assert await tracker.accept(chain.head(), chain.hash_at) == (True, None)
    assert chain.lookups == lookups == 1
    assert await tracker.accept(chain.head(), chain.hash_at) == (False, None)  # the same head again
    assert await tracker.accept(chain.head(12), chain.hash_at) == (False, None)  # an older one we saw


async def test_a_gap_is_checked_against_the_node_and_passes() -> None:
    chain, tracker = Chain("a", 10), HeadTracker()
    await tracker.accept(chain.head(), chain.hash_at)
    chain.mine(blocks=7)
    assert await tracker.accept(chain.head(), chain.hash_at) == (True, None)
    chain.mine()
    tracker.verify_next = True  # after a reconnect the child is checked too
    assert await tracker.accept(chain.head(), chain.hash_at) == (True, None)


@pytest.mark.parametrize("depth", [1, 2, 3, 7])
async def test_reorg_is_named_with_its_first_replaced_height_and_depth(depth: int) -> None:
    chain, tracker = Chain("a", 20), HeadTracker()
    for n in range(12, 21):
        await tracker.accept(chain.head(n), chain.hash_at)
    chain.fork(depth, "b")
    is_new, notice = await tracker.accept(chain.head(), chain.hash_at)
    assert is_new
    assert isinstance(notice, Reorg)
    assert (notice.number, notice.depth, notice.previous.number, notice.head.number) == (
        21 - depth,
        depth,
        20,
        20,
    )
    assert notice.describe() == f"reorg at {21 - depth}, depth {depth}"
    chain.mine("b")  # and the new branch continues normally
    assert await tracker.accept(chain.head(), chain.hash_at) == (True, None)


async def test_reorg_seen_block_by_block_is_reported_once() -> None:
    chain, tracker = Chain("a", 20), HeadTracker()
    for n in range(15, 21):
        await tracker.accept(chain.head(n), chain.hash_at)
    chain.fork(3, "b")  # a node pushes 18', 19', 20' in turn
    notices = [(await tracker.accept(chain.head(n), chain.hash_at))[1] for n in (18, 19, 20)]
    assert isinstance(notices[0], Reorg)
    assert (notices[0].number, notices[0].depth) == (18, 3)
    assert notices[1:] == [None, None]


async def test_a_restarted_chain_is_a_reset_even_when_it_is_taller() -> None:
    old, tracker = Chain("a", 812), HeadTracker()
    for n in range(800, 813):
        await tracker.accept(old.head(n), old.hash_at)
    new = Chain("c", 3)
    is_new, notice = await tracker.accept(new.head(), new.hash_at)
    assert is_new
    assert isinstance(notice, ChainReset)
    assert (notice.previous.number, notice.head.number, notice.reason) == (812, 3, "genesis_changed")
    assert notice.describe() == "chain reset: head 812 -> 3 (genesis_changed)"
    assert new.lookups <= 3  # no walk of the whole window
    new.mine("c", 900)  # the new chain passes the old height: nothing more to report
    assert await tracker.accept(new.head(), new.hash_at) == (True, None)


@pytest.mark.parametrize("lower", [True, False])
async def test_a_divergence_first_seen_after_a_reconnect_is_a_reset(lower: bool) -> None:
    chain, tracker = Chain("a", 10), HeadTracker()
    for n in range(3, 11):
        await tracker.accept(chain.head(n), chain.hash_at)
    # The node went away and came back with other blocks above 5 (same genesis: a devnet restarted
    # within the same second looks like this), lower than before or not.
    del chain.hashes[6:]
    chain.mine("r", 2 if lower else 7)
    tracker.verify_next = True
    _, notice = await tracker.accept(chain.head(), chain.hash_at)
    assert isinstance(notice, ChainReset)
    assert (notice.reason, notice.previous.number, notice.head.number) == (
        "diverged_after_reconnect",
        10,
        7 if lower else 12,
    )
    chain.mine("r")
    assert await tracker.accept(chain.head(), chain.hash_at) == (True, None)


async def test_same_genesis_but_no_common_block_is_a_reset() -> None:
    chain, tracker = Chain("a", 300), HeadTracker(window=16)
    for n in range(280, 301):
        await tracker.accept(chain.head(n), chain.hash_at)
    chain.fork(200, "d")  # deeper than the window
    _, notice = await tracker.accept(chain.head(), chain.hash_at)
    assert isinstance(notice, ChainReset)
    assert notice.reason == "no_common_block"


async def test_node_errors_propagate_and_the_next_head_is_checked_again() -> None:
    chain, tracker = Chain("a", 10), HeadTracker()
    for n in range(5, 11):
        await tracker.accept(chain.head(n), chain.hash_at)
    chain.fork(2, "b")
    chain.down = True
    with pytest.raises(ConnectionError):
        await tracker.accept(chain.head(), chain.hash_at)
    chain.down = False
    chain.mine("b")
    _, notice = await tracker.accept(chain.head(), chain.hash_at)
    assert isinstance(notice, Reorg)
    assert (notice.number, notice.depth) == (9, 2)
