"""Rules that span fields or touch the filesystem; each returns the first problem as (field, reason).

Kept apart from the schema so that the schema stays a plain description of the file.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from eth_utils.address import to_checksum_address

from keeper.config._paths import is_readable_file, resolve_path
from keeper.config._schema import (
    AnvilKey,
    DexVenueConfig,
    EnvKey,
    HyperliquidVenueConfig,
    KeeperConfig,
    KeystoreKey,
    LocalHyperliquidConfig,
)
from keeper.core.strategy_config import StrategyError, maker_params

# Before the venue answers, the maker is built at these to refuse what it would refuse at any price: a
# price of 1 and a lot no bigger than the order size (the real ones are checked when they are known).
NOMINAL_MID = 1.0
NOMINAL_LOT = Decimal("1e-8")
NOMINAL_TICK = Decimal("1e-8")

Problem = tuple[str, str] | None


def check_semantics(config: KeeperConfig, base_dir: Path) -> Problem:
    """Return the first cross-field or filesystem problem, or None when the config is usable."""
    checks = (_check_chain, _check_contracts, _check_keys, _check_venues, _check_risk, _check_strategy)
    for check in (*checks, _check_maker):
        problem = check(config, base_dir)
        if problem is not None:
            return problem
    return None


def _check_chain(config: KeeperConfig, base_dir: Path) -> Problem:
    devnet = config.devnet
    if devnet.launch:
        if config.chain.rpc_http or config.chain.rpc_ws:
            return "chain.rpc_http", "must be empty when devnet.launch = true (the launched anvil serves RPC)"
        if devnet.load_state is not None and not is_readable_file(base_dir, devnet.load_state):
            return "devnet.load_state", f"cannot read state file {devnet.load_state!r}"
        return None
    if not config.chain.rpc_http:
        return "chain.rpc_http", "at least one HTTP endpoint is required unless devnet.launch = true"
    for name in ("fork_url", "fork_block", "load_state", "dump_state", "base_fee_wei"):
        if getattr(devnet, name) is not None:
            return f"devnet.{name}", "only meaningful with devnet.launch = true"
    return None


def _check_contracts(config: KeeperConfig, base_dir: Path) -> Problem:
    c = config.contracts
    explicit = {"exchange": c.exchange, "oracle": c.oracle, "collateral": c.collateral}
    for name, value in explicit.items():
        if value is not None and (problem := _checksum_problem(f"contracts.{name}", value)):
            return problem
    given = [name for name, value in explicit.items() if value is not None]
    if c.deploy:
        if not config.devnet.launch:
            return "contracts.deploy", "deploying at start-up needs devnet.launch = true"
        if given:
            return f"contracts.{given[0]}", "must be absent when contracts.deploy = true"
        if c.deployments_file is not None:
            return "contracts.deployments_file", "must be absent when contracts.deploy = true"
        return None
    if c.deployments_file is not None:
        if given:
            return f"contracts.{given[0]}", "give either contracts.deployments_file or addresses, not both"
        if not is_readable_file(base_dir, c.deployments_file):
            return "contracts.deployments_file", f"cannot read {c.deployments_file!r}"
        return None
    needs_dex = any(isinstance(v, DexVenueConfig) and v.enabled for v in config.venues.values())
    if given or needs_dex:
        for name, value in explicit.items():
            if value is None:
                return f"contracts.{name}", "required (or set contracts.deploy / contracts.deployments_file)"
    return None


def _check_keys(config: KeeperConfig, base_dir: Path) -> Problem:
    keys = config.keys
    if keys.active not in keys.accounts:
        return (
            "keys.active",
            f"{keys.active!r} is not one of keys.accounts ({', '.join(sorted(keys.accounts))})",
        )
    for name, source in keys.accounts.items():
        at = f"keys.accounts.{name}"
        if isinstance(source, KeystoreKey):
            problem = _keystore_problem(at, source, base_dir)
            if problem is not None:
                return problem
        elif isinstance(source, EnvKey):
            if not keys.dev_mode:
                return f"{at}.env", "raw keys from env vars are allowed only with keys.dev_mode = true"
        elif isinstance(source, AnvilKey) and not config.devnet.launch:
            return f"{at}.index", "anvil dev keys are allowed only with devnet.launch = true"
    return None


def _keystore_problem(at: str, source: KeystoreKey, base_dir: Path) -> Problem:
    if (source.password_file is None) == (source.password_env is None):
        return at, "set exactly one of password_file or password_env"
    path = resolve_path(base_dir, source.path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"{at}.path", f"cannot read keystore {str(path)!r}: {exc.strerror or exc}"
    except (ValueError, RecursionError):  # ValueError: not JSON or not UTF-8
        return f"{at}.path", f"{str(path)!r} is not JSON (expected an encrypted keystore)"
    if not isinstance(document, dict) or not isinstance(document.get("crypto", document.get("Crypto")), dict):
        return f"{at}.path", f"{str(path)!r} is not an encrypted keystore (no crypto section)"
    if source.password_file is not None and not is_readable_file(base_dir, source.password_file):
        return f"{at}.password_file", f"cannot read {source.password_file!r}"
    return None


def _check_venues(config: KeeperConfig, base_dir: Path) -> Problem:
    for name, venue in config.venues.items():
        at = f"venues.{name}"
        if isinstance(venue, DexVenueConfig):
            if venue.trader_key not in config.keys.accounts:
                return f"{at}.trader_key", f"{venue.trader_key!r} is not one of keys.accounts"
            if not venue.markets:
                return f"{at}.markets", "at least one market is required"
        elif isinstance(venue, HyperliquidVenueConfig) and (problem := _check_hyperliquid(config, at, venue)):
            return problem
    strategy = config.strategy
    if strategy.venue is not None:
        chosen = config.venues.get(strategy.venue)
        if chosen is None:
            return "strategy.venue", f"{strategy.venue!r} is not one of venues"
        if not chosen.enabled:
            return "strategy.venue", f"venues.{strategy.venue} is disabled"
        if isinstance(chosen, DexVenueConfig):
            return (
                "strategy.venue",
                "quoting runs on an API venue (the contract venue's adapter is not wired yet)",
            )
    return None


def _check_hyperliquid(config: KeeperConfig, at: str, venue: HyperliquidVenueConfig) -> Problem:
    for field in ("master_key", "agent_key"):
        key = getattr(venue, field)
        if key is not None and key not in config.keys.accounts:
            return f"{at}.{field}", f"{key!r} is not one of keys.accounts"
    if venue.local_server is None:
        if venue.base_url is None:
            return f"{at}.base_url", "required unless local_server is set"
        if venue.ws_url is None:
            return f"{at}.ws_url", "required unless local_server is set"
    elif venue.master_key is None:
        return f"{at}.master_key", "required with local_server (the funded account that approves the agent)"
    if venue.account_address is not None and (
        problem := _checksum_problem(f"{at}.account_address", venue.account_address)
    ):
        return problem
    if venue.master_key is None and venue.agent_key is None:
        return f"{at}.master_key", "set master_key or agent_key (someone must sign)"
    if venue.agent_key is not None and venue.account_address is None and venue.master_key is None:
        # Agents sign, but fills and positions belong to the master: without it nothing reconciles.
        return (
            f"{at}.account_address",
            "required when agent_key is set without master_key (the master address)",
        )
    return None


def _check_risk(config: KeeperConfig, base_dir: Path) -> Problem:
    r = config.risk
    if r.max_order_notional_usd > r.max_position_notional_usd:
        return "risk.max_order_notional_usd", "must not exceed risk.max_position_notional_usd"
    return None


def _check_strategy(config: KeeperConfig, base_dir: Path) -> Problem:
    """Configs the run would accept but that can never quote (or that spend the rate limit for nothing)."""
    st, risk = config.strategy, config.risk
    if st.reconcile_interval_s < st.requote_interval_s:
        return (
            "strategy.reconcile_interval_s",
            f"must be at least strategy.requote_interval_s ({st.requote_interval_s:g} s): "
            "a snapshot per quote cycle spends the venue's rate limit for nothing",
        )
    if st.max_position is not None and st.max_position < st.order_size:
        return (
            "strategy.max_position",
            f"{st.max_position:g} is below strategy.order_size ({st.order_size:g}): "
            "the maker could never quote",
        )
    local = _local_server(config)
    if local is None:  # lot and price unknown until the venue answers
        return None
    venue = f"venues.{config.strategy.venue}.local_server"
    lot = Decimal(1).scaleb(-local.sz_decimals)
    if Decimal(repr(st.order_size)) < lot:
        return (
            "strategy.order_size",
            f"{st.order_size:g} is below the lot {lot} ({venue}.sz_decimals = {local.sz_decimals}): "
            "every quote would round to zero",
        )
    order_usd = st.order_size * local.start_px
    if order_usd > risk.max_order_notional_usd:
        return (
            "strategy.order_size",
            f"{st.order_size:g} x {venue}.start_px {local.start_px:g} = ${order_usd:,.2f} exceeds "
            f"risk.max_order_notional_usd (${risk.max_order_notional_usd:,.2f}): the risk gate would deny "
            "every order",
        )
    if st.max_position is not None and st.max_position * local.start_px > risk.max_position_notional_usd:
        return (
            "strategy.max_position",
            f"{st.max_position:g} x {venue}.start_px {local.start_px:g} = "
            f"${st.max_position * local.start_px:,.2f} exceeds risk.max_position_notional_usd "
            f"(${risk.max_position_notional_usd:,.2f}): the risk gate would deny the quotes that reach it",
        )
    return None


def _check_maker(config: KeeperConfig, base_dir: Path) -> Problem:
    """Build the maker as the run will, so that whatever it would refuse is refused here naming the
    field: at the bundled venue's lot and start price when known, else at nominal ones."""
    st = config.strategy
    local = _local_server(config)
    if local is not None:
        lot, mid = Decimal(1).scaleb(-local.sz_decimals), local.start_px
    else:
        lot, mid = min(NOMINAL_LOT, Decimal(repr(st.order_size))), NOMINAL_MID
    try:
        maker_params(
            st,
            tick=NOMINAL_TICK,
            lot=lot,
            mid=mid,
            max_position_notional_usd=config.risk.max_position_notional_usd,
        )
    except StrategyError as exc:
        return exc.field, exc.reason
    except ValueError as exc:  # a range the schema does not express yet: name the section at least
        return "strategy", str(exc)
    return None


def _local_server(config: KeeperConfig) -> LocalHyperliquidConfig | None:
    """The strategy venue's bundled server: the one venue whose lot and price are known before start."""
    venue = config.venues.get(config.strategy.venue or "")
    return venue.local_server if isinstance(venue, HyperliquidVenueConfig) else None


def _checksum_problem(field: str, value: str) -> Problem:
    expected = to_checksum_address(value)
    if value != expected:
        return field, f"bad EIP-55 checksum (expected {expected})"
    return None
