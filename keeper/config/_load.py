"""Read a deployment TOML into a validated `KeeperConfig`, or raise one `ConfigError` line."""

from __future__ import annotations

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
from keeper.config._validate import check_semantics

# 64 hex digits with or without 0x: the shape of a secp256k1 private key (or a hash). A config holds
# neither, so any such value is refused before it can be logged or echoed back.
_RAW_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
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
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(file, "(file)", f"cannot read: {exc.strerror or exc}") from exc
    return parse_config(text, file=file, base_dir=Path(path).resolve().parent)


def parse_config(text: str, *, file: str = "<string>", base_dir: Path | None = None) -> KeeperConfig:
    """Parse TOML text into a validated `KeeperConfig` (see `load_config`)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "(toml)", str(exc)) from exc
    _refuse_raw_keys(raw, file, "")
    try:
        config = msgspec.convert(raw, KeeperConfig)
    except msgspec.ValidationError as exc:
        field, reason = _explain(str(exc), raw)
        raise ConfigError(file, field, reason) from exc
    problem = check_semantics(config, base_dir or Path.cwd())
    if problem is not None:
        raise ConfigError(file, problem[0], problem[1])
    return config


def _refuse_raw_keys(node: Any, file: str, at: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _refuse_raw_keys(value, file, f"{at}.{key}" if at else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _refuse_raw_keys(value, file, f"{at}[{i}]")
    elif isinstance(node, str) and _RAW_KEY.match(node.strip()):
        raise ConfigError(
            file,
            at,
            "looks like a raw private key; keys never go in config files "
            "(use a keystore, or an env var name with keys.dev_mode = true)",
        )


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
        reason = f"{reason} {value!r}" if ", got " in reason else f"{reason}, got {value!r}"
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
