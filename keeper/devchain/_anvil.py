"""Launch and stop anvil processes: leased port, readiness wait, stop by pid, forks of forks.

The harness runs the real anvil binary (never the npm node shim, whose pid is not anvil's) and owns
each process it starts: `stop()` sends SIGTERM to that pid, then SIGKILL after a grace period. An
atexit hook stops whatever is still running if the owner forgets or crashes.

Nothing outlives its owner. anvil's output (dev keys, mnemonic, the fork URL) goes to `anvil.log` in
a private folder of the node (mode 0700) that `stop()` deletes with the port's lease file. On Linux
the child gets a parent-death signal (SIGTERM when the owner dies, even by SIGKILL), and a pid file
in the per-user runtime folder lets the next `start()` stop and clean up whatever that missed (see
`_orphans.py`). The fork URL is only ever shown masked (`mask_url`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal

import msgspec

from keeper.core.redact import mask_keys, mask_url
from keeper.devchain._orphans import (
    NODE_DIR_PREFIX,
    PidRecord,
    process_start,
    remove_node_dir,
    runtime_dir,
    sweep_orphans,
    write_pid_file,
)
from keeper.devchain._ports import PortLease, lease_port
from keeper.devchain._rpc import DevRpc, RpcError

log = logging.getLogger("keeper.devchain")


class AnvilError(RuntimeError):
    """anvil could not be found, started, or did not become ready."""


class AnvilOptions(msgspec.Struct, frozen=True, kw_only=True):
    """How to launch one anvil."""

    chain_id: int = 31337
    # interval: a block every block_time_s; instant: a block per transaction; manual: evm_mine only.
    mining: Literal["interval", "instant", "manual"] = "instant"
    block_time_s: float = 1.0
    base_fee_wei: int | None = None
    accounts: int = 10
    balance_eth: int = 10_000
    fork_url: str | None = None
    fork_block: int | None = None
    load_state: str | None = None
    dump_state: str | None = None
    gas_limit: int | None = None
    code_size_limit: int | None = None
    startup_timeout_s: float = 30.0

    def __repr__(self) -> str:
        # The fork URL may carry an API key: never in a repr (logs, tracebacks).
        fields = (f"{f}={getattr(self, f)!r}" for f in self.__struct_fields__ if f != "fork_url")
        fork = "" if self.fork_url is None else f", fork_url={mask_url(self.fork_url)!r}"
        return f"AnvilOptions({', '.join(fields)}{fork})"


def find_anvil() -> str:
    """Locate the anvil binary: $KEEPER_ANVIL, the project's .tools/bin, then PATH."""
    explicit = os.environ.get("KEEPER_ANVIL")
    if explicit:
        return explicit
    local = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "anvil"
    if local.exists():
        return str(local.resolve())  # the real binary behind the link
    found = shutil.which("anvil")
    if found is None:
        raise AnvilError("anvil not found: run `make bootstrap` or set KEEPER_ANVIL")
    return found


def anvil_args(options: AnvilOptions, port: int) -> list[str]:
    """The command-line flags for `options` (pure, for tests and logs)."""
    args = ["--host", "127.0.0.1", "--port", str(port), "--chain-id", str(options.chain_id)]
    args += ["--accounts", str(options.accounts), "--balance", str(options.balance_eth)]
    if options.mining == "interval":
        args += ["--block-time", f"{options.block_time_s:g}"]
    elif options.mining == "manual":
        args.append("--no-mining")
    if options.base_fee_wei is not None:
        args += ["--base-fee", str(options.base_fee_wei)]
    if options.fork_url is not None:
        args += ["--fork-url", options.fork_url]
        if options.fork_block is not None:
            args += ["--fork-block-number", str(options.fork_block)]
    if options.load_state is not None:
        args += ["--load-state", options.load_state]
    if options.dump_state is not None:
        args += ["--dump-state", options.dump_state]
    if options.gas_limit is not None:
        args += ["--gas-limit", str(options.gas_limit)]
    if options.code_size_limit is not None:
        args += ["--code-size-limit", str(options.code_size_limit)]
    return args


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>()\[\],]+")


def redact(text: str) -> str:
    """`text` with URLs masked (`mask_url`) and key-shaped runs masked (`mask_keys`)."""
    return mask_keys(_URL_IN_TEXT.sub(lambda m: mask_url(m.group()), text))


class _Spawner:
    """Starts anvil processes from one daemon thread that lives as long as this process.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, not the process: a node
    started from a short-lived worker thread (`asyncio.to_thread`) would lose its anvil with it.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run(self, job: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="anvil-spawner", daemon=True)
                self._thread.start()
        future: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((future, job))
        return future.result()

    def _serve(self) -> None:
        while True:
            future, job = self._jobs.get()
            try:
                future.set_result(job())
            except BaseException as exc:  # handed to the caller, re-raised there
                future.set_exception(exc)


_SPAWNER = _Spawner()
_PR_SET_PDEATHSIG = 1


def _die_with_owner() -> Callable[[], None] | None:
    """A preexec_fn arming SIGTERM on the owner's death (Linux); None elsewhere.

    Everything is looked up here, in the parent: between fork and exec the child only makes the call.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    owner, sigterm, exit_now, getppid = os.getpid(), int(signal.SIGTERM), os._exit, os.getppid

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, sigterm, 0, 0, 0)
        if getppid() != owner:  # the owner died before the signal was armed
            exit_now(1)

    return arm


