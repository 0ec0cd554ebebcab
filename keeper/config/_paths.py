"""Paths inside a config file are relative to that file's directory."""

from __future__ import annotations

import os
from pathlib import Path


def resolve_path(base_dir: Path, value: str) -> Path:
    """Resolve a path from the config against the config file's directory."""
    try:
        p = Path(value).expanduser()
    except RuntimeError:  # "~nosuchuser/...": left as written, so it reads as a missing file
        p = Path(value)
    return p if p.is_absolute() else base_dir / p


def is_readable_file(base_dir: Path, value: str) -> bool:
    path = resolve_path(base_dir, value)
    return path.is_file() and os.access(path, os.R_OK)
