"""Outage bookkeeping shared by the chain loops: one log line when a connection goes down, one when it
comes back, counters in between; capped exponential backoff with jitter; secrets kept out of both.

A chain loop must degrade, never die: every failure of a node (refused, reset, timed out, closed,
garbage) is counted against an `Outage` and retried after `Backoff.next()`. Logging each retry would
bury the one line that matters under thousands during a long outage, so only the first failure and
the recovery are logged (warning); the retries in between go to debug.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable

from keeper.core.redact import mask_keys, mask_url

# A URL anywhere in a message (exception texts name their endpoint, API key included).
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>()\[\],]+")
_MAX_DESCRIPTION = 300


def redact(text: str) -> str:
    """`text` with every URL masked (`mask_url`) and every key-shaped run masked (`mask_keys`)."""
    return mask_keys(_URL_IN_TEXT.sub(lambda m: mask_url(m.group()), text))


def describe(error: BaseException | str) -> str:
    """A short, redacted one-line description of a failure for a log line or an error message."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    text = redact(" ".join(text.split()))
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 1] + "…"


class RedactingFilter(logging.Filter):
    """Masks URLs and key-shaped runs in every record of the logger it is attached to (for libraries
    that log their endpoint URL, API key included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        shown = redact(message)
        if shown != message:
            record.msg, record.args = shown, None
        return True


class Outage:
    """The health of one connection (a socket, an endpoint, a polling loop).

    `fail()` on every failed attempt, `ok()` on every good one. The first failure of an outage and the
    recovery are logged; the failures in between are only counted. Counters: `outages` (begun),
    `failures` (every failed attempt), `recoveries`.
    """

    def __init__(self, log: logging.Logger, what: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._log = log
        self.what = what
        self._clock = clock
        self.down_since: float | None = None
        self.outages = 0
        self.failures = 0
        self.recoveries = 0
        self._failures_now = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def fail(self, error: BaseException | str, then: str = "retrying with backoff") -> bool:
        """Count a failed attempt; returns True when it starts an outage (and was logged)."""
        self.failures += 1
        self._failures_now += 1
        if self.down_since is not None:
            self._log.debug("%s still down (%d failed attempts): %s", self.what, self._failures_now,
                            describe(error))  # fmt: skip
            return False
        self.down_since = self._clock()
        self.outages += 1
        self._log.warning("%s down: %s; %s", self.what, describe(error), then)
        return True

    def ok(self) -> bool:
        """Count a good attempt; returns True when it ends an outage (and was logged)."""
        if self.down_since is None:
            return False
        self._log.warning("%s back after %.1f s (%d failed attempts)", self.what,
                          self._clock() - self.down_since, self._failures_now)  # fmt: skip
        self.down_since = None
        self._failures_now = 0
        self.recoveries += 1
        return True


class Backoff:
    """Capped exponential delays with "equal jitter": each delay is uniform in [d/2, d] for
    d = min(cap, initial * 2**attempt), so reconnecting peers spread out but never wait past the cap."""

    def __init__(
        self, initial_s: float = 0.25, cap_s: float = 5.0, rng: Callable[[], float] = random.random
    ) -> None:
        if initial_s <= 0 or cap_s < initial_s:
            raise ValueError("need 0 < initial_s <= cap_s")
        self.initial_s = initial_s
        self.cap_s = cap_s
        self._rng = rng
        self._attempt = 0

    def next(self) -> float:
        delay = min(self.cap_s, self.initial_s * 2.0 ** min(self._attempt, 30))
        self._attempt += 1
        return delay * (0.5 + 0.5 * self._rng())

    def reset(self) -> None:
        self._attempt = 0


def count_malformed(log: logging.Logger, what: str, count: int, error: BaseException | str) -> None:
    """Log a skipped malformed message at the 1st, 2nd, 4th, 8th, … occurrence (bounded log volume)."""
    if count & (count - 1) == 0:
        log.warning("skipping malformed %s (%d so far): %s", what, count, describe(error))
    else:
        log.debug("skipping malformed %s (%d so far): %s", what, count, describe(error))
