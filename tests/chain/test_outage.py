"""Outage bookkeeping (one line down, one line up), capped jittered backoff, and redaction (pure)."""

from __future__ import annotations

import logging

import pytest

from keeper.chain._outage import Backoff, Outage, count_malformed, describe, redact

SECRET_URL = "https://user:pw@rpc.example/v2/AbCdEf0123456789xyz?key=s3cr3ts3cr3ts3cr3t"
KEY = "0x" + "ab" * 32


def test_an_outage_logs_its_start_and_its_end_and_counts_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    outage = Outage(logging.getLogger("test.outage"), "rpc endpoint X", clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="test.outage"):
        assert outage.ok() is False  # up and staying up: nothing to say
        assert outage.fail(ConnectionResetError("reset")) is True
        for _ in range(50):
            now[0] += 0.1
            assert outage.fail(TimeoutError()) is False
        assert outage.down
        assert outage.ok() is True
        assert outage.ok() is False
        assert outage.fail(OSError("again")) is True
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0].startswith("rpc endpoint X down: ConnectionResetError: reset")
    assert lines[1] == "rpc endpoint X back after 5.0 s (51 failed attempts)"
    assert (outage.outages, outage.failures, outage.recoveries) == (2, 52, 1)


def test_failure_lines_never_show_credentials(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage(logging.getLogger("test.outage"), "socket")
    with caplog.at_level(logging.WARNING, logger="test.outage"):
        outage.fail(OSError(f"Could not connect to: {SECRET_URL}. key {KEY}"))
    assert "s3cr3t" not in caplog.text
    assert "AbCdEf0123456789xyz" not in caplog.text
    assert "pw@" not in caplog.text
    assert KEY[2:] not in caplog.text
    assert "rpc.example" in caplog.text


def test_redact_masks_every_url_in_a_text() -> None:
    text = f"a {SECRET_URL} and (ws://127.0.0.1:8545) and 'wss://x.io/ws/{'k' * 32}'"
    shown = redact(text)
    assert "s3cr3t" not in shown
    assert "k" * 32 not in shown
    assert "ws://127.0.0.1:8545" in shown  # loopback devnet URLs stay readable
    assert len(describe("x" * 1000)) <= 300


def test_backoff_grows_to_its_cap_with_jitter_and_resets() -> None:
    lows = Backoff(0.25, 5.0, rng=lambda: 0.0)
    highs = Backoff(0.25, 5.0, rng=lambda: 1.0)
    low = [lows.next() for _ in range(10)]
    high = [highs.next() for _ in range(10)]
    assert high[:6] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    assert high[6:] == [5.0] * 4  # capped
    assert low == [h / 2 for h in high]  # jitter spans [d/2, d]
    highs.reset()
    assert highs.next() == 0.25
    with pytest.raises(ValueError, match="initial_s"):
        Backoff(0, 1)


def test_malformed_messages_are_logged_at_powers_of_two(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.malformed")
    with caplog.at_level(logging.WARNING, logger="test.malformed"):
        for n in range(1, 101):
            count_malformed(log, "push", n, ValueError("bad"))
    assert len(caplog.records) == 7  # 1, 2, 4, 8, 16, 32, 64
