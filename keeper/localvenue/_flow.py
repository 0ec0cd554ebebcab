"""Seeded synthetic order flow so a demo market moves: a random-walk fair price (also the
oracle), an engine-owned maker quoting a few levels around it every step, and an engine-owned
taker that sometimes crosses with an IOC order.

Deterministic per seed: every step draws the same three numbers from a PCG64 generator in the same
order, and steps run on a fixed time grid independent of how often the engine is advanced.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import numpy as np

from keeper.codecs.hyperliquid import keccak256, round_price, round_size
from keeper.localvenue._config import FlowConfig
from keeper.localvenue._matching import MIN_NOTIONAL, Market, OrderRequest
from keeper.localvenue._wire import fmt

_BPS = Decimal(10_000)
_TAKER_SLIPPAGE = Decimal("0.02")


class SyntheticFlow:
    """Drives one market from two engine-owned accounts."""

    def __init__(self, config: FlowConfig, asset: int, market: Market) -> None:
        self._config = config
        self._asset = asset
        self._market = market
        self._sz_decimals = market.assets[asset].sz_decimals
        self._rng = np.random.Generator(np.random.PCG64(config.seed))
        self.fair = market.oracle[asset]
        market.open_account(config.maker_address, config.account_balance)
        market.open_account(config.taker_address, config.account_balance)

    def _hash(self, now_ms: int, tag: str) -> str:
        return "0x" + keccak256(f"flow:{self._config.seed}:{now_ms}:{tag}".encode()).hex()

    def _size(self, notional: Decimal) -> Decimal:
        size = round_size(notional / self.fair, self._sz_decimals, rounding=ROUND_CEILING)
        while size * self.fair < MIN_NOTIONAL:  # tiny notionals still clear the $10 minimum
            size += Decimal(1).scaleb(-self._sz_decimals)
        return size

    def _place(self, user: str, is_buy: bool, *, px: Decimal, size: Decimal, tif: str, now_ms: int) -> None:
        request = OrderRequest(asset=self._asset, is_buy=is_buy, px=fmt(px), sz=fmt(size), tif=tif)
        self._market.place(user, request, now_ms, self._hash(now_ms, user))

    def requote(self, now_ms: int) -> None:
        """Replace the maker's ladder around the current fair price."""
        config = self._config
        self._market.cancel_all(config.maker_address, "canceled", now_ms)
        size = self._size(config.level_notional)
        for level in range(config.levels):
            offset = (config.half_spread_bps + level * config.level_step_bps) / _BPS
            bid = round_price(self.fair * (1 - offset), self._sz_decimals, rounding=ROUND_FLOOR)
            ask = round_price(self.fair * (1 + offset), self._sz_decimals, rounding=ROUND_CEILING)
            self._place(config.maker_address, True, px=bid, size=size, tif="Gtc", now_ms=now_ms)
            self._place(config.maker_address, False, px=ask, size=size, tif="Gtc", now_ms=now_ms)

    def step(self, now_ms: int) -> None:
        """Move the fair price, requote, and maybe send a taker order."""
        config = self._config
        shock = float(self._rng.standard_normal())
        take = float(self._rng.random()) < config.taker_probability
        buy = float(self._rng.random()) < 0.5
        move = Decimal(f"{shock:.6f}") * config.volatility_bps / _BPS
        moved = round_price(self.fair * (1 + move), self._sz_decimals)
        if moved > 0:
            self.fair = moved
        self._market.set_oracle(self._asset, self.fair)
        self.requote(now_ms)
        if take:
            slip = 1 + _TAKER_SLIPPAGE if buy else 1 - _TAKER_SLIPPAGE
            px = round_price(
                self.fair * slip, self._sz_decimals, rounding=ROUND_CEILING if buy else ROUND_FLOOR
            )
            self._place(
                config.taker_address,
                buy,
                px=px,
                size=self._size(config.taker_notional),
                tif="Ioc",
                now_ms=now_ms,
            )
