"""Key material never goes in a config file, and never comes out of one in an error line.

Any run of 64 or more hex digits has a private key's shape (or a hash's; a config holds neither). It is
looked for everywhere: in the raw text (comments, numbers written in hex or decimal, digits split by
TOML's ``_`` separators) and in the parsed document (escaped strings such as ``\\u0030x…``, table keys,
arrays, inline tables, integers too large for any config field). A refusal names where it is, with a
key-shaped part of the path shown as ``***``, and never quotes the value.
"""

from __future__ import annotations

import re
from typing import Any

from keeper.core.redact import MASK, mask_keys, mask_url

KEY_REASON = (
    "looks like a raw private key; keys never go in config files "
    "(use a keystore, or an env var name with keys.dev_mode = true)"
)

# No boundaries: a key with a stray digit before or after it is still a key (redact's pattern skips
# runs longer than 64, which is right for logs but not for refusing a file).
_HEX_RUN = re.compile(r"[0-9a-fA-F]{64,}")
# TOML lets `_` separate digits (0xac09_74be_...); a key written that way is still a key.
_DIGIT_SEPARATOR = re.compile(r"(?<=[0-9a-fA-F])_(?=[0-9a-fA-F])")
# A 256-bit key as an integer has ~256 bits; no config integer comes near 128 (wei amounts are < 2^80).
_KEY_SIZED_BITS = 128
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>()\[\]{},;]+")
_HEADER = re.compile(r"^\s*\[\[?(?P<name>[^\[\]#=]+)\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(r"^\s*(?P<key>[^=#\[\s][^=#]*?)\s*=")


def is_key_shaped(text: str) -> bool:
    """True when `text` holds 64+ hex digits in a row (``_`` between digits ignored)."""
    return _HEX_RUN.search(_DIGIT_SEPARATOR.sub("", text)) is not None


def key_material_field(text: str, raw: dict[str, Any] | None) -> str | None:
    """Where the first key-shaped value of the file is (a dotted path, or a line), or None.

    `raw` is the parsed document, or None when the text does not parse (then only the text is searched
    and the place is a line number: a parser's message could quote the key).
    """
    if raw is not None and (field := _walk(raw, "")) is not None:
        return field
    for number, line in enumerate(text.splitlines(), start=1):
        if is_key_shaped(line):
            return _field_at_line(text, number) if raw is not None else f"line {number}"
    return None


def redact(text: str) -> str:
    """`text` as one line fit for a terminal or a log: URLs through `mask_url`, key-shaped runs masked."""
    flat = re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
    flat = _URL_IN_TEXT.sub(_mask_url_match, flat)
    return _HEX_RUN.sub(MASK, mask_keys(flat))


def _mask_url_match(match: re.Match[str]) -> str:
    # "url: reason" / "see url." : the punctuation after a URL is not part of its last segment.
    url = match.group(0)
    core = url.rstrip(".:!?")
    return mask_url(core) + url[len(core) :]


def show_value(value: object) -> str:
    """A value quoted in an error line: URLs masked (credentials, tokens), key-shaped runs masked."""
    if isinstance(value, str):
        return repr(redact(value)) if "://" in value else repr(_HEX_RUN.sub(MASK, value))
    return repr(value)


def _walk(node: Any, at: str) -> str | None:
    if isinstance(node, dict):
        for key, value in node.items():
            name = str(key)
            if is_key_shaped(name):
                return _join(at, MASK)
            if (found := _walk(value, _join(at, name))) is not None:
                return found
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if (found := _walk(value, f"{at}[{i}]")) is not None:
                return found
    elif _is_key_shaped_scalar(node):
        return at or "(root)"
    return None


def _is_key_shaped_scalar(node: object) -> bool:
    if isinstance(node, str):
        return is_key_shaped(node)
    return isinstance(node, int) and not isinstance(node, bool) and node.bit_length() > _KEY_SIZED_BITS


def _field_at_line(text: str, number: int) -> str:
    """Best-effort field of line `number` (a comment, or a float with a key's digits): the table
    header above it and the key assigned on it; the line number either way."""
    lines = text.splitlines()
    table = ""
    for line in lines[: number - 1]:
        if (header := _HEADER.match(line)) is not None:
            table = _dotted(header["name"])
    line = lines[number - 1]
    stripped = line.lstrip()
    if stripped.startswith("#"):
        return f"line {number} (a comment)"
    if (header := _HEADER.match(line)) is not None:
        return f"{_dotted(header['name'])} (line {number})"
    if (assign := _ASSIGN.match(line)) is not None:
        return f"{_join(table, _dotted(assign['key']))} (line {number})"
    return f"line {number}"


def _dotted(name: str) -> str:
    parts = [p.strip().strip("\"'") for p in name.split(".")]
    return ".".join(MASK if is_key_shaped(p) else p for p in parts)


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key
