"""Process helpers shared by the tests that start and kill processes."""

from __future__ import annotations

import os
import time
from pathlib import Path


def pid_gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Gone or a zombie (reparented processes may wait for a reaper that never comes in a container)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False
