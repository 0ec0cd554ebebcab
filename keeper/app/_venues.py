"""Open the configured venue for quoting: the bundled local venue when asked, keys, agent approval.

Everything opened here is registered on the caller's `AsyncExitStack`, so shutdown closes it in reverse
order (venue streams and the dead-man switch first, then the REST session, then the local server).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path

from keeper.adapters.hyperliquid import (
    HyperliquidAdapterError,
    HyperliquidRestClient,
    HyperliquidVenue,
    approve_agent,
    start_local_venue,
)
from keeper.chain import load_signer
from keeper.codecs.hyperliquid import Accepted, PrivateKeySigner
from keeper.config import ConfigError, HyperliquidVenueConfig, KeeperConfig
from keeper.core.md_guard import GuardConfig
from keeper.core.redact import mask_url
from keeper.localvenue import AssetConfig, FlowConfig, LocalVenueConfig

log = logging.getLogger("keeper.venues")


class VenueStartError(RuntimeError):
    """The venue could not be opened (approval refused, no answer); the message names the venue."""


def _hl_signer(config: KeeperConfig, config_dir: Path, field: str, name: str) -> PrivateKeySigner:
    source = config.keys.accounts.get(name)
    if source is None:  # validation catches this; kept for direct callers
        raise ConfigError("(venues)", field, f"{name!r} is not one of keys.accounts")
    signer = load_signer(name, source, config_dir)
    return PrivateKeySigner(bytes(signer.account.key))


async def open_hyperliquid(
    name: str,
    venue: HyperliquidVenueConfig,
    config: KeeperConfig,
    config_dir: Path,
    stack: AsyncExitStack,
    *,
    claim: Callable[[str], None] | None = None,
) -> tuple[HyperliquidVenue, float]:
    """Start (if local) and connect the Hyperliquid venue `name` for `config.strategy.market`; returns
    the venue and the market's current mid (the maker's first reference price).

    `claim(key)` is called with ``hyperliquid:<account>@<venue URL>`` before anything is sent to the
    venue: it takes the account's lease and raises when another process holds it."""
    at = f"venues.{name}"
    market = config.strategy.market
    master = (
        None
        if venue.master_key is None
        else _hl_signer(config, config_dir, f"{at}.master_key", venue.master_key)
    )
    agent = (
        None
        if venue.agent_key is None
        else _hl_signer(config, config_dir, f"{at}.agent_key", venue.agent_key)
    )
    account = (venue.account_address or (master.address if master is not None else "")).lower()
    base_url, ws_url = venue.base_url, venue.ws_url
    if venue.local_server is not None:
        local = venue.local_server
        server = await start_local_venue(
            LocalVenueConfig(
                assets=(
                    AssetConfig(
                        name=market,
                        sz_decimals=local.sz_decimals,
                        max_leverage=local.max_leverage,
                        start_px=Decimal(repr(local.start_px)),
                    ),
                ),
                balances={account: Decimal(repr(local.deposit_usd))},
                flow=FlowConfig(enabled=local.flow, seed=local.flow_seed, coin=market),
                mainnet=venue.is_mainnet,
            )
        )
        stack.push_async_callback(server.close)
        base_url, ws_url = server.url, server.ws_url
        log.info(
            "local Hyperliquid venue on %s (%s at %s, account %s funded)",
            server.url,
            market,
            local.start_px,
            account,
        )
    if base_url is None or ws_url is None:  # validation refuses this; kept for direct callers
        raise ConfigError(
            "(venues)", f"{at}.base_url", "base_url and ws_url are required unless local_server is set"
        )
    if claim is not None:
        claim(f"hyperliquid:{account}@{base_url}")
    rest = HyperliquidRestClient(base_url, is_mainnet=venue.is_mainnet, timeout_s=venue.request_timeout_s)
    stack.push_async_callback(rest.close)
    signer = agent if agent is not None else master
    if signer is None:
        raise ConfigError("(venues)", f"{at}.master_key", "set master_key or agent_key (someone must sign)")
    if agent is not None and master is not None and venue.local_server is not None:
        # A fresh local venue knows no agents: the master approves the configured one by name.
        outcome = await approve_agent(rest, master, agent.address, name="keeper")
        if not isinstance(outcome, Accepted):
            raise VenueStartError(f"{at}: approveAgent for {agent.address} failed: {outcome!r}")
        log.info("agent %s approved for %s", agent.address, account)
    hl = HyperliquidVenue(
        rest,
        ws_url,
        signer,
        account,
        [market],
        cloid_prefix=secrets.token_hex(8),  # per process: orders of an earlier run are adopted, not claimed
        dead_man_s=venue.dead_man_s,
        md_guard=GuardConfig(jump_band=Decimal(repr(venue.max_price_jump_pct)) / 100),
    )
    try:
        await hl.connect()
    except ValueError:
        # connect() refuses a market missing from (or delisted in) the venue's meta: a config error.
        if not await _lists(rest, market):
            raise ConfigError("(venues)", "strategy.market", f"{at} does not list {market!r}") from None
        raise
    except HyperliquidAdapterError as exc:
        raise VenueStartError(f"{at}: cannot connect to {mask_url(base_url)}: {exc}") from None
    except TimeoutError:
        raise VenueStartError(f"{at}: no WebSocket connection to {mask_url(ws_url)}") from None
    stack.push_async_callback(hl.close)
    try:
        hl.market(market)
    except KeyError:
        raise ConfigError("(venues)", "strategy.market", f"{at} does not list {market!r}") from None
    mid = hl.last_price(market)  # read at connect: no second allMids request
    if mid is None:
        raise VenueStartError(f"{at}: the venue has no mid for {market!r}")
    log.info(
        "connected to %s as %s (signing with %s)",
        name,
        account,
        "agent " + signer.address if agent else "master",
    )
    return hl, float(mid)


async def _lists(rest: HyperliquidRestClient, market: str) -> bool:
    meta = await rest.info("meta")
    return any(asset.name == market and not asset.is_delisted for asset in meta.universe)