class AnvilNode:
    """One running anvil that this process started and will stop.

    Use as a context manager, or call `start()` and `stop()`::

        with AnvilNode(AnvilOptions(mining="manual")) as node:
            node.rpc.mine(3)
    """

    def __init__(self, options: AnvilOptions | None = None, binary: str | None = None) -> None:
        self.options = options or AnvilOptions()
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self._lease: PortLease | None = None
        self._dir: Path | None = None
        self._pid_file: Path | None = None
        self._rpc: DevRpc | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> AnvilNode:
        """Start anvil and wait until it answers `eth_chainId` with the configured chain id."""
        if self._process is not None:
            raise AnvilError("already started")
        binary = self._binary or find_anvil()
        _sweep()
        last_error = ""
        for _ in range(3):  # a port can still be lost to a process that ignores our leases
            self._lease = lease_port()
            self._dir = Path(tempfile.mkdtemp(prefix=NODE_DIR_PREFIX))  # mode 0700
            try:
                self._spawn(binary)
                return self
            except AnvilError as exc:
                last_error = str(exc)
                self.stop()
                if "Address already in use" not in last_error:
                    break
            except BaseException:  # e.g. no such binary: leave no folder or lease behind
                self.stop()
                raise
        raise AnvilError(last_error)

    def restart(self, grace_s: float = 5.0) -> AnvilNode:
        """Stop anvil (if it still runs) and start a fresh one with the same options on the same port."""
        if self._lease is None or self._dir is None:
            raise AnvilError("not started")
        self._stop_process(grace_s)
        self._spawn(self._binary or find_anvil())
        return self

    def _spawn(self, binary: str) -> None:
        assert self._lease is not None
        assert self._dir is not None
        args = [binary, *anvil_args(self.options, self._lease.port)]
        fd = os.open(self._dir / "anvil.log", os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "wb") as log_file:
            self._process = _SPAWNER.run(
                lambda: subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    # Its own session: a terminal Ctrl-C reaches the keeper only, which cancels its
                    # orders and stops the chain last (by pid; the atexit sweep covers a crash).
                    start_new_session=True,
                    preexec_fn=_die_with_owner(),  # noqa: PLW1509 - only a prctl call, prepared here
                )
            )
        _LIVE.add(self)
        self._write_pid_file()
        self._wait_ready()

    def _write_pid_file(self) -> None:
        assert self._process is not None
        assert self._lease is not None
        record = PidRecord(
            pid=self._process.pid,
            pid_start=process_start(self._process.pid),
            owner_pid=os.getpid(),
            owner_start=process_start(os.getpid()),
            port=self._lease.port,
            node_dir=None if self._dir is None else str(self._dir),
        )
        try:
            self._pid_file = write_pid_file(runtime_dir(), record)
        except OSError as exc:  # the parent-death signal still covers us
            log.warning("no pid file for anvil pid %d: %s", self._process.pid, exc)

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.options.startup_timeout_s
        rpc = DevRpc(self.http_url, timeout_s=2.0)
        while True:
            code = self._process.poll()
            if code is not None:
                raise AnvilError(f"anvil exited with {code} during start-up: {self.log_tail()}")
            try:
                chain_id = rpc.chain_id()
            except (OSError, RpcError, ValueError):
                if time.monotonic() > deadline:
                    raise AnvilError(f"anvil not ready after {self.options.startup_timeout_s}s") from None
                time.sleep(0.05)
                continue
            if chain_id != self.options.chain_id:
                raise AnvilError(f"anvil answered chain id {chain_id}, expected {self.options.chain_id}")
            self._rpc = rpc
            return

    def stop(self, grace_s: float = 5.0) -> int | None:
        """Stop the process by pid: SIGTERM, then SIGKILL after `grace_s`. Returns its exit code.

        Also deletes the node's folder (its log) and the port's lease file.
        """
        code = self._stop_process(grace_s)
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        if self._dir is not None:
            remove_node_dir(str(self._dir))
            self._dir = None
        _LIVE.discard(self)
        return code

    def _stop_process(self, grace_s: float) -> int | None:
        code: int | None = None
        if self._rpc is not None:
            self._rpc.close()
            self._rpc = None
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=grace_s)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGKILL)
                    process.wait()
            code = process.returncode
        if self._pid_file is not None:
            with contextlib.suppress(OSError):
                self._pid_file.unlink()
            self._pid_file = None
        return code

    def __enter__(self) -> AnvilNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- access --------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise AnvilError("not started")
        return self._process.pid

    @property
    def port(self) -> int:
        if self._lease is None:
            raise AnvilError("not started")
        return self._lease.port

    @property
    def node_dir(self) -> Path | None:
        """The node's private folder (its log lives there); None when stopped."""
        return self._dir

    @property
    def log_path(self) -> Path | None:
        return None if self._dir is None else self._dir / "anvil.log"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def rpc(self) -> DevRpc:
        """A synchronous dev-RPC client bound to this node."""
        if self._rpc is None:
            raise AnvilError("not started")
        return self._rpc

    def fork(self, **overrides: object) -> AnvilNode:
        """A second anvil that forks this one at its current head (not started yet)."""
        options = msgspec.structs.replace(self.options, fork_url=self.http_url, **overrides)
        return AnvilNode(options, binary=self._binary)

    def log_tail(self, lines: int = 20) -> str:
        """The end of anvil's output, URLs and key-shaped runs masked (it prints keys and the fork URL)."""
        path = self.log_path
        if path is None or not path.exists():
            return ""
        return redact(" | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:]))

    def __repr__(self) -> str:
        where = f"port={self._lease.port}" if self._lease else "stopped"
        return f"AnvilNode({where}, chain_id={self.options.chain_id}, mining={self.options.mining})"


def _sweep() -> None:
    """Stop anvils whose owner died (once per start; never fails a start)."""
    try:
        sweep_orphans()
    except OSError as exc:
        log.warning("could not sweep orphaned anvils: %s", exc)


_LIVE: set[AnvilNode] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        nodes = list(_LIVE)
    for node in nodes:
        node.stop(grace_s=2.0)
