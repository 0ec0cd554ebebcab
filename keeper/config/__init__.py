"""Deployment config: typed, frozen, validated; errors name the field.

The `[strategy]` Structs are `keeper.core.strategy_config`'s (shared with the simulator's scenarios),
re-exported here."""

from keeper.config._errors import ConfigError
from keeper.config._load import load_config, parse_config
from keeper.config._paths import resolve_path
from keeper.config._schema import (
    DEAD_MAN_MIN_S,
    AnvilKey,
    ChainConfig,
    ContractsConfig,
    DevnetConfig,
    DexVenueConfig,
    EnvKey,
    GasPolicyConfig,
    HyperliquidVenueConfig,
    KeeperConfig,
    KeysConfig,
    KeySource,
    KeystoreKey,
    LocalHyperliquidConfig,
    RiskConfig,
    StoreConfig,
    VenueConfig,
)
from keeper.config._secrets import redact
from keeper.config._summary import summarize
from keeper.core.strategy_config import (
    LOOP_INTERVAL_MIN_S,
    HedgeConfig,
    IntensityConfig,
    KeeperLayersConfig,
    StrategyConfig,
    UnwindConfig,
)

__all__ = [
    "DEAD_MAN_MIN_S",
    "LOOP_INTERVAL_MIN_S",
    "AnvilKey",
    "ChainConfig",
    "ConfigError",
    "ContractsConfig",
    "DevnetConfig",
    "DexVenueConfig",
    "EnvKey",
    "GasPolicyConfig",
    "HedgeConfig",
    "HyperliquidVenueConfig",
    "IntensityConfig",
    "KeeperConfig",
    "KeeperLayersConfig",
    "KeySource",
    "KeysConfig",
    "KeystoreKey",
    "LocalHyperliquidConfig",
    "RiskConfig",
    "StoreConfig",
    "StrategyConfig",
    "UnwindConfig",
    "VenueConfig",
    "load_config",
    "parse_config",
    "redact",
    "resolve_path",
    "summarize",
]
