"""Loopback port leases that hold across processes until released.

Binding port 0 and closing the socket leaves a window in which another test process can take the
same port. A lease also holds an exclusive flock on a per-port file, so concurrent harnesses on this
machine (pytest workers, a `make run` beside a test run) never pick the same one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
from pathlib import Path

_LOCK_DIR = Path(tempfile.gettempdir()) / "keeper-port-leases"


class PortLease:
    """A loopback TCP port reserved for this process until `release()`."""

    def __init__(self, port: int, lock_fd: int) -> None:
        self.port = port
        self._lock_fd: int | None = lock_fd

    def release(self) -> None:
        """Give the port back; idempotent."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    def __repr__(self) -> str:
        return f"PortLease(port={self.port}, held={self._lock_fd is not None})"


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
        fd = os.open(_LOCK_DIR / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return PortLease(port, fd)
    raise OSError(f"could not lease a free port on {host} after {attempts} attempts")
