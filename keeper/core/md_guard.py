"""Market-data guard: sanity and jump checks on book tops and market contexts, the receive time of
the last valid message per market, and the local-vs-venue clock offset. Pure: times are arguments.

Every ``BookTop`` and ``MarketContext`` a venue adapter produces goes through
:meth:`MarketDataGuard.check_book` / :meth:`MarketDataGuard.check_context` before it is queued; a
rejected one is counted per :class:`Reason` and dropped (never queued, never used for the price
step). Rejections, in the order checked:

- ``non_finite``: a price, size, mark, oracle or funding rate is NaN, sNaN or ±Infinity (``Decimal``
  parses all of them, and every comparison with a NaN raises, so this check comes first);
- ``non_positive``: a price (bid, ask, mark, oracle) is zero or negative;
- ``out_of_range``: a price outside ``[min_price, max_price]`` (1e300 would overflow float math);
- ``bad_size``: a book size negative, above ``max_size`` or below 1e-30 but not zero;
- ``bad_funding``: ``|funding rate| >= max_abs_funding`` (per interval; it may be negative);
- ``crossed``: both sides present and bid >= ask (locked books included);
- ``jump_vs_mid`` / ``jump_vs_oracle``: the price level moved more than ``jump_band`` (relative)
  from the last good mid or the last good oracle of that market. A book's level is its mid (the one
  present side of a one-sided book); a context's levels are its oracle and its mark.

One-sided and empty books are valid. The first message of a market has nothing to jump from (seed
the mid reference with :meth:`MarketDataGuard.check_mid`, e.g. from the venue's mids at connect).

Rebase rule (no permanent lock-out after a real regime move): jump rejections of one kind (book or
context) of one market form a streak while each level stays within ``jump_band`` of the streak's
first level (a level outside it starts a new streak; an accepted message of that kind ends it;
other rejections leave it alone). The message that makes the streak at least ``rebase_frames``
long *and* more than ``rebase_after_ms`` old (by receive time) is accepted as the new reference
and counted in ``rebases``; a reference of the other kind that disagrees with the new level by more
than the band is forgotten (the next message of that kind is checked against this one only).
So a lone bad print is dropped, and a move the venue keeps confirming for a few seconds is taken.
"""

from __future__ import annotations

import enum
import statistics
from collections import deque
from decimal import Decimal
from typing import Literal

import msgspec

from keeper.core.venue import BookTop, MarketContext

Kind = Literal["book", "context"]
# Beyond these a number is garbage whatever it measures: 1e15 still converts to float exactly enough,
# and a non-zero magnitude under 1e-30 makes divisions overflow the decimal context.
MAX_ABS_NUMBER = Decimal("1e15")
MIN_ABS_NUMBER = Decimal("1e-30")


def sane_number(value: Decimal, bound: Decimal = MAX_ABS_NUMBER) -> bool:
    """Finite, ``|value| <= bound`` and zero or at least 1e-30 in magnitude: safe for Decimal and
    float arithmetic. Never raises (a NaN is checked before any comparison)."""
    if not value.is_finite():
        return False
    magnitude = value.copy_abs()  # exact: abs() rounds to the context and can overflow
    return magnitude <= bound and (magnitude == 0 or magnitude >= MIN_ABS_NUMBER)


class Reason(enum.StrEnum):
    """Why a market-data message was rejected (the keys of :attr:`GuardStats.rejected`)."""

    NON_FINITE = "non_finite"
    NON_POSITIVE = "non_positive"
    OUT_OF_RANGE = "out_of_range"
    BAD_SIZE = "bad_size"
    BAD_FUNDING = "bad_funding"
    CROSSED = "crossed"
    JUMP_VS_MID = "jump_vs_mid"
    JUMP_VS_ORACLE = "jump_vs_oracle"


class GuardConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Limits of :class:`MarketDataGuard` (defaults fit any perp market)."""

    jump_band: Decimal = Decimal("0.2")  # relative move vs the last good mid / oracle
    rebase_frames: int = 3  # consecutive agreeing jump rejections ...
    rebase_after_ms: int = 2_000  # ... spanning more than this accept the new level
    min_price: Decimal = Decimal("1e-8")
    max_price: Decimal = Decimal("1e12")
    max_size: Decimal = MAX_ABS_NUMBER
    max_abs_funding: Decimal = Decimal(1)  # per funding interval (an hour on Hyperliquid)
    log_interval_ms: int = 60_000  # report_due: at most one report per key per interval

    def __post_init__(self) -> None:
        numbers = (self.jump_band, self.min_price, self.max_price, self.max_size, self.max_abs_funding)
        if not all(isinstance(n, Decimal) and n.is_finite() and n > 0 for n in numbers):
            raise ValueError("jump_band, prices, max_size and max_abs_funding must be finite Decimals > 0")
        if self.min_price >= self.max_price or self.max_price > MAX_ABS_NUMBER:
            raise ValueError(f"need min_price < max_price <= {MAX_ABS_NUMBER}")
        if self.rebase_frames < 1 or self.rebase_after_ms < 0 or self.log_interval_ms < 0:
            raise ValueError("need rebase_frames >= 1, rebase_after_ms >= 0 and log_interval_ms >= 0")


class Verdict(msgspec.Struct, frozen=True):
    """The guard's answer: ``reason`` None means accepted (``rebased``: as a new reference level)."""

    reason: Reason | None = None
    detail: str = ""
    rebased: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


ACCEPTED = Verdict()
_REBASED = Verdict(rebased=True)


class GuardStats(msgspec.Struct, kw_only=True):
    """Counters of :class:`MarketDataGuard` (expose as metrics)."""

    books: int = 0  # accepted book tops
    contexts: int = 0  # accepted market contexts
    mids: int = 0  # accepted seed mids (check_mid)
    rejected: dict[str, int] = msgspec.field(default_factory=dict)  # Reason value -> count
    rebases: int = 0

    @property
    def total_rejected(self) -> int:
        return sum(self.rejected.values())


class _Streak(msgspec.Struct):
    level: Decimal
    first_ms: int
    frames: int = 1


class _Market(msgspec.Struct):
    mid: Decimal | None = None  # last good mid (reference)
    oracle: Decimal | None = None  # last good oracle (reference)
    book_ms: int | None = None  # receive time of the last accepted book
    context_ms: int | None = None  # ... and context
    book_streak: _Streak | None = None
    context_streak: _Streak | None = None


def _price_problem(name: str, price: Decimal, config: GuardConfig) -> Verdict | None:
    if not price.is_finite():
        return Verdict(Reason.NON_FINITE, f"{name} {price}")
    if price <= 0:
        return Verdict(Reason.NON_POSITIVE, f"{name} {price}")
    if not config.min_price <= price <= config.max_price:
        return Verdict(Reason.OUT_OF_RANGE, f"{name} {price:.6g}")
    return None


DEFAULT_GUARD = GuardConfig()


def book_problem(
    bid: Decimal | None, ask: Decimal | None, config: GuardConfig = DEFAULT_GUARD
) -> Verdict | None:
    """The stateless checks of a book top (prices sane and positive, not crossed); None: it passes.
    The guard runs them first; the quoting loop runs them again before the quote engine sees a price."""
    for name, price in (("bid", bid), ("ask", ask)):
        if price is not None and (problem := _price_problem(name, price, config)) is not None:
            return problem
    if bid is not None and ask is not None and bid >= ask:
        return Verdict(Reason.CROSSED, f"bid {bid} >= ask {ask}")
    return None


def context_problem(
    mark: Decimal, oracle: Decimal, funding_rate: Decimal, config: GuardConfig = DEFAULT_GUARD
) -> Verdict | None:
    """The stateless checks of a market context (mark and oracle sane, funding finite and bounded)."""
    for name, price in (("oracle", oracle), ("mark", mark)):
        if (problem := _price_problem(name, price, config)) is not None:
            return problem
    if not funding_rate.is_finite():
        return Verdict(Reason.NON_FINITE, f"funding rate {funding_rate}")
    if funding_rate.copy_abs() >= config.max_abs_funding:
        return Verdict(Reason.BAD_FUNDING, f"funding rate {funding_rate:.6g}")
    return None


