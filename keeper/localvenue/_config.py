"""Configuration of the local venue engine: assets, fees, funding, starting balances, synthetic flow."""

from __future__ import annotations

import re
from decimal import Decimal

import msgspec

# Engine-owned accounts of the synthetic flow; no key exists for them, only the engine trades them.
DEMO_MAKER = "0x00000000000000000000000000000000000f1001"
DEMO_TAKER = "0x00000000000000000000000000000000000f1002"
_ADDRESS = re.compile(r"0x[0-9a-f]{40}")


class AssetConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One perp market; its asset id is its index in ``LocalVenueConfig.assets``."""

    name: str
    sz_decimals: int
    max_leverage: int
    start_px: Decimal  # first oracle (and mark) price
    impact_notional: Decimal = Decimal(6000)  # USDC walked on each side for the funding premium

    def __post_init__(self) -> None:
        if not 0 <= self.sz_decimals <= 6:
            raise ValueError(f"{self.name}: szDecimals must be in 0..6")
        if self.max_leverage < 1 or self.start_px <= 0 or self.impact_notional <= 0:
            raise ValueError(f"{self.name}: maxLeverage, startPx and impactNotional must be positive")


class FeeConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Fee rates as fractions of notional; a negative maker rate is a rebate."""

    maker_rate: Decimal = Decimal("0.00015")
    taker_rate: Decimal = Decimal("0.00045")


class FundingConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Hyperliquid funding: 5 s premium samples, hourly payment of 1/8 of the 8-hour rate."""

    interval_ms: int = 3_600_000
    sample_ms: int = 5_000
    interest_rate_8h: Decimal = Decimal("0.0001")
    premium_clamp_8h: Decimal = Decimal("0.0005")
    max_rate_per_interval: Decimal = Decimal("0.04")

    def __post_init__(self) -> None:
        if self.interval_ms <= 0 or self.sample_ms <= 0 or self.interval_ms % self.sample_ms:
            raise ValueError("funding interval must be a positive multiple of the sample period")


class FlowConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Seeded synthetic order flow on one demo market: a quoting maker and an occasional taker."""

    enabled: bool = False
    seed: int = 0
    coin: str = "DEMO"
    step_ms: int = 1_000
    levels: int = 3
    half_spread_bps: Decimal = Decimal(5)
    level_step_bps: Decimal = Decimal(5)
    level_notional: Decimal = Decimal(5_000)
    volatility_bps: Decimal = Decimal(3)  # standard deviation of the fair price per step
    taker_probability: float = 0.2
    taker_notional: Decimal = Decimal(2_000)
    account_balance: Decimal = Decimal(100_000_000)
    maker_address: str = DEMO_MAKER
    taker_address: str = DEMO_TAKER

    def __post_init__(self) -> None:
        if self.step_ms <= 0 or self.levels < 1 or not 0.0 <= self.taker_probability <= 1.0:
            raise ValueError("flow needs step_ms > 0, levels >= 1 and a probability in [0, 1]")


class LocalVenueConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the engine needs; addresses in ``balances`` must be lowercase ``0x`` hex."""

    assets: tuple[AssetConfig, ...]
    fees: FeeConfig = FeeConfig()
    funding: FundingConfig = FundingConfig()
    balances: dict[str, Decimal] = msgspec.field(default_factory=dict)
    flow: FlowConfig = FlowConfig()
    mainnet: bool = False  # SDKs pointed at a non-mainnet URL sign with source "b" / "Testnet"
    default_leverage: int = 20  # cross leverage before any updateLeverage, capped at maxLeverage
    max_history: int = 10_000  # fills and funding rows kept per user / coin; closed orders in total
    max_events: int = 100_000  # undrained WS events beyond this drop the oldest
    # activeAssetCtx pushed at least this often, changed or not (Hyperliquid pushes it about every
    # block): a subscriber can tell a quiet market from a stalled feed.
    ctx_push_ms: int = 1_000

    def __post_init__(self) -> None:
        names = [asset.name for asset in self.assets]
        if not names or len(set(names)) != len(names):
            raise ValueError("assets must be a non-empty list of unique names")
        for address in (*self.balances, self.flow.maker_address, self.flow.taker_address):
            if _ADDRESS.fullmatch(address) is None:
                raise ValueError(f"address must be lowercase 0x + 40 hex digits: {address!r}")
        if self.flow.enabled and self.flow.coin not in names:
            raise ValueError(f"flow coin {self.flow.coin!r} is not a configured asset")
        if self.default_leverage < 1 or self.max_history < 1 or self.max_events < 1 or self.ctx_push_ms < 1:
            raise ValueError("default_leverage, max_history, max_events and ctx_push_ms must be positive")

    def asset_id(self, coin: str) -> int | None:
        """Asset index of ``coin``, or None."""
        for index, asset in enumerate(self.assets):
            if asset.name == coin:
                return index
        return None
