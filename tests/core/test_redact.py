"""Secrets never reach a log line: key-shaped runs and URL credentials are masked."""

from __future__ import annotations

import pytest

from keeper.core.redact import MASK, contains_key_material, mask_keys, mask_url

KEY = "ab" * 32


@pytest.mark.parametrize(
    "text",
    [KEY, "0x" + KEY, "0X" + KEY, f"key:0x{KEY}", f'accounts.a = "{KEY}"', f"https://h/{KEY}", f"x{KEY}."],
)
def test_key_shapes_are_found_and_masked(text: str) -> None:
    assert contains_key_material(text)
    masked = mask_keys(text)
    assert KEY not in masked.lower()
    assert MASK in masked


@pytest.mark.parametrize("text", ["0x" + "a" * 40, "a" * 63, "a" * 65, "deadbeef", ""])
def test_other_hex_is_not_key_material(text: str) -> None:
    assert not contains_key_material(text)
    assert mask_keys(text) == text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("ws://127.0.0.1:8546/", "ws://127.0.0.1:8546/"),
        ("https://user:pw@rpc.example/", "https://***@rpc.example/"),
        ("https://eth.example/v2/AbCdEf0123456789xyz", "https://eth.example/v2/***"),
        ("wss://eth.example/ws?apikey=s3cr3t&x=", "wss://eth.example/ws?apikey=***&x="),
        ("not a url " + KEY, "not a url ***"),
    ],
)
def test_urls_are_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown
