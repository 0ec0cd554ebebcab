"""Deployment config: typed, frozen, validated; errors name the field."""

from keeper.config._errors import ConfigError
from keeper.config._load import load_config, parse_config
from keeper.config._paths import resolve_path
from keeper.config._schema import (
    DEAD_MAN_MIN_S,
    LOOP_INTERVAL_MIN_S,
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
    StrategyConfig,
    VenueConfig,
)
from keeper.config._secrets import redact
from keeper.config._summary import summarize

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
    "HyperliquidVenueConfig",
    "KeeperConfig",
    "KeySource",
    "KeysConfig",
    "KeystoreKey",
    "LocalHyperliquidConfig",
    "RiskConfig",
    "StoreConfig",
    "StrategyConfig",
    "VenueConfig",
    "load_config",
    "parse_config",
    "redact",
    "resolve_path",
    "summarize",
]
