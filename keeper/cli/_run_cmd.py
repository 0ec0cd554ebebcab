"""`keeper run`: load the config, run until SIGINT/SIGTERM, exit 0 after a clean shutdown.

An operator error (a bad config, a key that will not load, a wrong or unreachable endpoint, a venue
that will not open) is one line on stderr, ``FILE: field: reason`` with URLs masked, and exit 2,
whether it happens at start-up or later. Anything else is a bug: a logged traceback and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from pathlib import Path

from keeper.app import configure_logging, run_keeper
from keeper.app._venues import VenueStartError
from keeper.app.lease import LeaseHeldError
from keeper.app.store import StoreError
from keeper.chain import ChainIdMismatchError, KeyLoadError, NoEndpointAvailableError, RpcTransportError
from keeper.cli._config_cmd import EXIT_INVALID_CONFIG
from keeper.config import ConfigError, KeeperConfig, load_config, redact
from keeper.devchain import AnvilError

log = logging.getLogger("keeper.run")

# What the operator can fix without a code change. Keep it to typed errors: a bare ValueError or
# KeyError is a bug and must keep its traceback.
OPERATOR_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    KeyLoadError,
    ChainIdMismatchError,
    NoEndpointAvailableError,
    RpcTransportError,
    VenueStartError,
    AnvilError,
    LeaseHeldError,
    StoreError,
)
# KeyLoadError messages start with the key's config name: "key 'main': wrong password ...".
_KEY_MESSAGE = re.compile(r"^key '(?P<name>[^']+)': (?P<reason>.*)$", re.DOTALL)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(redact(str(exc)), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    return asyncio.run(_main(config, config_path=Path(args.config).absolute(), shown=str(args.config)))


async def _main(config: KeeperConfig, config_path: Path, shown: str) -> int:
    stop = asyncio.Event()
    reload_request = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, sig, stop)
    loop.add_signal_handler(signal.SIGHUP, reload_request.set)  # re-read the config now
    try:
        return await run_keeper(config, config_path, stop, reload_request)
    except OPERATOR_ERRORS as exc:
        print(operator_line(shown, exc, config), file=sys.stderr, flush=True)
        return EXIT_INVALID_CONFIG
    except Exception:
        log.exception("keeper failed")
        return 1


def operator_line(file: str, exc: Exception, config: KeeperConfig) -> str:
    """The one line for an operator error: the config file, the field it points at, the reason."""
    if isinstance(exc, ConfigError):  # raised past loading with a placeholder file, e.g. "(venues)"
        where, reason = exc.field, exc.reason
    elif isinstance(exc, KeyLoadError) and (m := _KEY_MESSAGE.match(str(exc))) is not None:
        where, reason = f"keys.accounts.{m['name']}", m["reason"]
    elif isinstance(exc, ChainIdMismatchError):
        where, reason = "chain.chain_id", str(exc)
    elif isinstance(exc, NoEndpointAvailableError | RpcTransportError):
        where = "devnet" if config.devnet.launch else "chain.rpc_http"
        reason = f"no RPC endpoint answered: {exc}"
    elif isinstance(exc, AnvilError):
        where, reason = "devnet", str(exc)
    elif isinstance(exc, LeaseHeldError):
        where, reason = f"strategy.venue ({config.strategy.venue})", f"another keeper is running: {exc}"
    elif isinstance(exc, StoreError):
        where, reason = "store.path", str(exc)
    else:  # VenueStartError names its venue itself; a KeyLoadError in another shape says the key
        return redact(f"{file}: {exc}")
    return redact(f"{file}: {where}: {reason}")


def _on_signal(sig: signal.Signals, stop: asyncio.Event) -> None:
    log.info("received %s, shutting down", sig.name)
    stop.set()
