"""Launch and stop anvil processes: leased port, readiness wait, stop by pid, forks of forks.

The harness runs the real anvil binary (never the npm node shim, whose pid is not anvil's) and owns
each process it starts: `stop()` sends SIGTERM to that pid, then SIGKILL after a grace period. An
atexit hook stops whatever is still running if the owner forgets or crashes.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

import msgspec

from keeper.devchain._ports import PortLease, lease_port
from keeper.devchain._rpc import DevRpc, RpcError

# anvil's well-known development mnemonic: its accounts hold play money on every dev chain.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


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
        self._log_path: Path | None = None
        self._rpc: DevRpc | None = None

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> AnvilNode:
        """Start anvil and wait until it answers `eth_chainId` with the configured chain id."""
        if self._process is not None:
            raise AnvilError("already started")
        binary = self._binary or find_anvil()
        last_error = ""
        for _ in range(3):  # a port can still be lost to a process that ignores our leases
            self._lease = lease_port()
            fd, log = tempfile.mkstemp(prefix=f"anvil-{self._lease.port}-", suffix=".log")
            self._log_path = Path(log)
            with os.fdopen(fd, "wb") as log_file:
                self._process = subprocess.Popen(
                    [binary, *anvil_args(self.options, self._lease.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    # Its own session: a terminal Ctrl-C reaches the keeper only, which cancels its
                    # orders and stops the chain last (by pid; the atexit sweep covers a crash).
                    start_new_session=True,
                )
            _LIVE.add(self)
            try:
                self._wait_ready()
                return self
            except AnvilError as exc:
                last_error = str(exc)
                self.stop()
                if "Address already in use" not in last_error:
                    break
        raise AnvilError(last_error)

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
        """Stop the process by pid: SIGTERM, then SIGKILL after `grace_s`. Returns its exit code."""
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
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        _LIVE.discard(self)
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
        if self._log_path is None or not self._log_path.exists():
            return ""
        return " | ".join(self._log_path.read_text(errors="replace").strip().splitlines()[-lines:])

    def __repr__(self) -> str:
        where = f"port={self._lease.port}" if self._lease else "stopped"
        return f"AnvilNode({where}, chain_id={self.options.chain_id}, mining={self.options.mining})"


_LIVE: set[AnvilNode] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        nodes = list(_LIVE)
    for node in nodes:
        node.stop(grace_s=2.0)
