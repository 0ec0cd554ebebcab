"""`keeper keys new` and `keeper keys list`."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from eth_utils.address import to_checksum_address

from keeper.chain import KeyLoadError, load_signer, new_keystore
from keeper.cli._config_cmd import EXIT_INVALID_CONFIG
from keeper.config import AnvilKey, ConfigError, EnvKey, KeystoreKey, load_config, resolve_path


def new(args: argparse.Namespace) -> int:
    """Create an encrypted keystore for a fresh key and print its address."""
    if args.password_file is not None:
        password = Path(args.password_file).read_text().rstrip("\r\n")
    elif args.password_env is not None:
        if args.password_env not in os.environ:
            print(f"keeper keys new: environment variable {args.password_env} is not set", file=sys.stderr)
            return 2
        password = os.environ[args.password_env]
    else:
        password = getpass.getpass("keystore password: ")
        if password != getpass.getpass("again: "):
            print("keeper keys new: passwords differ", file=sys.stderr)
            return 2
    if not password:
        print("keeper keys new: refusing an empty password", file=sys.stderr)
        return 2
    try:
        address = new_keystore(Path(args.out), password)
    except FileExistsError:
        print(f"keeper keys new: {args.out} exists; refusing to overwrite a keystore", file=sys.stderr)
        return 2
    print(f"{address} {args.out}")
    return 0


def list_keys(args: argparse.Namespace) -> int:
    """Print each configured key's name, source and address (no passwords needed for keystores)."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    base_dir = Path(args.config).absolute().parent
    for name, source in sorted(config.keys.accounts.items()):
        marker = "*" if name == config.keys.active else " "
        address: str
        if isinstance(source, KeystoreKey):
            document = json.loads(resolve_path(base_dir, source.path).read_text())
            address = str(to_checksum_address("0x" + str(document.get("address", "")).removeprefix("0x")))
            where = f"keystore {source.path}"
        elif isinstance(source, AnvilKey):
            address, where = load_signer(name, source, base_dir).address, f"anvil #{source.index}"
        elif isinstance(source, EnvKey):
            try:
                address = load_signer(name, source, base_dir).address
            except KeyLoadError:
                address = "(unset)"
            where = f"env ${source.env}"
        print(f"{marker} {name:<16} {address:<42} {where}")
    return 0
