"""The on-chain reference perp DEX (contract venue): ABIs, units and deployment."""

from keeper.adapters.dex._abi import exchange_abi, load_abi
from keeper.adapters.dex._errors import DexRevert, decode_revert
from keeper.adapters.dex._units import (
    PRICE_SCALE,
    SIZE_SCALE,
    USD_SCALE,
    WAD,
    MarketSpec,
    price_to_units,
    size_to_units,
    usd_to_units,
    wad,
)

__all__ = [
    "PRICE_SCALE",
    "SIZE_SCALE",
    "USD_SCALE",
    "WAD",
    "DexRevert",
    "MarketSpec",
    "decode_revert",
    "exchange_abi",
    "load_abi",
    "price_to_units",
    "size_to_units",
    "usd_to_units",
    "wad",
]
