"""`keeper run`: load the config, run until SIGINT/SIGTERM, exit 0 after a clean shutdown."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from keeper.app import configure_logging, run_keeper
from keeper.cli._config_cmd import EXIT_INVALID_CONFIG
from keeper.config import ConfigError, KeeperConfig, load_config

log = logging.getLogger("keeper.run")


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    return asyncio.run(_main(config, config_path=Path(args.config).absolute()))


async def _main(config: KeeperConfig, config_path: Path) -> int:
    stop = asyncio.Event()
    reload_request = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, sig, stop)
    loop.add_signal_handler(signal.SIGHUP, reload_request.set)  # re-read the config now
    try:
        return await run_keeper(config, config_path, stop, reload_request)
    except Exception:
        log.exception("keeper failed")
        return 1


def _on_signal(sig: signal.Signals, stop: asyncio.Event) -> None:
    log.info("received %s, shutting down", sig.name)
    stop.set()
