"""Hourly funding (hyperliquid-api.md §5, perp-dex-facts.md §1.1).

Every ``sample_ms`` a premium sample per asset: ``(max(impactBid - O, 0) - max(O - impactAsk, 0)) / O``
with impact prices from walking ``impact_notional`` USDC of the book (a side too thin contributes 0).
At each interval end: ``P = mean(samples)``, ``F8 = P + clamp(I - P, -c, c)``, hourly rate
``F8 / 8`` capped at ±4 %, and every position pays ``szi * oracle * rate`` (positive: longs pay).
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import TypeVar

import msgspec

from keeper.localvenue._config import FundingConfig
from keeper.localvenue._events import EventLog
from keeper.localvenue._matching import Market
from keeper.localvenue._wire import RATE_PLACES, ZERO, JsonDict, fmt, fmt_usd, micro

ZERO_HASH = "0x" + "00" * 32
_T = TypeVar("_T")
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)


class FundingRecord(msgspec.Struct, frozen=True):
    """One settled interval of one coin (``fundingHistory`` row)."""

    coin: str
    rate: Decimal
    premium: Decimal
    time: int

    def wire(self) -> JsonDict:
        """``fundingHistory`` entry."""
        return {
            "coin": self.coin,
            "fundingRate": fmt(self.rate),
            "premium": fmt(self.premium),
            "time": self.time,
        }


class FundingPayment(msgspec.Struct, frozen=True):
    """One account's payment for one coin; ``usdc`` is the signed cash flow (negative = paid)."""

    time: int
    coin: str
    usdc: Decimal
    szi: Decimal
    rate: Decimal
    n_samples: int

    def ws(self) -> JsonDict:
        """``userFundings`` / ``user`` channel entry."""
        return {
            "time": self.time,
            "coin": self.coin,
            "usdc": fmt_usd(self.usdc),
            "szi": fmt(self.szi),
            "fundingRate": fmt(self.rate),
            "nSamples": self.n_samples,
        }

    def wire(self) -> JsonDict:
        """``userFunding`` info entry."""
        delta = {"type": "funding", **self.ws()}
        del delta["time"]
        return {"time": self.time, "hash": ZERO_HASH, "delta": delta}


class Funding:
    """Premium samples, settlement and the funding records."""

    def __init__(self, config: FundingConfig, market: Market, events: EventLog, max_history: int) -> None:
        self._config = config
        self._market = market
        self._events = events
        self._max_history = max_history
        count = len(market.assets)
        self._sum = [ZERO] * count
        self._n = [0] * count
        self.last_premium: list[Decimal | None] = [None] * count
        self.history: dict[str, deque[FundingRecord]] = {}
        self.payments: dict[str, deque[FundingPayment]] = {}

    def impact_pxs(self, asset: int) -> tuple[Decimal | None, Decimal | None]:
        """(impact bid, impact ask) for the asset's impact notional."""
        book = self._market.books[asset]
        notional = self._market.assets[asset].impact_notional
        return book.bids.impact_px(notional), book.asks.impact_px(notional)

    def premium_now(self, asset: int) -> Decimal:
        """Instantaneous premium against the oracle."""
        oracle = self._market.oracle[asset]
        impact_bid, impact_ask = self.impact_pxs(asset)
        above = ZERO if impact_bid is None else max(impact_bid - oracle, ZERO)
        below = ZERO if impact_ask is None else max(oracle - impact_ask, ZERO)
        return ((above - below) / oracle).quantize(_RATE_QUANTUM)

    def sample(self) -> None:
        """Take one premium sample of every asset."""
        for asset in range(len(self._market.assets)):
            premium = self.premium_now(asset)
            self._sum[asset] += premium
            self._n[asset] += 1
            self.last_premium[asset] = premium

    def _rate_of(self, premium: Decimal) -> Decimal:
        config = self._config
        interest = config.interest_rate_8h
        clamp = config.premium_clamp_8h
        rate_8h = premium + min(max(interest - premium, -clamp), clamp)
        per_interval = rate_8h * config.interval_ms / (8 * 3_600_000)
        cap = config.max_rate_per_interval
        return min(max(per_interval, -cap), cap).quantize(_RATE_QUANTUM)

    def average_premium(self, asset: int) -> Decimal:
        """Mean of this interval's samples (the instantaneous premium before the first one)."""
        if self._n[asset] == 0:
            return self.premium_now(asset)
        return (self._sum[asset] / self._n[asset]).quantize(_RATE_QUANTUM)

    def predicted_rate(self, asset: int) -> Decimal:
        """Rate the next settlement would pay with the samples so far."""
        return self._rate_of(self.average_premium(asset))

    def settle(self, now_ms: int) -> None:
        """Pay the interval's funding on every position and reset the samples."""
        market = self._market
        for asset, config in enumerate(market.assets):
            n_samples = self._n[asset]
            premium = (self._sum[asset] / n_samples).quantize(_RATE_QUANTUM) if n_samples else ZERO
            rate = self._rate_of(premium)
            oracle = market.oracle[asset]
            self._append(self.history, config.name, FundingRecord(config.name, rate, premium, now_ms))
            for address, account in sorted(market.accounts.items()):
                position = account.positions.get(asset)
                if position is None or position.szi == 0:
                    continue
                paid = micro(position.szi * oracle * rate)
                account.usdc -= paid
                position.funding_all += paid
                position.funding_open += paid
                position.funding_change += paid
                payment = FundingPayment(now_ms, config.name, -paid, position.szi, rate, n_samples)
                self._append(self.payments, address, payment)
                self._events.funding(address, payment.ws())
            self._sum[asset] = ZERO
            self._n[asset] = 0

    def _append(self, table: dict[str, deque[_T]], key: str, item: _T) -> None:
        rows = table.get(key)
        if rows is None:
            rows = table[key] = deque(maxlen=self._max_history)
        rows.append(item)
