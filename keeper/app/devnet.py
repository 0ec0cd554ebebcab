"""A devnet that outlives the keeper: `keeper devnet up / down / status`, and a rig for crash drills.

`up` starts one detached process (`keeper devnet serve`, its own session) that runs anvil, the
reference perp DEX and the bundled Hyperliquid-compatible venue, and writes `DIR/keeper.toml` for
`keeper run`. The keeper can then be killed with SIGKILL and started again against the same chain and
venue: its orders are still resting there, so restart recovery is testable with the project's commands.

For tests::

    with running_devnet(tmp_path / "devnet", DevnetOptions(block_time_s=0.2)) as info:
        with KeeperProcess(Path(info.config), tmp_path / "k1.log") as keeper:
            keeper.wait_for_log(r"trading state \\w+ -> active")
            keeper.kill()  # the crash
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from keeper.app._devnet_files import (
    LOG_FILE,
    DevnetError,
    DevnetInfo,
    DevnetOptions,
    last_log_line,
    read_info,
    remove_generated,
)

__all__ = [
    "DevnetError",
    "DevnetInfo",
    "DevnetOptions",
    "KeeperProcess",
    "down",
    "read_info",
    "running_devnet",
    "status",
    "up",
]

SERVE_STOP_GRACE_S = 10.0
ANVIL_STOP_GRACE_S = 5.0
# Serve processes this process started and has not reaped: kept referenced so that no Popen is
# collected while its process runs (a ResourceWarning), and so that `down` reaps its own children.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _keeper_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "keeper", *args]


def serve_args(folder: Path, options: DevnetOptions, *, created_dir: bool) -> list[str]:
    """The `keeper devnet serve` command line `up` starts."""
    args = [
        "devnet",
        "serve",
        "--dir",
        str(folder),
        "--market",
        options.market,
        "--start-px",
        repr(options.start_px),
        "--flow-seed",
        str(options.flow_seed),
        "--block-time-s",
        repr(options.block_time_s),
        "--dead-man-s",
        repr(options.dead_man_s),
    ]
    return _keeper_command(*args, *(["--created-dir"] if created_dir else []))


def up(folder: Path, options: DevnetOptions | None = None, *, timeout_s: float = 120.0) -> DevnetInfo:
    """Start a devnet in `folder` and wait until it is ready; returns its record.

    Raises:
        DevnetError: a devnet is already recorded there, the options are unusable, or the serve process
            died or was not ready in time (then everything it started is stopped, and the log is kept).
    """
    options = options or DevnetOptions()
    folder = folder.absolute()
    if (problem := options.problem()) is not None:
        raise DevnetError(problem)
    existing = read_info(folder)
    if existing is not None:
        if _alive(existing.serve_pid, _serve_marker(folder)):
            raise DevnetError(f"a devnet already runs in {folder} (serve pid {existing.serve_pid})")
        raise DevnetError(f"{folder} holds a stopped devnet: `keeper devnet down --dir {folder}` first")
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DevnetError(f"cannot create {folder}: {exc.strerror or exc}") from None
    with (folder / LOG_FILE).open("ab") as log:
        proc = subprocess.Popen(
            serve_args(folder, options, created_dir=created),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: it outlives the caller and the caller's terminal (no SIGHUP, no Ctrl-C).
            start_new_session=True,
            cwd="/",  # holds no caller directory open
        )
    _CHILDREN[proc.pid] = proc
    deadline = time.monotonic() + timeout_s
    while True:
        info = _read_quietly(folder)
        if info is not None and info.state == "ready" and info.serve_pid == proc.pid:
            return info
        code = proc.poll()
        if code is not None:
            _CHILDREN.pop(proc.pid, None)
            why = last_log_line(folder)
            _clean_after_failure(folder, _read_quietly(folder), created)
            raise DevnetError(f"devnet serve exited with {code}: {why} (log {folder / LOG_FILE})")
        if time.monotonic() > deadline:
            _stop_pid(proc.pid, SERVE_STOP_GRACE_S)
            why = last_log_line(folder)
            _clean_after_failure(folder, _read_quietly(folder), created)
            raise DevnetError(f"devnet not ready after {timeout_s:g} s: {why} (log {folder / LOG_FILE})")
        time.sleep(0.1)


def _clean_after_failure(folder: Path, info: DevnetInfo | None, created: bool) -> None:
    if info is not None and info.anvil_pid is not None:
        _stop_anvil(info)
    remove_generated(folder, created, keep_log=True)  # the log says why; the next `up` may reuse it


def _read_quietly(folder: Path) -> DevnetInfo | None:
    with contextlib.suppress(DevnetError):
        return read_info(folder)
    return None


def down(folder: Path) -> str:
    """Stop the devnet in `folder` (serve by SIGTERM, SIGKILL after 10 s; then its anvil if it is still
    there) and remove the generated files. Returns the one line to print."""
    folder = folder.absolute()
    info = read_info(folder)
    if info is None:
        return f"no devnet in {folder}: nothing runs"
    stopped = []
    if _alive(info.serve_pid, _serve_marker(folder)):
        _stop_pid(info.serve_pid, SERVE_STOP_GRACE_S)
        stopped.append(f"serve pid {info.serve_pid}")
    if info.anvil_pid is not None and _stop_anvil(info):
        # Its serve process was killed (or hung): anvil outlived it and is stopped by its pid here.
        stopped.append(f"anvil pid {info.anvil_pid}")
    remove_generated(folder, info.created_dir)
    what = "removed" if info.created_dir and not folder.exists() else "cleaned"
    if not stopped:
        return f"devnet in {folder} was not running; {what} {folder}"
    return f"devnet in {folder} stopped ({', '.join(stopped)}); {what} {folder}"


def status(folder: Path) -> tuple[bool, str]:
    """(running, one line): running means the serve process and its anvil are alive and it is ready."""
    folder = folder.absolute()
    info = read_info(folder)
    if info is None:
        return False, f"no devnet in {folder}: not running"
    serve_up = _alive(info.serve_pid, _serve_marker(folder))
    anvil_up = info.anvil_pid is not None and _alive(info.anvil_pid, _anvil_marker(info))
    if serve_up and anvil_up and info.state == "ready":
        return True, f"devnet in {folder} running (serve pid {info.serve_pid}): {info.describe()}"
    if serve_up:
        return False, f"devnet in {folder} not running: {info.state} (serve pid {info.serve_pid})"
    return False, f"devnet in {folder} not running (serve pid {info.serve_pid} gone)"


@contextlib.contextmanager
def running_devnet(
    folder: Path, options: DevnetOptions | None = None, *, timeout_s: float = 120.0
) -> Iterator[DevnetInfo]:
    """`up` for the block, `down` after it (whatever happens): a crash drill's devnet."""
    info = up(folder, options, timeout_s=timeout_s)
    try:
        yield info
    finally:
        down(folder)


