"""Keep secrets out of logs, summaries and error lines. Pure string functions.

Two shapes are secret here: anything that looks like a secp256k1 private key (64 hex digits, with or
without a ``0x``/``0X`` prefix, anywhere in a string), and credentials carried in a URL (user-info,
an API key in the path or the query). Hashes have the key's shape too; they are masked the same way:
a log line loses a tx hash prefix at worst, never a key.
"""

from __future__ import annotations

import re

# 64 hex digits not embedded in a longer hex run: a private key (or a 32-byte hash).
_KEY_SHAPE = re.compile(r"(?<![0-9a-fA-F])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9a-fA-F])")
# A path segment or query value of 16+ characters of token alphabet: how providers carry API keys
# (".../v2/<key>", "?apikey=<key>").
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,}$")
_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<netloc>[^/?#]*)(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?"
)
MASK = "***"


def contains_key_material(text: str) -> bool:
    """True when `text` holds a 64-hex-digit run (a private key's shape) anywhere."""
    return _KEY_SHAPE.search(text) is not None


def mask_keys(text: str) -> str:
    """`text` with every 64-hex-digit run replaced by ``***``."""
    return _KEY_SHAPE.sub(MASK, text)


def mask_url(url: str) -> str:
    """A URL fit for a log line: user-info, token-like path segments and query values masked.

    Example: ``https://user:pw@rpc.example/v2/AbCdEf0123456789xyz?key=s3cr3ts3cr3ts3cr3t`` ->
    ``https://***@rpc.example/v2/***?key=***``. Loopback URLs of our own devnet carry no tokens and
    come through unchanged.
    """
    parts = _URL.match(url)
    if parts is None or not parts["netloc"]:
        return mask_keys(url)
    netloc = parts["netloc"]
    host = netloc.rsplit("@", 1)[-1]
    shown = f"{parts['scheme']}://{MASK}@{host}" if "@" in netloc else f"{parts['scheme']}://{host}"
    shown += "/".join(MASK if _TOKEN.match(seg) else seg for seg in parts["path"].split("/"))
    if parts["query"]:
        shown += "?" + "&".join(_mask_pair(pair) for pair in parts["query"].split("&"))
    return mask_keys(shown)


def _mask_pair(pair: str) -> str:
    name, sep, value = pair.partition("=")
    return f"{name}={MASK}" if sep and value else pair


__all__ = ["MASK", "contains_key_material", "mask_keys", "mask_url"]
