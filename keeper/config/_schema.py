"""Typed deployment config: one TOML file per deployment, decoded into frozen msgspec Structs.

`[strategy]` is `keeper.core.strategy_config.StrategyConfig`: the simulator's scenarios use the very same
schema, so it lives in the pure core where both can import it.

Rules (after NautilusTrader's config policy): unknown keys are errors; defaults live here and only
here; ``None`` means a real absence ("off"/"unbounded"), never "use the default". Range rules that
msgspec can express sit on the field types; rules that span fields live in ``_validate.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from keeper.core.strategy_config import NAME_PATTERN, StrategyConfig

# Constrained scalars. msgspec reports violations with the field path, which the loader rewrites
# into the one-line `FILE: path: reason` form.
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
# Geth/Reth need >10 % for a replacement and reject exactly 10 % at times; 12.5 % is the safe floor.
BumpPercent = Annotated[float, msgspec.Meta(ge=12.5, le=1000)]
Name = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
EnvVarName = Annotated[str, msgspec.Meta(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
HttpUrl = Annotated[str, msgspec.Meta(pattern=r"^https?://\S+$")]
WsUrl = Annotated[str, msgspec.Meta(pattern=r"^wss?://\S+$")]
# Checksum validity is checked in _validate.py; the pattern catches the shape.
Address = Annotated[str, msgspec.Meta(pattern=r"^0x[0-9a-fA-F]{40}$")]

# The dead-man switch re-arms at half its window and the venue refuses a cancel time less than 5 s
# ahead, so windows under 2 x 5 s cannot work (mirrors adapters/hyperliquid/_deadman.py MIN_LEAD_MS).
DEAD_MAN_MIN_S = 10.0


class _Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for every config section."""


class ChainConfig(_Config, frozen=True, kw_only=True):
    """The EVM chain the keeper watches and transacts on."""

    name: Name
    chain_id: PositiveInt
    # Ordered by preference; the RPC layer fails over down the list. Empty only when
    # [devnet] launch = true, which then supplies its own endpoints.
    rpc_http: list[HttpUrl] = []
    rpc_ws: list[WsUrl] = []
    block_time_s: PositiveFloat = 12.0


class DevnetConfig(_Config, frozen=True, kw_only=True):
    """A local anvil the keeper launches and owns (development and demos only)."""

    launch: bool = False
    # interval: a block every block_time_s; instant: a block per transaction; manual: only on request
    # (evm_mine), which leaves sent transactions pending for mempool work.
    mining: Literal["interval", "instant", "manual"] = "interval"
    block_time_s: PositiveFloat = 1.0
    base_fee_wei: NonNegativeInt | None = None
    accounts: PositiveInt = 10
    balance_eth: PositiveInt = 10_000
    fork_url: HttpUrl | None = None
    fork_block: NonNegativeInt | None = None
    load_state: str | None = None
    dump_state: str | None = None


class ContractsConfig(_Config, frozen=True, kw_only=True):
    """Where the reference perp DEX lives: deployed at start-up, from a deployments file, or explicit."""

    deploy: bool = False
    deployments_file: str | None = None
    exchange: Address | None = None
    oracle: Address | None = None
    collateral: Address | None = None


class LocalHyperliquidConfig(_Config, frozen=True, kw_only=True):
    """The bundled Hyperliquid-compatible venue, served on a leased loopback port (demos and tests).

    One market (the strategy's), seeded synthetic flow so it moves, and the master account funded."""

    start_px: PositiveFloat = 2000.0
    sz_decimals: Annotated[int, msgspec.Meta(ge=0, le=6)] = 4
    max_leverage: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    deposit_usd: PositiveFloat = 1_000_000.0
    flow: bool = True
    flow_seed: NonNegativeInt = 0


