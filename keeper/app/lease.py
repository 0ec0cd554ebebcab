"""One keeper per account on this machine: an exclusive flock on a lock file per account.

Two keepers on one account double the resting size, collide on nonces, adopt each other's orders, and
one's clean stop cancels the other's quotes and disarms the dead-man switch. The lease refuses the
second one at start-up, naming the first.

Why flock: the kernel drops the lock when its holder's file descriptor closes, which includes every
way a process dies (kill -9 too), so there is no stale lock to clean up and no pid-liveness guessing.
The lock file is never deleted (unlinking a locked file lets a third process lock a fresh inode while
the holder still runs); its content only names the current holder for the refusal message. File name:
a hash of the account key, so any key is a safe file name. Locks are per machine: a second keeper on
another host is found through the venue, not here. NFS lock directories are not supported.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import msgspec

_READ_ATTEMPTS = 10  # the holder writes its record right after locking: give it a moment
_READ_PAUSE_S = 0.02


class LeaseHolder(msgspec.Struct, frozen=True, kw_only=True):
    """Who holds an account lease (the lock file's content)."""

    account: str
    pid: int
    host: str
    started_ms: int
    config: str | None = None

    def describe(self) -> str:
        since = datetime.fromtimestamp(self.started_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"pid {self.pid} on {self.host} since {since} (config {self.config or 'unknown'})"


class LeaseHeldError(Exception):
    """Another process holds the account: ``str(err)`` names it in one line."""

    def __init__(self, account: str, holder: LeaseHolder | None, lock_file: Path) -> None:
        self.account = account
        self.holder = holder
        self.lock_file = lock_file
        who = holder.describe() if holder is not None else f"an unidentified process (lock file {lock_file})"
        super().__init__(f"account {account} is held by {who}")


def lock_dir_beside(store_file: str | Path) -> Path:
    """The lease directory beside the store file: ``<store dir>/leases``."""
    return Path(store_file).parent / "leases"


def lock_file_for(lock_dir: str | Path, account: str) -> Path:
    """The lock file of an account (16 hex digits of sha256 of the key: any key is a safe file name)."""
    return Path(lock_dir) / f"account-{hashlib.sha256(account.encode()).hexdigest()[:16]}.lock"


class AccountLease:
    """An exclusive, process-lifetime claim on one account; release with `release()` or ``with``."""

    def __init__(self, account: str, path: Path, fd: int, holder: LeaseHolder) -> None:
        self.account = account
        self.path = path
        self.holder = holder
        self._fd: int | None = fd

    @classmethod
    def acquire(
        cls, lock_dir: str | Path, account: str, *, config_path: str | Path | None = None
    ) -> AccountLease:
        """Take the account's lease or refuse at once (never waits).

        Raises:
            LeaseHeldError: another process (or another lease in this one) holds it.
            OSError: the lock directory or file cannot be created.
        """
        path = lock_file_for(lock_dir, account)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # O_CLOEXEC by default: children never hold it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LeaseHeldError(account, _read_holder(path), path) from None
        except BaseException:
            os.close(fd)
            raise
        holder = LeaseHolder(
            account=account,
            pid=os.getpid(),
            host=socket.gethostname(),
            started_ms=int(time.time() * 1000),
            config=None if config_path is None else str(Path(config_path).absolute()),
        )
        try:
            data = msgspec.json.encode(holder)
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
        except BaseException:
            os.close(fd)  # closing drops the lock
            raise
        return cls(account, path, fd, holder)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Drop the lease (idempotent). The holder record is cleared first, the file itself stays."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> AccountLease:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"AccountLease(account={self.account!r}, held={self.held}, path={str(self.path)!r})"


def _read_holder(path: Path) -> LeaseHolder | None:
    """The holder's record; None if it stays unreadable (a holder from before it wrote, or a foreign file)."""
    for attempt in range(_READ_ATTEMPTS):
        try:
            return msgspec.json.decode(path.read_bytes(), type=LeaseHolder)
        except (OSError, msgspec.DecodeError):
            if attempt + 1 < _READ_ATTEMPTS:
                time.sleep(_READ_PAUSE_S)
    return None


__all__ = [
    "AccountLease",
    "LeaseHeldError",
    "LeaseHolder",
    "lock_dir_beside",
    "lock_file_for",
]
