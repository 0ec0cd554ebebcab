"""Nonce lanes: local allocation, forward-only resync, holes refilled lowest first."""

from __future__ import annotations

import pytest

from keeper.chain import NonceLane
from keeper.chain._rpc import SendErrorKind, classify_send_error


def test_allocates_consecutively_from_the_chain_count() -> None:
    lane = NonceLane("0xabc")
    with pytest.raises(RuntimeError, match="synced"):
        lane.allocate()
    lane.sync(7)
    assert [lane.allocate() for _ in range(3)] == [7, 8, 9]


def test_a_stale_read_never_moves_the_lane_backwards() -> None:
    lane = NonceLane("0xabc")
    lane.sync(5)
    lane.allocate()
    lane.allocate()
    assert lane.sync(3) == 7  # lagging node
    assert lane.resyncs == 0
    assert lane.sync(10) == 10  # another sender moved the chain ahead
    assert lane.resyncs == 1
    assert lane.allocate() == 10


def test_release_of_the_last_nonce_steps_back_without_a_hole() -> None:
    lane = NonceLane("0xabc")
    lane.sync(0)
    assert [lane.allocate() for _ in range(3)] == [0, 1, 2]
    lane.release(2)
    assert lane.holes == ()
    assert lane.allocate() == 2


def test_release_below_the_edge_leaves_a_hole_taken_first() -> None:
    lane = NonceLane("0xabc")
    lane.sync(0)
    for _ in range(4):
        lane.allocate()
    lane.release(1)
    assert lane.holes == (1,)
    assert lane.allocate() == 1
    assert lane.allocate() == 4
    lane.release(2)
    assert lane.take_hole(2)
    assert not lane.take_hole(2)


def test_releasing_the_edge_absorbs_holes_beneath_it() -> None:
    lane = NonceLane("0xabc")
    lane.sync(0)
    for _ in range(4):
        lane.allocate()
    lane.release(2)
    lane.release(3)
    assert lane.next_nonce == 2
    assert lane.holes == ()


def test_a_resync_past_holes_forgets_them() -> None:
    lane = NonceLane("0xabc")
    lane.sync(0)
    for _ in range(3):
        lane.allocate()
    lane.release(0)
    lane.sync(5)
    assert lane.holes == ()


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("nonce too low", SendErrorKind.NONCE_TOO_LOW),  # anvil, geth
        ("nonce too low: next nonce 5, tx nonce 3", SendErrorKind.NONCE_TOO_LOW),
        ("transaction already imported", SendErrorKind.ALREADY_KNOWN),  # anvil
        ("already known", SendErrorKind.ALREADY_KNOWN),  # geth
        ("replacement transaction underpriced", SendErrorKind.REPLACEMENT_UNDERPRICED),
        ("max fee per gas less than block base fee", SendErrorKind.FEE_TOO_LOW),  # anvil
        ("transaction underpriced", SendErrorKind.FEE_TOO_LOW),
        ("Insufficient funds for gas * price + value", SendErrorKind.INSUFFICIENT_FUNDS),  # anvil
        ("intrinsic gas too low", SendErrorKind.GAS_LIMIT),
        ("tx fee (1.20 ether) exceeds the configured cap (1.00 ether)", SendErrorKind.FEE_CAP_EXCEEDED),
        ("execution reverted", SendErrorKind.OTHER),
    ],
)
def test_node_refusals_are_classified(message: str, kind: SendErrorKind) -> None:
    assert classify_send_error(message) is kind
