"""Pid files of launched anvils, and the sweep that stops anvils whose keeper died.

A launched anvil normally dies with its owner (parent-death signal, see `_anvil.py`); the pid file is
the backstop for what that misses (an owner killed before the signal was armed, a platform without
it) and for the owner's leftovers (its private folder, its port lease file). Each node writes
`anvil-<pid>.json` into a per-user runtime folder (mode 0700): anvil's pid and process start time,
the owner's pid and start time, the port and the node's folder. `sweep_orphans()` (run by every
`AnvilNode.start()`) stops each recorded anvil whose owner is gone, if that pid still runs the same
anvil (start times guard against pid reuse), and removes its folder, lease file and pid file.

Linux only (/proc); elsewhere the sweep finds nothing to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

import msgspec

from keeper.devchain._ports import remove_stale_lease

log = logging.getLogger("keeper.devchain")

NODE_DIR_PREFIX = "keeper-anvil-"


class PidRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One launched anvil, as its pid file records it."""

    pid: int
    pid_start: int | None  # /proc start time (clock ticks since boot) of anvil
    owner_pid: int
    owner_start: int | None
    port: int
    node_dir: str | None = None


def runtime_dir() -> Path:
    """This user's folder for pid files: $KEEPER_RUNTIME_DIR, else $XDG_RUNTIME_DIR/keeper, else
    <temp>/keeper-<uid>; created with mode 0700.

    Raises:
        PermissionError: the folder is not ours or others can write to it (its pid files are not
            to be trusted).
    """
    explicit = os.environ.get("KEEPER_RUNTIME_DIR")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if explicit:
        path = Path(explicit)
    elif xdg and Path(xdg).is_dir():
        path = Path(xdg) / "keeper"
    else:
        path = Path(tempfile.gettempdir()) / f"keeper-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise PermissionError(f"{path} is not a private folder of this user")
    return path


def process_start(pid: int) -> int | None:
    """The start time of a live (not zombie) process, or None when there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) ": state is field 3
    if not fields or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])  # field 22: starttime


def _runs_anvil(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "anvil"
    except OSError:
        return False


def pid_file(directory: Path, pid: int) -> Path:
    return directory / f"anvil-{pid}.json"


def write_pid_file(directory: Path, record: PidRecord) -> Path:
    """Write `record` atomically, readable by this user only."""
    path = pid_file(directory, record.pid)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(msgspec.json.encode(record))
    tmp.replace(path)
    return path


def remove_node_dir(path: str | None) -> None:
    """Delete a node's private folder; only ever one of ours (right prefix, in the temp folder)."""
    if not path:
        return
    folder = Path(path)
    if folder.parent != Path(tempfile.gettempdir()) or not folder.name.startswith(NODE_DIR_PREFIX):
        log.warning("not removing %s: not a node folder", folder)
        return
    with contextlib.suppress(FileNotFoundError):
        info = folder.lstat()
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            shutil.rmtree(folder, ignore_errors=True)


def sweep_orphans(directory: Path | None = None, grace_s: float = 2.0) -> list[int]:
    """Stop the anvils of dead owners recorded in `directory` (default `runtime_dir()`); returns
    their pids. Clears the dead owners' pid files, node folders and port lease files."""
    if not Path("/proc/self/stat").exists():
        return []
    directory = directory or runtime_dir()
    stopped: list[int] = []
    for path in sorted(directory.glob("anvil-*.json")):
        try:
            record = msgspec.json.decode(path.read_bytes(), type=PidRecord)
        except (OSError, msgspec.DecodeError):
            with contextlib.suppress(OSError):
                path.unlink()
            continue
        if record.owner_start is not None and process_start(record.owner_pid) == record.owner_start:
            continue  # its owner lives and will stop it
        alive = record.pid_start is not None and process_start(record.pid) == record.pid_start
        if alive and _runs_anvil(record.pid):
            log.warning("stopping orphaned anvil pid %d on port %d (owner pid %d is gone)",
                        record.pid, record.port, record.owner_pid)  # fmt: skip
            _stop(record.pid, record.pid_start, grace_s)
            stopped.append(record.pid)
        remove_stale_lease(record.port)
        remove_node_dir(record.node_dir)
        with contextlib.suppress(OSError):
            path.unlink()
    return stopped


def _stop(pid: int, started: int | None, grace_s: float) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if process_start(pid) != started:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)
