"""Nonce allocation: strictly increasing and unique per signer whatever the clock does; window check."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeper.codecs.hyperliquid.nonces import NONCE_WINDOW_MS, NonceAllocator, nonce_in_window

AGENT_A = "0x14791697260E4c9A71f18484C9f997B308e59325"
AGENT_B = "0xcD49bbAc6E85fdEB167EB7cA41A945d2b8758F6F"
T = 1_700_000_000_000


def test_worked_sequence_same_millisecond_and_clock_step_back() -> None:
    nonces = NonceAllocator()
    assert nonces.next_nonce(AGENT_A, T) == T
    assert nonces.next_nonce(AGENT_A, T) == T + 1  # same ms: no "duplicate nonce"
    assert nonces.next_nonce(AGENT_A, T) == T + 2
    assert nonces.next_nonce(AGENT_A, T - 5_000) == T + 3  # clock stepped back 5 s
    assert nonces.next_nonce(AGENT_A, T + 1_000) == T + 1_000  # clock ahead again: fast-forward
    assert nonces.last_nonce(AGENT_A) == T + 1_000


def test_signers_are_independent_and_case_insensitive() -> None:
    nonces = NonceAllocator()
    assert nonces.next_nonce(AGENT_A, T) == T
    assert nonces.next_nonce(AGENT_B, T) == T  # another signer may use the same value
    assert nonces.next_nonce(AGENT_A.lower(), T) == T + 1  # same address, other spelling
    assert nonces.last_nonce(AGENT_B.upper().replace("0X", "0x")) == T
    assert nonces.last_nonce("0x" + "0" * 40) is None


def test_observe_fast_forwards_but_never_rewinds() -> None:
    nonces = NonceAllocator()
    nonces.observe(AGENT_A, T + 10)  # e.g. restored from the last signed action before a restart
    assert nonces.next_nonce(AGENT_A, T) == T + 11
    nonces.observe(AGENT_A, T)
    assert nonces.next_nonce(AGENT_A, T) == T + 12


@pytest.mark.parametrize("bad_now", [-1, 1.5, True, None, 2**64])
def test_invalid_times_are_refused(bad_now: object) -> None:
    with pytest.raises(ValueError, match="now_ms"):
        NonceAllocator().next_nonce(AGENT_A, bad_now)  # type: ignore[arg-type]


def test_invalid_signer_and_uint64_overflow_are_refused() -> None:
    nonces = NonceAllocator()
    with pytest.raises(ValueError, match="signer"):
        nonces.next_nonce("", T)
    nonces.observe(AGENT_A, 2**64 - 1)
    with pytest.raises(ValueError, match="overflow"):
        nonces.next_nonce(AGENT_A, T)
    assert nonces.last_nonce(AGENT_A) == 2**64 - 1  # state unchanged by the refused call


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), jitter_ms=st.integers(0, 5_000), step_back_ms=st.integers(0, 60_000))
def test_ten_thousand_allocations_strictly_increase_and_are_unique_per_signer(
    seed: int, jitter_ms: int, step_back_ms: int
) -> None:
    # Hypothesis lists stop far below 10,000 items, so it seeds a generator instead: a clock that
    # mostly stalls or creeps, jitters, and sometimes jumps back (NTP step, VM pause).
    rnd = random.Random(seed)
    nonces = NonceAllocator()
    issued: dict[str, list[int]] = {}
    clock = T
    for _ in range(10_000):
        clock += rnd.choice((0, 0, 0, 1, 2, 50))
        if rnd.random() < 0.01:
            clock -= step_back_ms
        now_ms = max(0, clock + rnd.randint(-jitter_ms, jitter_ms))
        signer = rnd.choice((AGENT_A, AGENT_B, AGENT_A.lower()))
        nonce = nonces.next_nonce(signer, now_ms)
        assert nonce >= now_ms  # never behind the clock it was given
        issued.setdefault(signer.lower(), []).append(nonce)
    assert sum(map(len, issued.values())) == 10_000
    for sequence in issued.values():
        assert all(b > a for a, b in itertools.pairwise(sequence))
        assert len(set(sequence)) == len(sequence)


@settings(max_examples=50, deadline=None)
@given(times=st.lists(st.integers(0, 2**40), min_size=1, max_size=300))
def test_nonce_is_max_of_now_and_last_plus_one(times: list[int]) -> None:
    nonces = NonceAllocator()
    last: int | None = None
    for now_ms in times:
        expected = now_ms if last is None else max(now_ms, last + 1)
        last = nonces.next_nonce(AGENT_B, now_ms)
        assert last == expected


def test_window_is_one_day_either_side_open_interval() -> None:
    assert NONCE_WINDOW_MS == 86_400_000
    assert nonce_in_window(T, T)
    assert nonce_in_window(T + NONCE_WINDOW_MS - 1, T)
    assert not nonce_in_window(T + NONCE_WINDOW_MS, T)
    assert nonce_in_window(T - NONCE_WINDOW_MS + 1, T)
    assert not nonce_in_window(T - NONCE_WINDOW_MS, T)
    assert not nonce_in_window(T // 1000, T)  # seconds instead of ms: far outside
    # A margin keeps room for delivery delay and clock skew.
    assert not nonce_in_window(T + NONCE_WINDOW_MS - 1, T, margin_ms=5_000)
    assert nonce_in_window(T + NONCE_WINDOW_MS - 5_001, T, margin_ms=5_000)
    with pytest.raises(ValueError, match="margin_ms"):
        nonce_in_window(T, T, margin_ms=NONCE_WINDOW_MS)
    with pytest.raises(ValueError, match="nonce"):
        nonce_in_window(-1, T)
