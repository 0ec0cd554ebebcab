"""`keeper resume --config FILE [--account NAME_OR_KEY] --reason TEXT`: clear a latched halt on purpose.

A hard-drawdown halt latches and survives restarts (it is in the store). Only this command clears it:
it records who (user@host/pid), when and why, clears the latch and the high-water mark in the store,
and leaves a pending resume that a running keeper applies within its poll interval. The high-water
mark is reset, not kept: the drawdown budget restarts from the next equity reading (keeping the old
peak would re-latch at once). Works beside a running keeper (the store is shared through SQLite WAL);
it launches nothing.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
import time
from datetime import UTC, datetime

from keeper.app.store import Store, StoreError, account_key, store_path
from keeper.cli._config_cmd import EXIT_INVALID_CONFIG
from keeper.config import ConfigError, load_config

EXIT_STORE_ERROR = 1


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser], default_config: str) -> None:
    resume = commands.add_parser(
        "resume",
        help="clear a latched halt deliberately (recorded: who, when, why); the drawdown budget restarts",
    )
    resume.add_argument(
        "--config", default=default_config, help=f"deployment TOML (default {default_config})"
    )
    resume.add_argument(
        "--account", help="account key or [venues] name (default: [strategy] venue of the config)"
    )
    resume.add_argument("--reason", required=True, help="why it is safe to trade again (recorded)")
    resume.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print one line: what was cleared, or that nothing was latched (exit 0); config errors exit 2, an
    unusable store 1."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        return _fail(str(exc))
    account = account_key(config, args.account)
    if account is None:
        return _fail(f"{args.config}: strategy.venue: not set; pass --account")
    reason = " ".join(str(args.reason).split())
    if not reason:
        return _fail("keeper resume: --reason must say why (it is recorded)")
    path = store_path(config, args.config)
    if not path.exists():
        print(f"nothing was latched for account {account} (no store at {path})")
        return 0
    try:
        with Store.open(path) as store:
            cleared = store.request_resume(account, _who(), reason, int(time.time() * 1000))
    except StoreError as exc:
        print(str(exc).replace("\n", " "), file=sys.stderr)
        return EXIT_STORE_ERROR
    if cleared is None:
        print(f"nothing was latched for account {account}")
        return 0
    since = _when(cleared.halted_at_ms)
    peak = cleared.high_water_mark if cleared.high_water_mark is not None else "unset"
    print(
        f"cleared {cleared.halt_reason or 'halt'} latched {since} on account {account}; high-water mark "
        f"{peak} reset: the drawdown budget restarts from the next equity reading"
    )
    return 0


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (containers)
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}/{os.getpid()}"


def _when(ms: int | None) -> str:
    if ms is None:
        return "at an unrecorded time"
    return "at " + datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fail(line: str) -> int:
    print(line.replace("\n", " "), file=sys.stderr)
    return EXIT_INVALID_CONFIG


__all__ = ["add_parser", "run"]
