"""Agent wallets: approval by the master, rotation by name, addresses never reused (persisted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeper.adapters.hyperliquid import AgentError, AgentRegistry, HyperliquidRestClient, approve_agent
from keeper.codecs.hyperliquid import PrivateKeySigner, Refused, Resting
from tests.adapters.hyperliquid.conftest import ALICE, KEY_STRANGER, eth, orders


async def test_rotation_replaces_the_old_agent_and_never_reuses_an_address(
    rest: HyperliquidRestClient, tmp_path: Path
) -> None:
    path = tmp_path / "agents.json"
    registry = AgentRegistry(rest, ALICE, path)
    first = await registry.rotate("mm")
    [placed] = (await rest.exchange(orders(eth(True, "1990", "1", "Alo")), first)).outcomes
    assert isinstance(placed, Resting)
    [order] = await rest.open_orders(registry.master_address)  # the agent trades for the master
    assert order.oid == placed.oid
    assert await rest.open_orders(first.address) == []
    [listed] = await rest.info_json({"type": "extraAgents", "user": ALICE.address})
    assert (listed["name"], listed["address"]) == ("mm", first.address)

    second = await registry.rotate("mm")
    assert second.address != first.address
    assert registry.current("mm") is second
    [old] = (await rest.exchange(orders(eth(True, "1980", "1", "Alo")), first)).outcomes
    assert old == Refused(f"L1 error: User or API Wallet {first.address} does not exist.", action_level=True)
    [new] = (await rest.exchange(orders(eth(True, "1980", "1", "Alo")), second)).outcomes
    assert isinstance(new, Resting)

    with pytest.raises(AgentError, match="never reused"):
        await registry.rotate("mm", agent=first)
    reloaded = AgentRegistry(rest, ALICE, path)  # the seen set survives a restart
    assert reloaded.seen == {first.address, second.address}
    with pytest.raises(AgentError, match="never reused"):
        await reloaded.rotate("other", agent=second)
    assert registry.current("mm") is second


async def test_key_factory_repeats_are_skipped_and_refusals_burn_the_address(
    rest: HyperliquidRestClient, tmp_path: Path
) -> None:
    stranger = PrivateKeySigner(KEY_STRANGER)
    keys = iter([stranger, stranger, PrivateKeySigner("0x" + "11" * 32)])
    registry = AgentRegistry(rest, ALICE, tmp_path / "seen.json", key_factory=lambda: next(keys))
    assert (await registry.rotate("a")).address == stranger.address
    assert (await registry.rotate("b")).address == PrivateKeySigner("0x" + "11" * 32).address
    # Agents cannot approve agents: refused, and the address counts as seen anyway.
    agent_registry = AgentRegistry(rest, stranger, tmp_path / "other.json")
    with pytest.raises(AgentError, match="Agents cannot approve agents"):
        await agent_registry.rotate("x")
    assert len(agent_registry.seen) == 1


async def test_unnamed_agent_and_corrupt_registry_file(rest: HyperliquidRestClient, tmp_path: Path) -> None:
    agent = PrivateKeySigner("0x" + "22" * 32)
    assert (await approve_agent(rest, ALICE, agent.address)).__class__.__name__ == "Accepted"
    [placed] = (await rest.exchange(orders(eth(True, "1990", "1", "Alo")), agent)).outcomes
    assert isinstance(placed, Resting)
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    with pytest.raises(AgentError, match="unreadable"):
        AgentRegistry(rest, ALICE, corrupt)