def _size_problem(name: str, size: Decimal, config: GuardConfig) -> Verdict | None:
    if not size.is_finite():
        return Verdict(Reason.NON_FINITE, f"{name} {size}")
    if size < 0 or size > config.max_size or 0 < size < MIN_ABS_NUMBER:
        return Verdict(Reason.BAD_SIZE, f"{name} {size:.6g}")
    return None


def _beyond(level: Decimal, reference: Decimal | None, band: Decimal) -> bool:
    # Both are sane prices here: no overflow, no NaN.
    return reference is not None and abs(level - reference) > band * reference


class MarketDataGuard:
    """Checks market data before it is used; remembers per market the references and the receive
    time of the last valid book and context. One instance per venue connection."""

    def __init__(self, config: GuardConfig | None = None) -> None:
        self.config = config if config is not None else GuardConfig()
        self.stats = GuardStats()
        self._markets: dict[str, _Market] = {}
        self._reported: dict[str, int] = {}  # key -> time of its last report
        self._unreported: dict[str, int] = {}  # key -> occurrences since then

    def _market(self, market: str) -> _Market:
        state = self._markets.get(market)
        if state is None:
            state = self._markets[market] = _Market()
        return state

    # ---- checks ----

    def check_mid(self, market: str, mid: Decimal, now_ms: int) -> Verdict:
        """A mid read elsewhere (e.g. the venue's mids at connect): accepted ones become the mid
        reference. Not a book message: the last-book time is left alone."""
        state = self._market(market)
        problem = _price_problem("mid", mid, self.config)
        if problem is None and _beyond(mid, state.oracle, self.config.jump_band):
            problem = Verdict(Reason.JUMP_VS_ORACLE, f"mid {mid} vs oracle {state.oracle}")
        if problem is not None:
            return self._reject(problem)
        state.mid = mid
        self.stats.mids += 1
        return ACCEPTED

    def check_book(self, top: BookTop, now_ms: int) -> Verdict:
        """Sanity, crossing and jump checks of one book top received at ``now_ms``."""
        config = self.config
        bid, ask = top.bid, top.ask
        if (problem := book_problem(bid, ask, config)) is not None:
            return self._reject(problem)
        for name, size in (("bid size", top.bid_size), ("ask size", top.ask_size)):
            if (problem := _size_problem(name, size, config)) is not None:
                return self._reject(problem)
        state = self._market(top.market)
        level = (bid + ask) / 2 if bid is not None and ask is not None else bid if bid is not None else ask
        verdict = ACCEPTED
        if level is not None:
            jump = self._jump("book level", (level,), state)
            if jump is not None:
                if not self._streak_rebases("book", state, level, now_ms):
                    return self._reject(jump)
                verdict = _REBASED
            if (bid is not None and ask is not None) or verdict.rebased:
                state.mid = level  # a one-sided book is no mid; a rebase sets the reference anyway
            if verdict.rebased and _beyond(level, state.oracle, config.jump_band):
                state.oracle = None
        state.book_streak = None
        state.book_ms = now_ms
        self.stats.books += 1
        return verdict

    def check_context(self, context: MarketContext, now_ms: int) -> Verdict:
        """Sanity and jump checks of one market context (mark, oracle, funding) received at ``now_ms``."""
        config = self.config
        if (
            problem := context_problem(context.mark, context.oracle, context.funding_rate, config)
        ) is not None:
            return self._reject(problem)
        state = self._market(context.market)
        verdict = ACCEPTED
        jump = self._jump("oracle/mark", (context.oracle, context.mark), state)
        if jump is not None:
            if not self._streak_rebases("context", state, context.oracle, now_ms):
                return self._reject(jump)
            verdict = _REBASED
            if _beyond(context.oracle, state.mid, config.jump_band):
                state.mid = None
        state.oracle = context.oracle
        state.context_streak = None
        state.context_ms = now_ms
        self.stats.contexts += 1
        return verdict

    def _jump(self, name: str, levels: tuple[Decimal, ...], state: _Market) -> Verdict | None:
        band = self.config.jump_band
        for level in levels:
            if _beyond(level, state.oracle, band):
                return Verdict(Reason.JUMP_VS_ORACLE, f"{name} {level} vs oracle {state.oracle}")
        for level in levels:
            if _beyond(level, state.mid, band):
                return Verdict(Reason.JUMP_VS_MID, f"{name} {level} vs mid {state.mid}")
        return None

    def _streak_rebases(self, kind: Kind, state: _Market, level: Decimal, now_ms: int) -> bool:
        """Extend (or restart) the jump streak of ``kind``; True when it now calls for a rebase."""
        streak = state.book_streak if kind == "book" else state.context_streak
        if streak is None or _beyond(level, streak.level, self.config.jump_band):
            streak = _Streak(level, now_ms)
        else:
            streak.frames += 1
        if kind == "book":
            state.book_streak = streak
        else:
            state.context_streak = streak
        if (
            streak.frames >= self.config.rebase_frames
            and now_ms - streak.first_ms > self.config.rebase_after_ms
        ):
            self.stats.rebases += 1
            return True
        return False

    def _reject(self, verdict: Verdict) -> Verdict:
        assert verdict.reason is not None
        counts = self.stats.rejected
        counts[verdict.reason] = counts.get(verdict.reason, 0) + 1
        return verdict

    # ---- what is known ----

    def last_valid_ms(self, market: str, kind: Kind | None = None) -> int | None:
        """Receive time of the last accepted message of ``kind`` (None: the later of both)."""
        state = self._markets.get(market)
        if state is None:
            return None
        if kind == "book":
            return state.book_ms
        if kind == "context":
            return state.context_ms
        times = [t for t in (state.book_ms, state.context_ms) if t is not None]
        return max(times) if times else None

    def reference(self, market: str) -> tuple[Decimal | None, Decimal | None]:
        """The last good (mid, oracle) of ``market``."""
        state = self._markets.get(market)
        return (None, None) if state is None else (state.mid, state.oracle)

    def report_due(self, key: str, now_ms: int) -> int | None:
        """Count one occurrence of ``key``; when no report of it was due for ``log_interval_ms``,
        return the occurrences since the last report (log then), else None (stay quiet)."""
        pending = self._unreported.get(key, 0) + 1
        last = self._reported.get(key)
        if last is not None and now_ms - last < self.config.log_interval_ms:
            self._unreported[key] = pending
            return None
        self._reported[key] = now_ms
        self._unreported[key] = 0
        return pending