class KeeperProcess:
    """A `keeper run --config CONFIG` subprocess with its output in `log_path`; stopped by pid on exit.

    `kill()` is the crash (SIGKILL), `stop()` the orderly stop (SIGTERM, returns the exit code).
    """

    def __init__(self, config: Path, log_path: Path, *, log_level: str = "INFO") -> None:
        self.log_path = log_path
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                _keeper_command("run", "--config", str(config), "--log-level", log_level),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, pattern: str, timeout_s: float = 30.0) -> re.Match[str]:
        """The first match of `pattern` in the log; AssertionError with the log if the process ends or
        the time runs out first."""
        deadline = time.monotonic() + timeout_s
        while True:
            if (match := re.search(pattern, self.log_text())) is not None:
                return match
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"keeper exited ({self.proc.returncode}) before {pattern!r}:\n{self.log_text()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not logged in {timeout_s:g} s:\n{self.log_text()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is cancelled, nothing is cleaned up."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; SIGKILL after `timeout_s`. Returns the exit code (-9 after a SIGKILL)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode

    def __enter__(self) -> KeeperProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()


# ---- processes by pid ----------------------------------------------------------------------------


def _serve_marker(folder: Path) -> tuple[str, ...]:
    return ("devnet", "serve", "--dir", str(folder))


def _anvil_marker(info: DevnetInfo) -> tuple[str, ...]:
    return ("--port", str(info.anvil_port))


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _alive(pid: int, marker: tuple[str, ...] = ()) -> bool:
    """`pid` runs (not a zombie) and, where /proc tells, its command line holds `marker` in order: a
    pid from an old record may belong to an unrelated process by now, which is never signalled."""
    child = _CHILDREN.get(pid)
    if child is not None:
        # Our own child: its Popen knows (and reaps it), no /proc race with a dying process.
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # not ours
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    cmdline = _cmdline(pid)
    if cmdline is None or not marker:
        return True
    # Whole arguments only: port 8545 must not match 85451.
    return "\0" + "\0".join(marker) + "\0" in "\0" + "\0".join(cmdline) + "\0"


def _stop_pid(pid: int, grace_s: float) -> None:
    """SIGTERM, wait up to `grace_s`, then SIGKILL; returns when the pid is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, grace_s):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, 5.0)


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _stop_anvil(info: DevnetInfo) -> bool:
    """Stop the recorded anvil if it still runs; True when it had to be stopped here."""
    assert info.anvil_pid is not None
    if not _alive(info.anvil_pid, _anvil_marker(info)):
        return False
    _stop_pid(info.anvil_pid, ANVIL_STOP_GRACE_S)
    return True