class HyperliquidVenueConfig(_Config, frozen=True, kw_only=True, tag="hyperliquid", tag_field="kind"):
    """An API venue speaking the Hyperliquid signed-action protocol."""

    # Required unless local_server is set (the bundled venue supplies its own loopback URLs).
    base_url: HttpUrl | None = None
    ws_url: WsUrl | None = None
    is_mainnet: bool = False
    # User streams and reconciliation always use the master address, never an agent's.
    account_address: Address | None = None
    # An entry of [keys.accounts]: the master key. It signs when there is no agent and approves the
    # agent on the local server; its address is the account address when account_address is unset.
    master_key: Name | None = None
    agent_key: Name | None = None  # an entry of [keys.accounts]: signs every L1 action when set
    local_server: LocalHyperliquidConfig | None = None
    # scheduleCancel kept armed at now + dead_man_s (re-armed every half of it); None: off.
    dead_man_s: Annotated[float, msgspec.Meta(ge=DEAD_MAN_MIN_S)] | None = 30.0
    request_timeout_s: PositiveFloat = 5.0
    # A book or context moving more than this from the last good mid / oracle in one frame is refused
    # (counted) until a few frames over 2 s agree on the new level.
    max_price_jump_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 20.0
    enabled: bool = True


class DexVenueConfig(_Config, frozen=True, kw_only=True, tag="dex", tag_field="kind"):
    """The on-chain reference perp DEX from [contracts]."""

    markets: list[Name]
    trader_key: Name  # an entry of [keys.accounts]
    enabled: bool = True


VenueConfig = HyperliquidVenueConfig | DexVenueConfig


class GasPolicyConfig(_Config, frozen=True, kw_only=True):
    """How transactions are priced, replaced and confirmed. Hot-reloadable."""

    max_fee_gwei: PositiveFloat
    priority_percentile: Percent = 50.0
    fee_history_blocks: PositiveInt = 20
    replace_after_s: PositiveFloat = 15.0
    bump_pct: BumpPercent = 12.5
    confirmations: NonNegativeInt = 1
    gas_limit_buffer_pct: NonNegativeFloat = 20.0
    # Cancels get a larger tip than placements: a stale quote costs more than a late one.
    cancel_priority_multiplier: Annotated[float, msgspec.Meta(ge=1)] = 1.5
    at_cap: Literal["wait", "cancel"] = "wait"


class KeystoreKey(_Config, frozen=True, kw_only=True, tag="keystore", tag_field="source"):
    """An encrypted eth-account keystore; the password comes from a file or an env var."""

    path: str
    password_file: str | None = None
    password_env: EnvVarName | None = None


class EnvKey(_Config, frozen=True, kw_only=True, tag="env", tag_field="source"):
    """A raw key read from an environment variable. Allowed only with [keys] dev_mode = true."""

    env: EnvVarName


class AnvilKey(_Config, frozen=True, kw_only=True, tag="anvil", tag_field="source"):
    """One of anvil's well-known dev accounts. Allowed only with [devnet] launch = true."""

    index: Annotated[int, msgspec.Meta(ge=0, lt=1000)]


KeySource = KeystoreKey | EnvKey | AnvilKey


class KeysConfig(_Config, frozen=True, kw_only=True):
    """Signing keys by name. The file holds references only, never key material."""

    active: Name
    accounts: dict[Name, KeySource]
    dev_mode: bool = False


class RiskConfig(_Config, frozen=True, kw_only=True):
    """Limits the risk gate enforces before any order leaves the keeper."""

    max_order_notional_usd: PositiveFloat
    max_position_notional_usd: PositiveFloat
    max_leverage: PositiveFloat = 3.0
    max_drawdown_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 10.0
    min_liquidation_distance_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] = 15.0
    stale_data_s: PositiveFloat = 5.0
    # |our clock - the venue's| beyond this halts quoting (expiresAfter and funding timing misfire).
    max_clock_skew_ms: PositiveFloat = 2_000.0
    kill: bool = False  # flip at run time to cancel everything and stop quoting


class StoreConfig(_Config, frozen=True, kw_only=True):
    """The durable state of the keeper (orders, fills, positions, risk state): one SQLite file."""

    # Relative to the config file's directory, like every path in the file. Needs a restart to change.
    path: Annotated[str, msgspec.Meta(min_length=1)] = "state/keeper.sqlite"


class KeeperConfig(_Config, frozen=True, kw_only=True):
    """A whole deployment: `chain_config/<name>.toml`."""

    chain: ChainConfig
    gas_policy: GasPolicyConfig
    keys: KeysConfig
    risk: RiskConfig
    strategy: StrategyConfig
    contracts: ContractsConfig = ContractsConfig()
    devnet: DevnetConfig = DevnetConfig()
    venues: dict[Name, VenueConfig] = {}
    store: StoreConfig = StoreConfig()