class ClockOffsetStats(msgspec.Struct, kw_only=True):
    samples: int = 0  # used
    discarded: int = 0  # implausible (server time <= 0 or an offset beyond max_abs_ms)


class ClockOffsetEstimator:
    """Local clock minus venue clock, in ms: the median of the last ``window`` samples of
    ``local_receive_ms - server_ms``. Network and queueing delay bias it up by a few ms; the median
    ignores the odd late frame. > 0: the local clock is ahead of the venue's."""

    def __init__(self, window: int = 64, *, max_abs_ms: int = 30 * 86_400_000) -> None:
        if window < 1 or max_abs_ms <= 0:
            raise ValueError("window >= 1 and max_abs_ms > 0")
        self._samples: deque[int] = deque(maxlen=window)
        self._max_abs_ms = max_abs_ms
        self.stats = ClockOffsetStats()

    def add(self, local_ms: int, server_ms: int) -> bool:
        """One sample: a venue timestamp and the local time it was received; False if implausible."""
        offset = local_ms - server_ms
        if server_ms <= 0 or abs(offset) > self._max_abs_ms:
            self.stats.discarded += 1
            return False
        self._samples.append(offset)
        self.stats.samples += 1
        return True

    def offset_ms(self) -> float | None:
        """The estimate, or None before the first sample."""
        return float(statistics.median(self._samples)) if self._samples else None


__all__ = [
    "ACCEPTED",
    "MAX_ABS_NUMBER",
    "MIN_ABS_NUMBER",
    "ClockOffsetEstimator",
    "ClockOffsetStats",
    "GuardConfig",
    "GuardStats",
    "Kind",
    "MarketDataGuard",
    "Reason",
    "Verdict",
    "sane_number",
]
