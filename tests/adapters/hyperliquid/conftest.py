"""Shared set-up: a local venue on a leased loopback port, REST clients, order helpers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any, Literal

import pytest

from keeper.adapters.hyperliquid import (
    HyperliquidRestClient,
    LocalVenueServer,
    ManualClock,
    start_local_venue,
)
from keeper.codecs.hyperliquid import OrderAction, OrderWire, PrivateKeySigner, limit_order, order_action
from keeper.localvenue import AssetConfig, LocalVenueConfig
from tests.dev_keys import anvil_dev_key

# anvil dev keys 0..2 (funded on the venue) and 3..4 (agents / strangers)
KEY_A, KEY_B, KEY_C, KEY_STRANGER = (anvil_dev_key(i) for i in range(4))
ALICE = PrivateKeySigner(KEY_A)
BOB = PrivateKeySigner(KEY_B)
CAROL = PrivateKeySigner(KEY_C)
T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC
ETH = 0


def make_config(**overrides: Any) -> LocalVenueConfig:
    """One market, ETH (szDecimals 4, 25x, 2000); Alice, Bob and Carol hold 100k USDC each."""
    settings: dict[str, Any] = {
        "assets": (AssetConfig(name="ETH", sz_decimals=4, max_leverage=25, start_px=Decimal(2000)),),
        "balances": {s.address: Decimal(100_000) for s in (ALICE, BOB, CAROL)},
    }
    settings.update(overrides)
    return LocalVenueConfig(**settings)


def eth(
    is_buy: bool, px: str, sz: str, tif: Literal["Alo", "Ioc", "Gtc"] = "Gtc", cloid: str | None = None
) -> OrderWire:
    """An ETH limit order from decimal strings."""
    return limit_order(
        asset=ETH, is_buy=is_buy, price=Decimal(px), size=Decimal(sz), sz_decimals=4, tif=tif, cloid=cloid
    )


def orders(*wires: OrderWire) -> OrderAction:
    return order_action(wires)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``predicate`` until true (real time), failing after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        while True:
            if predicate():
                return
            await asyncio.sleep(0.01)


@pytest.fixture
async def server() -> AsyncIterator[LocalVenueServer]:
    """A local venue on wall-clock time."""
    venue = await start_local_venue(make_config())
    yield venue
    await venue.close()


@pytest.fixture
async def rest(server: LocalVenueServer) -> AsyncIterator[HyperliquidRestClient]:
    client = HyperliquidRestClient(server.url, timeout_s=5.0)
    yield client
    await client.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
async def manual_server(clock: ManualClock) -> AsyncIterator[LocalVenueServer]:
    """A local venue whose time moves only with ``clock``."""
    venue = await start_local_venue(make_config(), clock=clock)
    yield venue
    await venue.close()


@pytest.fixture
async def manual_rest(
    manual_server: LocalVenueServer, clock: ManualClock
) -> AsyncIterator[HyperliquidRestClient]:
    """REST client on the manual clock (nonces must sit in the venue's window around its time)."""
    client = HyperliquidRestClient(manual_server.url, timeout_s=5.0, now_ms=clock.now_ms, sleep=clock.sleep)
    yield client
    await client.close()
