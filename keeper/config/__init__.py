"""Deployment config: typed, frozen, validated; errors name the field."""

from keeper.config._errors import ConfigError
from keeper.config._load import load_config, parse_config
from keeper.config._paths import resolve_path
from keeper.config._schema import (
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
    StrategyConfig,
    VenueConfig,
)
from keeper.config._summary import summarize

__all__ = [
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
    "StrategyConfig",
    "VenueConfig",
    "load_config",
    "parse_config",
    "resolve_path",
    "summarize",
]
