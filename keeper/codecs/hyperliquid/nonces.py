"""Per-signer nonce allocation for Hyperliquid actions (doc §6.3).

The venue tracks nonces **per signer** (the agent address when signing with an agent): a new nonce
must never have been used and must exceed the smallest of the signer's stored highest nonces, and
it must lie within about a day of the L1 block time. Raw ``now_ms`` nonces collide when two actions
are signed in the same millisecond ("Invalid nonce: duplicate nonce", doc §7.3), so the allocator
hands out ``max(now_ms, last + 1)``: wall-clock time while the clock moves, a counter that stays
strictly increasing when it does not (or steps back).

Concurrency: :meth:`NonceAllocator.next_nonce` is synchronous and contains no ``await``, so in one
asyncio event loop two tasks can never interleave inside it and never receive the same nonce.
It is deliberately *not* thread-safe; call it from the event-loop thread only. The state lives in
one process: give each process its own agent/signer (the venue's recommended pattern) rather than
sharing a signer between processes.
"""

from __future__ import annotations

NONCE_WINDOW_MS = 86_400_000
"""Accepted distance from block time. Doc snapshots differ -- older: (T - 2 days, T + 1 day),
newer: within 1 day -- so the check uses the intersection, +-1 day."""

_U64_MAX = 2**64 - 1  # the nonce is hashed as 8 bytes big-endian


def _ms(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _U64_MAX:
        raise ValueError(f"{name} must be an int of ms in 0..2^64-1, got {value!r}")
    return value


def _key(signer: str) -> str:
    if not isinstance(signer, str) or not signer:
        raise ValueError(f"signer must be a non-empty string, got {signer!r}")
    return signer.lower()  # hex addresses compare case-insensitively


class NonceAllocator:
    """Strictly increasing, unique nonces per signer: ``next = max(now_ms, last + 1)``."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def next_nonce(self, signer: str, now_ms: int) -> int:
        """Allocate the next nonce of ``signer`` given the current time in ms (need not be monotonic)."""
        key = _key(signer)
        _ms("now_ms", now_ms)
        last = self._last.get(key)
        nonce = now_ms if last is None or now_ms > last else last + 1
        if nonce > _U64_MAX:
            raise ValueError("nonce would overflow uint64")
        self._last[key] = nonce
        return nonce

    def last_nonce(self, signer: str) -> int | None:
        """The last nonce handed out (or observed) for ``signer``, None if none yet."""
        return self._last.get(_key(signer))

    def observe(self, signer: str, nonce: int) -> None:
        """Fast-forward past a nonce used elsewhere (e.g. restored after a restart); never goes back."""
        key = _key(signer)
        _ms("nonce", nonce)
        if nonce > self._last.get(key, -1):
            self._last[key] = nonce


def nonce_in_window(nonce: int, block_time_ms: int, *, margin_ms: int = 0) -> bool:
    """Whether ``nonce`` is inside the venue's accepted window around ``block_time_ms``.

    Open interval ``(T - 1 day + margin, T + 1 day - margin)``; ``margin_ms`` leaves room for the
    delay until the action lands in a block and for clock skew between keeper and venue.
    """
    _ms("nonce", nonce)
    _ms("block_time_ms", block_time_ms)
    if isinstance(margin_ms, bool) or not isinstance(margin_ms, int) or not 0 <= margin_ms < NONCE_WINDOW_MS:
        raise ValueError(f"margin_ms must be an int in 0..{NONCE_WINDOW_MS - 1}, got {margin_ms!r}")
    reach = NONCE_WINDOW_MS - margin_ms
    return block_time_ms - reach < nonce < block_time_ms + reach
