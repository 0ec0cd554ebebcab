"""Units of the reference perp DEX (contracts/exchange/PerpTypes.sol) and market parameters.

price: 8 decimals (USD per whole base unit); size: 8 decimals of the base asset; collateral and
notional: 6 decimals (USD); ratios, fees and funding rates: 18 decimals (WAD). Conversions take
Decimal or int and refuse values that would need rounding: an order must be exactly what was asked.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

PRICE_SCALE = 10**8
SIZE_SCALE = 10**8
USD_SCALE = 10**6
WAD = 10**18


def _scaled(value: Decimal | int | str, scale: int, what: str) -> int:
    scaled = Decimal(value) * scale
    if scaled != scaled.to_integral_value():
        raise ValueError(
            f"{what} {value} has more precision than the contract's {len(str(scale)) - 1} decimals"
        )
    return int(scaled)


def price_to_units(price: Decimal | int | str) -> int:
    return _scaled(price, PRICE_SCALE, "price")


def size_to_units(size: Decimal | int | str) -> int:
    return _scaled(size, SIZE_SCALE, "size")


def usd_to_units(usd: Decimal | int | str) -> int:
    return _scaled(usd, USD_SCALE, "amount")


def wad(ratio: Decimal | int | str) -> int:
    return _scaled(ratio, WAD, "ratio")


class MarketSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A market as the deployer lists it, in human units (Decimal strings)."""

    symbol: str
    feed_id: int
    initial_price: str
    tick_size: str = "0.01"
    lot_size: str = "0.001"
    min_notional_usd: str = "10"
    max_leverage: str = "10"  # initial margin ratio = 1 / max_leverage
    maintenance_margin_ratio: str = "0.05"
    maker_fee: str = "-0.0001"  # negative: a rebate
    taker_fee: str = "0.0005"
    liquidation_fee: str = "0.01"
    interest_rate_per_hour: str = "0.0000125"
    max_funding_rate_per_hour: str = "0.04"
    premium_bound: str = "0.05"
    sample_interval_s: int = 60
    keeper_reward_usd: str = "1"
    max_oracle_age_s: int = 3600

    def to_params(self) -> tuple[object, ...]:
        """The `MarketParams` tuple for `addMarket`, in contract units."""
        return (
            self.symbol.encode().ljust(16, b"\0")[:16],
            self.feed_id,
            self.max_oracle_age_s,
            price_to_units(self.tick_size),
            size_to_units(self.lot_size),
            usd_to_units(self.min_notional_usd),
            wad(Decimal(1) / Decimal(self.max_leverage)),
            wad(self.maintenance_margin_ratio),
            wad(self.maker_fee),
            wad(self.taker_fee),
            wad(self.liquidation_fee),
            wad(self.interest_rate_per_hour),
            wad(self.max_funding_rate_per_hour),
            wad(self.premium_bound),
            self.sample_interval_s,
            usd_to_units(self.keeper_reward_usd),
        )
