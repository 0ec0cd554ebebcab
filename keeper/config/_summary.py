"""A short human summary of a config, for `keeper config check`. Never prints key material; URLs go
through `mask_url` (an RPC or venue URL often carries an API key or credentials)."""

from __future__ import annotations

from keeper.config._schema import (
    AnvilKey,
    DexVenueConfig,
    EnvKey,
    HyperliquidVenueConfig,
    KeeperConfig,
    KeySource,
    KeystoreKey,
)
from keeper.core.redact import mask_url


def summarize(config: KeeperConfig) -> list[str]:
    """Return the summary lines for a valid config."""
    chain, gas, risk, devnet = config.chain, config.gas_policy, config.risk, config.devnet
    if devnet.launch:
        rpc = f"local anvil (mining {devnet.mining}"
        rpc += f", {devnet.block_time_s:g}s blocks)" if devnet.mining == "interval" else ")"
        if devnet.fork_url is not None:
            rpc += f", forking {mask_url(devnet.fork_url)}"
    else:
        rpc = "rpc " + ", ".join(mask_url(url) for url in (*chain.rpc_http, *chain.rpc_ws))
    return [
        f"chain      {chain.name} (chain id {chain.chain_id}), {rpc}",
        f"contracts  {_contracts(config)}",
        f"venues     {_venues(config)}",
        f"gas        cap {gas.max_fee_gwei:g} gwei, tip p{gas.priority_percentile:g}, "
        f"replace after {gas.replace_after_s:g}s by +{gas.bump_pct:g}%, {gas.confirmations} conf, "
        f"at cap: {gas.at_cap}",
        f"keys       active {config.keys.active!r}; "
        + ", ".join(f"{n} ({_source(s)})" for n, s in sorted(config.keys.accounts.items())),
        f"risk       order <= ${risk.max_order_notional_usd:,.0f}, position <= "
        f"${risk.max_position_notional_usd:,.0f}, leverage <= {risk.max_leverage:g}x, "
        f"drawdown <= {risk.max_drawdown_pct:g}%{', KILL SWITCH ON' if risk.kill else ''}",
        f"strategy   {config.strategy.kind}, "
        f"size {config.strategy.order_size:g} x {config.strategy.levels} level(s), "
        + (
            f"quoting {config.strategy.market} on {config.strategy.venue}"
            if config.strategy.venue is not None
            else "no quoting (no venue)"
        ),
        f"store      {config.store.path}",
    ]


def _contracts(config: KeeperConfig) -> str:
    c = config.contracts
    if c.deploy:
        return "deployed at start-up"
    if c.deployments_file is not None:
        return f"from {c.deployments_file}"
    if c.exchange is not None:
        return f"exchange {c.exchange}"
    return "none"


def _venues(config: KeeperConfig) -> str:
    parts = []
    for name, venue in sorted(config.venues.items()):
        state = "" if venue.enabled else ", disabled"
        if isinstance(venue, HyperliquidVenueConfig):
            where = "local server" if venue.local_server else mask_url(str(venue.base_url))
            if venue.agent_key is not None:
                where += f", agent key {venue.agent_key!r}"
            parts.append(f"{name} (hyperliquid, {where}{state})")
        elif isinstance(venue, DexVenueConfig):
            parts.append(f"{name} (dex, {', '.join(venue.markets)}{state})")
    return "; ".join(parts) or "none"


def _source(source: KeySource) -> str:
    if isinstance(source, KeystoreKey):
        return f"keystore {source.path}"
    if isinstance(source, EnvKey):
        return f"env ${source.env}, dev mode"
    if isinstance(source, AnvilKey):
        return f"anvil dev account #{source.index}"
    raise AssertionError(source)
