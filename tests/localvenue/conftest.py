"""Shared set-up for the local venue engine tests: a two-asset venue and signing traders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from keeper.codecs.hyperliquid import (
    ApproveAgentAction,
    L1Action,
    LimitSpec,
    OrderAction,
    OrderType,
    OrderWire,
    PrivateKeySigner,
    sign_l1_action,
    sign_user_signed_action,
)
from keeper.localvenue import AssetConfig, FeeConfig, LocalVenue, LocalVenueConfig
from tests.dev_keys import anvil_dev_key

# anvil dev keys 0..4
KEY_A, KEY_B, KEY_C, KEY_AGENT1, KEY_AGENT2 = (anvil_dev_key(i) for i in range(5))
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC, a multiple of the 5 s sample period
ETH, DOGE = 0, 1
ADDRESS_A = PrivateKeySigner(KEY_A).address
ADDRESS_B = PrivateKeySigner(KEY_B).address
ADDRESS_C = PrivateKeySigner(KEY_C).address


def make_config(**overrides: Any) -> LocalVenueConfig:
    """ETH (szDecimals 4, 25x, 2000) and DOGE (szDecimals 0, 10x, 0.2); A, B, C funded."""
    settings: dict[str, Any] = {
        "assets": (
            AssetConfig(name="ETH", sz_decimals=4, max_leverage=25, start_px=Decimal(2000)),
            AssetConfig(name="DOGE", sz_decimals=0, max_leverage=10, start_px=Decimal("0.2")),
        ),
        "fees": FeeConfig(maker_rate=Decimal("0.00015"), taker_rate=Decimal("0.00045")),
        "balances": {ADDRESS_A: Decimal(100_000), ADDRESS_B: Decimal(100_000), ADDRESS_C: Decimal(100_000)},
    }
    settings.update(overrides)
    return LocalVenueConfig(**settings)


class Trader:
    """Signs actions with one key and posts them to the venue; nonces default to max(now, last + 1)."""

    def __init__(self, venue: LocalVenue, key: str) -> None:
        self.venue = venue
        self.signer = PrivateKeySigner(key)
        self.address = self.signer.address
        self._last_nonce = 0

    def next_nonce(self, now: int) -> int:
        self._last_nonce = max(now, self._last_nonce + 1)
        return self._last_nonce

    def body(
        self, action: L1Action, nonce: int, *, expires_after: int | None = None, mainnet: bool = False
    ) -> dict[str, Any]:
        signature = sign_l1_action(
            self.signer, action, nonce, expires_after=expires_after, is_mainnet=mainnet
        )
        return {
            "action": msgspec.to_builtins(action),
            "nonce": nonce,
            "signature": msgspec.to_builtins(signature),
            "vaultAddress": None,
            "expiresAfter": expires_after,
        }

    def send(
        self,
        action: L1Action,
        *,
        now: int | None = None,
        nonce: int | None = None,
        expires_after: int | None = None,
    ) -> Any:
        now = self.venue.now_ms if now is None else now
        nonce = self.next_nonce(now) if nonce is None else nonce
        return self.venue.handle_exchange(self.body(action, nonce, expires_after=expires_after), now)

    def order(
        self,
        asset: int,
        is_buy: bool,
        px: str,
        sz: str,
        *,
        tif: str = "Gtc",
        reduce_only: bool = False,
        cloid: str | None = None,
        now: int | None = None,
    ) -> Any:
        """Place one limit order from raw wire strings; returns its status object."""
        wire = OrderWire(asset, is_buy, px, sz, reduce_only, OrderType(limit=LimitSpec(tif)), cloid)
        reply = self.send(OrderAction((wire,), "na"), now=now)
        assert reply["status"] == "ok", reply
        return reply["response"]["data"]["statuses"][0]

    def approve_agent(self, agent: str, name: str, *, now: int | None = None, chain: str = "Testnet") -> Any:
        now = self.venue.now_ms if now is None else now
        nonce = self.next_nonce(now)
        action = ApproveAgentAction(
            agent_address=agent,
            agent_name=name,
            nonce=nonce,
            signature_chain_id="0x66eee",
            hyperliquid_chain=chain,
        )
        signature = sign_user_signed_action(self.signer, action)
        body = {
            "action": msgspec.to_builtins(action),
            "nonce": nonce,
            "signature": msgspec.to_builtins(signature),
            "vaultAddress": None,
        }
        return self.venue.handle_exchange(body, now)


def info(venue: LocalVenue, now: int | None = None, **body: Any) -> Any:
    return venue.handle_info(body, venue.now_ms if now is None else now)


def oid_of(status: dict[str, Any]) -> int:
    inner = status.get("resting") or status.get("filled")
    assert inner is not None, status
    oid = inner["oid"]
    assert isinstance(oid, int)
    return oid


@pytest.fixture
def venue() -> LocalVenue:
    return LocalVenue(make_config(), T0)


@pytest.fixture
def alice(venue: LocalVenue) -> Trader:
    return Trader(venue, KEY_A)


@pytest.fixture
def bob(venue: LocalVenue) -> Trader:
    return Trader(venue, KEY_B)


@pytest.fixture
def carol(venue: LocalVenue) -> Trader:
    return Trader(venue, KEY_C)
