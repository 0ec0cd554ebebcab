"""Shared fixtures: one session-wide base anvil, per-test snapshot/revert, and forks of it.

Every anvil is started by the harness on a leased loopback port and stopped by pid at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keeper.devchain import AnvilNode, AnvilOptions


@pytest.fixture(scope="session")
def anvil_base() -> Iterator[AnvilNode]:
    """A base chain for the whole session; mines one block per transaction."""
    with AnvilNode(AnvilOptions(mining="instant")) as node:
        yield node


@pytest.fixture
def chain(anvil_base: AnvilNode) -> Iterator[AnvilNode]:
    """The base chain, reverted to its prior state after the test."""
    snapshot = anvil_base.rpc.snapshot()
    yield anvil_base
    assert anvil_base.rpc.revert(snapshot), "evm_revert refused the test's snapshot"


@pytest.fixture
def anvil_fork(chain: AnvilNode) -> Iterator[AnvilNode]:
    """A second anvil forking the (snapshotted) base chain at its current head."""
    with chain.fork() as fork:
        yield fork
