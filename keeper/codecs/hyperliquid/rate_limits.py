"""Client-side REST weight limiter and 429 backoff for the Hyperliquid venue (doc §6.1).

The venue allows an aggregate weight of 1200 per minute per IP across ``/info`` and ``/exchange``.
Weights (GB:rate-limits): ``/exchange`` = ``1 + floor(batch_length / 40)``; ``/info`` = 2 for
l2Book, allMids, clearinghouseState, orderStatus, spotClearinghouseState, exchangeStatus, 60 for
userRole, 20 for every other type; explorer = 40. Some info types add one unit per 20 returned
items (per 60 for candleSnapshot), known only after the response: charge it with
:meth:`WeightLimiter.charge`.

:class:`WeightLimiter` is an exact sliding-window log, not a token bucket: a bucket of 1200 that
refills 20/s admits up to ~2400 within one minute after a burst, which a venue counting per
rolling minute would reject with 429. Pure: the caller passes the time (seconds, any epoch) and,
for :class:`BackoffPolicy`, a uniform random number.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

IP_WEIGHT_PER_MINUTE = 1200
WINDOW_S = 60.0
EXPLORER_WEIGHT = 40
EXCHANGE_BATCH_STEP = 40
_TIME_TOLERANCE_S = 1e-6  # > 4 ulps of float seconds around 1.7e9 (Unix epoch now)

_INFO_WEIGHT_2 = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"}
)
_INFO_WEIGHT_60 = frozenset({"userRole"})
_INFO_DEFAULT_WEIGHT = 20
_PER_20_ITEMS = frozenset(
    {
        "recentTrades",
        "historicalOrders",
        "userFills",
        "userFillsByTime",
        "fundingHistory",
        "userFunding",
        "nonUserFundingUpdates",
        "twapHistory",
        "userTwapSliceFills",
        "userTwapSliceFillsByTime",
        "delegatorHistory",
        "delegatorRewards",
        "validatorStats",
    }
)
_PER_60_ITEMS = frozenset({"candleSnapshot"})


def _count(name: str, value: int, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def exchange_weight(batch_len: int) -> int:
    """Weight of one ``/exchange`` request whose action array (orders, cancels...) has ``batch_len``
    items; 0 for actions without an array. 1..39 -> 1, 40..79 -> 2, ..."""
    return 1 + _count("batch_len", batch_len) // EXCHANGE_BATCH_STEP


def info_weight(type_name: str) -> int:
    """Base weight of an ``/info`` request of ``type_name`` (before per-item extra weight)."""
    if type_name in _INFO_WEIGHT_2:
        return 2
    if type_name in _INFO_WEIGHT_60:
        return 60
    return _INFO_DEFAULT_WEIGHT


def info_extra_weight(type_name: str, n_items: int) -> int:
    """Extra weight charged after an ``/info`` response with ``n_items`` items.

    One unit per *whole* 20 items (60 for candleSnapshot), as NautilusTrader counts it; the docs
    do not say whether a partial group is charged, so callers wanting margin should lower the
    limiter budget rather than rely on this rounding.
    """
    _count("n_items", n_items)
    if type_name in _PER_20_ITEMS:
        return n_items // 20
    if type_name in _PER_60_ITEMS:
        return n_items // 60
    return 0


class WeightLimiter:
    """Sliding-window weight budget: at most ``budget`` weight in any ``window_s`` interval.

    Budget below 1200 if other processes share the IP. Time may come from any monotonic source;
    a time that goes backwards is treated as the latest time seen (never frees budget early).
    """

    __slots__ = ("_budget", "_last_now", "_times", "_used", "_weights", "_window")

    def __init__(self, budget: int = IP_WEIGHT_PER_MINUTE, window_s: float = WINDOW_S) -> None:
        self._budget = _count("budget", budget, 1)
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s!r}")
        self._window = float(window_s)
        self._times: deque[float] = deque()  # spending instants, oldest first
        self._weights: deque[int] = deque()  # weight spent at the matching instant
        self._used = 0
        self._last_now = -math.inf

    @property
    def budget(self) -> int:
        """Weight allowed per window."""
        return self._budget

    def _advance(self, now_s: float) -> float:
        if math.isnan(now_s):
            raise ValueError("now_s is NaN")
        now = max(now_s, self._last_now)
        self._last_now = now
        times = self._times
        # Spending stops counting `window` after it. The tolerance absorbs float rounding, so that
        # calling again at exactly now + returned wait succeeds even with epoch-sized times.
        while times and times[0] + self._window <= now + _TIME_TOLERANCE_S:
            times.popleft()
            self._used -= self._weights.popleft()
        return now

    def _record(self, weight: int, now: float) -> None:
        if self._times and self._times[-1] == now:  # same instant: one entry keeps the log short
            self._weights[-1] += weight
        else:
            self._times.append(now)
            self._weights.append(weight)
        self._used += weight

    def used(self, now_s: float) -> int:
        """Weight spent in the window ending at ``now_s``."""
        self._advance(now_s)
        return self._used

    def try_acquire(self, weight: int, now_s: float, reserve: int = 0) -> float:
        """Spend ``weight`` now and return 0.0, or spend nothing and return the seconds to wait
        until it would fit (call again then: other spending may have happened meanwhile).

        ``reserve``: weight this spend must leave unused in the window (reads keep headroom for
        actions, so a burst of reconciliation reads can never hold up a cancel)."""
        if _count("weight", weight, 1) + _count("reserve", reserve) > self._budget:
            raise ValueError(f"weight {weight} + reserve {reserve} can never fit in budget {self._budget}")
        now = self._advance(now_s)
        excess = self._used + weight + reserve - self._budget
        if excess <= 0:
            self._record(weight, now)
            return 0.0
        freed = 0
        for entry_time, entry_weight in zip(self._times, self._weights, strict=True):
            freed += entry_weight
            if freed >= excess:
                return entry_time + self._window - now
        raise AssertionError("unreachable: freeing the whole log always makes room")  # pragma: no cover

    def charge(self, weight: int, now_s: float) -> None:
        """Record weight already spent without asking (per-item extra weight after a response).

        May push usage past the budget; later :meth:`try_acquire` calls then wait it off.
        """
        if _count("weight", weight) > 0:
            self._record(weight, self._advance(now_s))


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Capped exponential backoff with full jitter for 429 responses.

    ``delay(attempt, u)`` = ``u * min(cap_s, base_s * multiplier**attempt)`` with ``u`` uniform in
    [0, 1) drawn by the caller (keeps this pure and tests deterministic). Full jitter spreads
    retries of several tasks that were throttled at the same instant.
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not (0 < self.base_s <= self.cap_s and math.isfinite(self.cap_s)):
            raise ValueError(f"need 0 < base_s <= cap_s < inf, got {self.base_s!r}, {self.cap_s!r}")
        if not (1.0 <= self.multiplier < math.inf):
            raise ValueError(f"multiplier must be >= 1 and finite, got {self.multiplier!r}")

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay before retry number ``attempt`` (0 = first retry)."""
        _count("attempt", attempt)
        try:
            raw = self.base_s * self.multiplier**attempt
        except OverflowError:  # huge attempt counts: float power overflows, the cap applies anyway
            return self.cap_s
        return min(self.cap_s, raw)

    def delay(self, attempt: int, uniform: float) -> float:
        """Seconds to wait before retry ``attempt``, given ``uniform`` in [0, 1)."""
        if not 0.0 <= uniform < 1.0:
            raise ValueError(f"uniform must be in [0, 1), got {uniform!r}")
        return uniform * self.ceiling(attempt)
