"""Loopback port leases that hold across processes until released.

Binding port 0 and closing the socket leaves a window in which another test process can take the
same port. A lease also holds an exclusive flock on a per-port file, so concurrent harnesses on this
machine (pytest workers, a `make run` beside a test run) never pick the same one.

Releasing a lease deletes its file (no lock files pile up in the temp folder). Deleting a locked file
races with a process that opened it just before: that process would lock a file no longer in the
folder while a third one creates and locks a new one. So a lease counts only if, once locked, the
path still names the very file locked (same device and inode); otherwise the lease is retried.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
from pathlib import Path

_LOCK_DIR = Path(tempfile.gettempdir()) / "keeper-port-leases"


def lease_path(port: int) -> Path:
    """The lock file of a port's lease."""
    return _LOCK_DIR / f"{port}.lock"


class PortLease:
    """A loopback TCP port reserved for this process until `release()`."""

    def __init__(self, port: int, lock_fd: int) -> None:
        self.port = port
        self._lock_fd: int | None = lock_fd

    @property
    def held(self) -> bool:
        return self._lock_fd is not None

    def release(self) -> None:
        """Give the port back and delete its lock file; idempotent."""
        if self._lock_fd is not None:
            # Unlink while still holding the lock: a waiter that opened the old file re-checks the path.
            with contextlib.suppress(OSError):
                lease_path(self.port).unlink()
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    def __repr__(self) -> str:
        return f"PortLease(port={self.port}, held={self._lock_fd is not None})"


def _lock(port: int) -> int | None:
    """The fd of the port's lock file, locked by us; None when another process holds it."""
    path = lease_path(port)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held, named = os.fstat(fd), os.stat(path)
        if (held.st_dev, held.st_ino) == (named.st_dev, named.st_ino):
            return fd
    except OSError:  # locked elsewhere, or deleted by its releaser under us
        pass
    os.close(fd)
    return None


def lease_port(host: str = "127.0.0.1", attempts: int = 50) -> PortLease:
    """Lease a free loopback port.

    Raises:
        OSError: no free port could be leased in `attempts` tries.
    """
    _LOCK_DIR.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
        fd = _lock(port)
        if fd is not None:
            return PortLease(port, fd)
    raise OSError(f"could not lease a free port on {host} after {attempts} attempts")


def remove_stale_lease(port: int) -> bool:
    """Delete the lock file a dead process left for `port` (its flock died with it); True if removed.

    A lease some live process holds is left alone.
    """
    if not lease_path(port).exists():
        return False
    with contextlib.suppress(OSError):
        fd = _lock(port)
        if fd is not None:
            PortLease(port, fd).release()
            return True
    return False
