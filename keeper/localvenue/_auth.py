"""Who signed a request, and may they act: body parsing, signer recovery, nonces, agent wallets.

Known L1 actions are validated into the codec's Structs and hashed in canonical key order (as
the venue re-derives the msgpack bytes from the JSON it receives); user-signed actions are
recovered from their EIP-712 fields. A wrong signature recovers some other address, which then
fails the account/agent lookup with the venue's "does not exist" error.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

import msgspec

from keeper.codecs.hyperliquid import (
    L1_ACTION_TYPES,
    USER_SIGNED_TYPES,
    ActionValidationError,
    HyperliquidCodecError,
    L1Action,
    UserSignedAction,
    parse_l1_action,
    parse_user_signed_action,
    recover_l1_signer,
    recover_user_signed_signer,
)
from keeper.localvenue import _wire as w
from keeper.localvenue._wire import BadRequest, JsonDict

DAY_MS = 86_400_000
NONCE_SET_SIZE = 100
AGENT_VALIDITY_MS = 180 * DAY_MS


class SignedRequest(msgspec.Struct, frozen=True):
    """The outer ``/exchange`` body, shape-checked."""

    action_type: str
    action: dict[str, Any]
    nonce: int
    signature: dict[str, Any]
    vault: str | None
    expires_after: int | None


def parse_request(body: object) -> SignedRequest | BadRequest:
    """Shape-check an ``/exchange`` body; anything undeserializable is the venue's 422."""
    if not isinstance(body, Mapping):
        return BadRequest(w.DESERIALIZE)
    action, signature = body.get("action"), body.get("signature")
    nonce = w.parse_int(body.get("nonce"))
    vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
    if (
        not isinstance(action, Mapping)
        or not isinstance(action.get("type"), str)
        or not isinstance(signature, Mapping)
        or nonce is None
        or not 0 <= nonce < 2**64
        or (vault is not None and w.parse_address(vault) is None)
        or (expires is not None and (w.parse_int(expires) is None or not 0 <= expires < 2**64))
    ):
        return BadRequest(w.DESERIALIZE)
    return SignedRequest(
        action_type=str(action["type"]),
        action=dict(action),
        nonce=nonce,
        signature=dict(signature),
        vault=None if vault is None else str(vault),
        expires_after=None if expires is None else int(expires),
    )


def recover(
    request: SignedRequest, *, is_mainnet: bool
) -> tuple[str, L1Action | UserSignedAction] | JsonDict | BadRequest:
    """(signer, parsed action), or the venue's error reply."""
    try:
        if request.action_type in USER_SIGNED_TYPES:
            user_action = parse_user_signed_action(request.action)
            return recover_user_signed_signer(user_action, request.signature), user_action
        if request.action_type in L1_ACTION_TYPES:
            l1_action = parse_l1_action(request.action)
            signer = recover_l1_signer(
                l1_action,
                request.signature,
                request.nonce,
                vault_address=request.vault,
                expires_after=request.expires_after,
                is_mainnet=is_mainnet,
            )
            return signer, l1_action
    except ActionValidationError:
        return BadRequest(w.DESERIALIZE)
    except HyperliquidCodecError:  # r/s out of range, v not 27/28: nothing recovers
        return w.err(w.INVALID_SIGNATURE)
    return w.err(w.unsupported_action(request.action_type))


class NonceSet:
    """The highest 100 nonces of one signer (venue rule: larger than the smallest, never reused)."""

    def __init__(self) -> None:
        self._heap: list[int] = []
        self._seen: set[int] = set()

    def check(self, nonce: int, now_ms: int) -> str | None:
        """Error string if ``nonce`` is not acceptable now, else None."""
        if nonce in self._seen:
            return w.duplicate_nonce(nonce)
        # Until 100 nonces are stored there is no floor: out-of-order arrivals stay valid.
        if len(self._heap) >= NONCE_SET_SIZE and nonce <= self._heap[0]:
            return w.nonce_too_low(nonce, self._heap[0])
        if not now_ms - 2 * DAY_MS < nonce < now_ms + DAY_MS:
            return w.nonce_out_of_window(nonce, now_ms)
        return None

    def record(self, nonce: int) -> None:
        """Mark ``nonce`` used (call only after :meth:`check` passed)."""
        heapq.heappush(self._heap, nonce)
        self._seen.add(nonce)
        if len(self._heap) > NONCE_SET_SIZE:
            self._seen.discard(heapq.heappop(self._heap))


class Agent(msgspec.Struct, frozen=True):
    """An approved API wallet signing for ``master``; ``name`` is "" when unnamed."""

    address: str
    name: str
    master: str
    valid_until: int


class AgentRegistry:
    """Agents by address and by (master, name); a name re-approved replaces its agent."""

    def __init__(self) -> None:
        self._by_address: dict[str, Agent] = {}
        self._by_master: dict[str, dict[str, Agent]] = {}

    def master_of(self, address: str) -> str | None:
        """Master account an agent signs for, or None if ``address`` is no active agent."""
        agent = self._by_address.get(address)
        return None if agent is None else agent.master

    def approve(self, master: str, address: str, name: str, now_ms: int) -> list[str]:
        """Register an agent; returns the addresses deregistered by it (their nonces are pruned)."""
        named = self._by_master.setdefault(master, {})
        removed = []
        previous = self._by_address.get(address)
        if previous is not None:  # same agent re-approved (possibly under another name)
            del named[previous.name]
            removed.append(previous.address)
        replaced = named.pop(name, None)
        if replaced is not None:
            del self._by_address[replaced.address]
            removed.append(replaced.address)
        agent = Agent(address, name, master, now_ms + AGENT_VALIDITY_MS)
        named[name] = agent
        self._by_address[address] = agent
        return [gone for gone in removed if gone != address]

    def of_master(self, master: str) -> list[Agent]:
        """The master's agents (``extraAgents``)."""
        return list(self._by_master.get(master, {}).values())
