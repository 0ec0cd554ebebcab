"""Agent (API) wallets: approval by the master key, rotation by name, no address ever reused.

The master key signs only ``approveAgent``; agents sign orders but cannot move funds. Approving
an agent under a name the master already uses replaces (deregisters) the previous agent of that
name, and its nonce state may be pruned by the venue -- so an old agent address must never be
approved again, or its previously signed actions could be replayed (hyperliquid-api.md §1.6).
:class:`AgentRegistry` enforces that with a persisted set of every address it has ever tried.
Agent private keys are held in memory only; storing them is the caller's decision.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from keeper.adapters.hyperliquid._errors import AgentError
from keeper.adapters.hyperliquid._rest import Chain, HyperliquidRestClient
from keeper.codecs.hyperliquid import (
    Accepted,
    ApproveAgentAction,
    DefaultOutcome,
    HyperliquidCodecError,
    PrivateKeySigner,
)

SIGNATURE_CHAIN_ID = "0x66eee"  # Arbitrum Sepolia, as the official SDK signs; any chain id works
_FILE_VERSION = 1


def generate_agent_key() -> PrivateKeySigner:
    """A fresh random agent key (CSPRNG)."""
    while True:
        try:
            return PrivateKeySigner(secrets.token_bytes(32))
        except HyperliquidCodecError:  # 0 or >= the curve order: astronomically rare, draw again
            continue


async def approve_agent(
    rest: HyperliquidRestClient, master_signer: PrivateKeySigner, agent_address: str, name: str = ""
) -> DefaultOutcome:
    """User-signed ``approveAgent`` by the master; ``name`` "" approves the unnamed agent."""

    def build(nonce: int, chain: Chain) -> ApproveAgentAction:
        return ApproveAgentAction(
            agent_address=agent_address.lower(),
            agent_name=name,
            nonce=nonce,
            signature_chain_id=SIGNATURE_CHAIN_ID,
            hyperliquid_chain=chain,
        )

    return (await rest.exchange_user_signed(build, master_signer)).outcomes[0]


def _load_seen(path: Path) -> set[str]:
    if not path.exists():
        return set()
    try:
        data = json.loads(path.read_text())
        seen = data["seen"]
        if data.get("version") != _FILE_VERSION or not all(isinstance(a, str) for a in seen):
            raise ValueError("unexpected content")
    except (ValueError, KeyError, TypeError) as exc:
        # Starting empty would allow reuse: refuse instead.
        raise AgentError(f"unreadable agent registry {path}: {exc}") from exc
    return {address.lower() for address in seen}


def _store_seen(path: Path, seen: set[str]) -> None:
    # Write-then-rename: a crash leaves the old file or the new one, never a torn one.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"version": _FILE_VERSION, "seen": sorted(seen)}, indent=1))
    os.replace(tmp, path)


class AgentRegistry:
    """Current agent per name for one master account; refuses any agent address seen before.

    ``seen_path``: JSON file (created if absent) listing every agent address ever tried.
    """

    def __init__(
        self,
        rest: HyperliquidRestClient,
        master_signer: PrivateKeySigner,
        seen_path: str | os.PathLike[str],
        *,
        key_factory: Callable[[], PrivateKeySigner] = generate_agent_key,
    ) -> None:
        self._rest = rest
        self._master = master_signer
        self._path = Path(seen_path)
        self._key_factory = key_factory
        self._seen = _load_seen(self._path)
        self._current: dict[str, PrivateKeySigner] = {}
        self._lock = asyncio.Lock()

    @property
    def master_address(self) -> str:
        """The account the agents trade for (use it for info queries and WS user streams)."""
        return self._master.address

    @property
    def seen(self) -> frozenset[str]:
        """Every agent address this registry has ever tried to approve."""
        return frozenset(self._seen)

    def current(self, name: str) -> PrivateKeySigner | None:
        """The agent approved under ``name`` by this registry, if any."""
        return self._current.get(name)

    async def rotate(self, name: str, agent: PrivateKeySigner | None = None) -> PrivateKeySigner:
        """Approve a new agent under ``name`` (replacing the old one); returns its signer.

        ``agent`` defaults to a fresh key. Raises :class:`AgentError` if the address was seen
        before, or if the venue refused the approval or its outcome is unknown (the address is
        burnt either way).
        """
        async with self._lock:
            if agent is None:
                agent = self._key_factory()
                while agent.address in self._seen:
                    agent = self._key_factory()
            address = agent.address
            if address in self._seen or address == self._master.address:
                raise AgentError(f"agent address {address} was used before; agent addresses are never reused")
            # Recorded before approving: a crash during approval must not make the address reusable.
            self._seen.add(address)
            await asyncio.to_thread(_store_seen, self._path, set(self._seen))
            outcome = await approve_agent(self._rest, self._master, address, name)
            if not isinstance(outcome, Accepted):
                raise AgentError(f"approveAgent {name!r} for {address}: {outcome!r}")
            self._current[name] = agent
            return agent
