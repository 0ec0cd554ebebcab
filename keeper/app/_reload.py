"""Hot reload: watch the config file (and SIGHUP), apply the reloadable parts, keep the rest.

A reload is all or nothing. The new file is parsed and validated, a rotated-in key is loaded, and
only then are the gas policy and the active key swapped, so a bad edit changes nothing and is
reported in one line naming the file and the field. No content of the file (unreadable, not UTF-8, bad
TOML, invalid values) makes a reload raise: the running config keeps running. Sections that need a
restart ([chain], [devnet], [contracts], [venues], [store]) are compared and, if edited, named in a
warning and left as they were.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import msgspec

from keeper.config import ConfigError, KeeperConfig, load_config, redact

log = logging.getLogger("keeper.reload")

RESTART_ONLY = ("chain", "devnet", "contracts", "venues", "store")

# Given (running, new) configs: validate whatever can fail (raise ConfigError), then return a
# function that applies the change and cannot fail.
Prepare = Callable[[KeeperConfig, KeeperConfig], Callable[[], None]]


class ConfigReloader:
    """Polls the file's content every `poll_s` (cheap: stat first, hash only on change)."""

    def __init__(self, path: Path, running: KeeperConfig, prepare: Prepare, poll_s: float = 0.25) -> None:
        self._path = path
        self.running = running
        self._prepare = prepare
        self._poll_s = poll_s
        self._stat = self._stat_key()
        self._digest = self._read_digest()
        self._requested = asyncio.Event()
        self.applied = 0
        self.rejected = 0

    def request(self) -> None:
        """Reload now (the SIGHUP handler calls this)."""
        self._requested.set()

    async def run(self) -> None:
        while True:
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
                async with asyncio.timeout(self._poll_s):
                    await self._requested.wait()
                forced = True
            except TimeoutError:
                forced = False
            self._requested.clear()
            if forced or self._stat_key() != self._stat:
                self._stat = self._stat_key()
                digest = self._read_digest()
                if forced or digest != self._digest:
                    self._digest = digest
                    self.reload()

    def reload(self) -> bool:
        """Load, validate and apply the file; False (and the running config kept) if it is invalid."""
        try:
            new = load_config(self._path)
            apply = self._prepare(self.running, new)
        except ConfigError as exc:
            # The preparer's errors carry a placeholder file name; the operator edited this one.
            return self._reject(f"{self._path}: {exc.field}: {exc.reason}")
        except Exception as exc:  # a bug in a preparer must not end the process that trades
            log.debug("config reload failed", exc_info=True)
            return self._reject(f"{self._path}: unexpected {type(exc).__name__}: {exc}")
        changed = [name for name in RESTART_ONLY if getattr(new, name) != getattr(self.running, name)]
        if changed:
            log.warning("config reload: [%s] changed but need a restart; not applied", "], [".join(changed))
        apply()
        # What runs is the new reloadable part over the old restart-only part.
        self.running = msgspec.structs.replace(
            new, **{name: getattr(self.running, name) for name in RESTART_ONLY}
        )
        self.applied += 1
        log.info("config reloaded from %s", self._path)
        return True

    def _reject(self, line: str) -> bool:
        self.rejected += 1
        log.error("config reload rejected, keeping the running config: %s", redact(line))
        return False

    def _stat_key(self) -> tuple[int, int] | None:
        try:
            st = self._path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _read_digest(self) -> bytes | None:
        try:
            return hashlib.sha256(self._path.read_bytes()).digest()
        except OSError:
            return None
