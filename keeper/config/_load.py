"""Read a deployment TOML into a validated `KeeperConfig`, or raise one `ConfigError` line."""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from keeper.config._errors import ConfigError
from keeper.config._schema import (
    Address,
    EnvVarName,
    HttpUrl,
    KeeperConfig,
    KeySource,
    Name,
    VenueConfig,
    WsUrl,
)
from keeper.config._secrets import KEY_REASON, key_material_field, redact, show_value
from keeper.config._validate import check_semantics

# A deployment config is a few kilobytes; anything this big is the wrong file (or a device).
MAX_CONFIG_BYTES = 1 << 20
# msgspec: "Expected `int`, got `str` - at `$.chain.chain_id`"
_MSGSPEC_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<key>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<key>[^`]+)`$")
_REGEX = re.compile(r"^Expected `str` matching regex '(?P<pattern>.*)'$")
# Friendly names for the schema's string patterns (msgspec only knows the regex).
_PATTERN_NAMES = {
    _pattern: _name
    for _type, _name in (
        (HttpUrl, "an http:// or https:// URL"),
        (WsUrl, "a ws:// or wss:// URL"),
        (Address, "a 0x-prefixed 20-byte hex address"),
        (Name, "a name (letter first, then letters, digits, _ or -; at most 64)"),
        (EnvVarName, "an environment variable name (A-Z, 0-9, _)"),
    )
    for _pattern in [_type.__metadata__[0].pattern]  # type: ignore[attr-defined]
}
# msgspec cannot name the key of a dict entry that failed ("$.venues[...].kind"); these sections are
# re-checked entry by entry to name it.
_DICT_SECTIONS: dict[tuple[str, ...], object] = {("venues",): VenueConfig, ("keys", "accounts"): KeySource}


def load_config(path: str | Path) -> KeeperConfig:
    """Load and validate a deployment config.

    Relative paths inside the file (keystores, password files, deployments, anvil state) are
    resolved against the config file's directory by the consumers, via `resolve_path`.

    Raises:
        ConfigError: the file cannot be read or parsed, or a field is invalid.
    """
    file = str(path)
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(file, "(file)", f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(file, "(file)", f"larger than {MAX_CONFIG_BYTES // 1024} KiB: not a config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            file,
            "(file)",
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at line {line}, column {column})",
        ) from None
    return parse_config(text, file=file, base_dir=Path(path).resolve().parent)


def parse_config(text: str, *, file: str = "<string>", base_dir: Path | None = None) -> KeeperConfig:
    """Parse TOML text into a validated `KeeperConfig` (see `load_config`).

    Raises:
        ConfigError: the only exception, whatever the text holds.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The parser's message can quote a key it stumbled on: refuse the key first, by line.
        if (where := key_material_field(text, None)) is not None:
            raise ConfigError(file, where, KEY_REASON) from None
        raise ConfigError(file, "(toml)", redact(str(exc))) from None
    except RecursionError:
        raise ConfigError(file, "(toml)", "nested too deeply") from None
    if (where := key_material_field(text, raw)) is not None:
        raise ConfigError(file, where, KEY_REASON)
    if (found := _non_finite(raw, "")) is not None:
        raise ConfigError(file, found[0], f"must be a finite number, got {found[1]!r}")
    try:
        config = msgspec.convert(raw, KeeperConfig)
    except msgspec.ValidationError as exc:
        field, reason = _explain(str(exc), raw)
        raise ConfigError(file, field, redact(reason)) from None
    problem = check_semantics(config, base_dir or Path.cwd())
    if problem is not None:
        raise ConfigError(file, problem[0], redact(problem[1]))
    return config


def _non_finite(node: Any, at: str) -> tuple[str, float] | None:
    """The first inf or nan anywhere in the document: no field of the schema means "unbounded" by inf
    (None does that), and inf passes msgspec's `gt=0`."""
    if isinstance(node, dict):
        items: list[tuple[str, Any]] = [(f"{at}.{k}" if at else str(k), v) for k, v in node.items()]
    elif isinstance(node, list):
        items = [(f"{at}[{i}]", v) for i, v in enumerate(node)]
    elif isinstance(node, float) and not math.isfinite(node):
        return at, node
    else:
        return None
    for where, value in items:
        if (found := _non_finite(value, where)) is not None:
            return found
    return None


def _explain(message: str, raw: dict[str, Any]) -> tuple[str, str]:
    """Turn a msgspec validation message into (dotted field path, operator-facing reason)."""
    m = _MSGSPEC_AT.match(message)
    msg, path = (m.group("msg"), m.group("path") or "") if m else (message, "")
    field = path.lstrip(".")
    if "[...]" in field:
        return _explain_dict_entry(field, raw) or (field, msg.replace("`", ""))
    if (u := _UNKNOWN.match(msg)) is not None:
        return _join(field, u.group("key")), "unknown key"
    if (u := _MISSING.match(msg)) is not None:
        return _join(field, u.group("key")), "missing required field"
    if (r := _REGEX.match(msg)) is not None:
        pattern = r.group("pattern").replace("\\\\", "\\")  # msgspec shows the pattern's repr
        msg = f"expected {_PATTERN_NAMES.get(pattern, 'text matching ' + pattern)}"
    reason = msg.replace("`", "")
    reason = reason[:1].lower() + reason[1:]
    found, value = _lookup(raw, field)
    if found and not isinstance(value, dict | list) and not reason.startswith("invalid value"):
        # msgspec names the wrong type ("got str") or only the rule; either way show the value.
        shown = show_value(value)
        reason = f"{reason} {shown}" if ", got " in reason else f"{reason}, got {shown}"
    return field or "(root)", reason


def _explain_dict_entry(field: str, raw: dict[str, Any]) -> tuple[str, str] | None:
    prefix = field.split("[...]", 1)[0]
    entry_type = _DICT_SECTIONS.get(tuple(prefix.split(".")))
    found, entries = _lookup(raw, prefix)
    if entry_type is None or not found or not isinstance(entries, dict):
        return None
    for key, value in entries.items():
        try:
            msgspec.convert(value, entry_type)
        except msgspec.ValidationError as exc:
            sub_field, reason = _explain(str(exc), value if isinstance(value, dict) else {})
            inner = "" if sub_field == "(root)" else f".{sub_field}"
            return f"{prefix}.{key}{inner}", reason
    return None


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _lookup(raw: Any, field: str) -> tuple[bool, Any]:
    node = raw
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", field):
        if part.startswith("["):
            idx = int(part[1:-1])
            if not isinstance(node, list) or idx >= len(node):
                return False, None
            node = node[idx]
        else:
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
    return True, node
