"""The one error type config loading raises: it names the file, the field and the reason."""

from __future__ import annotations


class ConfigError(Exception):
    """A config file is unreadable or invalid.

    ``str(err)`` is the single line operators see: ``FILE: path.to.field: reason``.
    """

    def __init__(self, file: str, field: str, reason: str) -> None:
        self.file = file
        self.field = field
        self.reason = reason
        super().__init__(f"{file}: {field}: {reason}")
