"""Argument parsing and dispatch for `keeper`. Each command lives in its own small module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from keeper._version import __version__
from keeper.cli import (
    _bench_cmd,
    _config_cmd,
    _deploy_cmd,
    _devnet_cmd,
    _hl_cmd,
    _keys_cmd,
    _resume_cmd,
    _run_cmd,
    _sim_cmd,
)

DEFAULT_CONFIG = "chain_config/local.toml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keeper", description="Keeper and market maker for perp DEXs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the keeper on a deployment config")
    run.add_argument("--config", default=DEFAULT_CONFIG, help=f"deployment TOML (default {DEFAULT_CONFIG})")
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    run.set_defaults(handler=_run_cmd.run)

    config = commands.add_parser("config", help="inspect deployment configs")
    config_commands = config.add_subparsers(dest="config_command", required=True, metavar="SUBCOMMAND")
    check = config_commands.add_parser(
        "check", help="validate a config: summary and exit 0, or one error line"
    )
    check.add_argument("file")
    check.set_defaults(handler=_config_cmd.check)

    deploy = commands.add_parser("deploy", help="deploy the reference perp DEX and write a deployments file")
    deploy.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"deployment TOML (default {DEFAULT_CONFIG})"
    )
    deploy.add_argument("--rpc-url", help="chain to deploy to (default: the config's first rpc_http)")
    deploy.add_argument("--out", help="deployments file (default: deployments/<chain name>-<chain id>.json)")
    deploy.set_defaults(handler=_deploy_cmd.run)

    keys = commands.add_parser("keys", help="create and list signing keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="SUBCOMMAND")
    new = keys_commands.add_parser("new", help="create an encrypted keystore for a fresh key")
    new.add_argument("--out", required=True, help="keystore file to create (never overwritten)")
    source = new.add_mutually_exclusive_group()
    source.add_argument("--password-file", help="read the password from this file")
    source.add_argument("--password-env", help="read the password from this environment variable")
    new.set_defaults(handler=_keys_cmd.new)
    listing = keys_commands.add_parser("list", help="show the configured keys and their addresses")
    listing.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"deployment TOML (default {DEFAULT_CONFIG})"
    )
    listing.set_defaults(handler=_keys_cmd.list_keys)

    hl = commands.add_parser("hl", help="Hyperliquid-protocol tools")
    hl_commands = hl.add_subparsers(dest="hl_command", required=True, metavar="SUBCOMMAND")
    hl_sign = hl_commands.add_parser(
        "sign",
        help='sign JSON lines {"key","action","nonce","vaultAddress","expiresAfter","isMainnet"} from stdin',
    )
    hl_sign.set_defaults(handler=_hl_cmd.sign)

    bench = commands.add_parser("bench", help="run the benchmarks (ours vs the peer, same run)")
    bench.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    bench.add_argument("--iterations", type=int, default=5000, help="signing iterations per measured case")
    bench.add_argument("--only", choices=_bench_cmd.SECTIONS, help="run one section (default: all)")
    bench.set_defaults(handler=_bench_cmd.bench)

    _sim_cmd.add_parser(commands)
    _resume_cmd.add_parser(commands, DEFAULT_CONFIG)
    _devnet_cmd.add_parser(commands)

    version = commands.add_parser("version", help="print the keeper version")
    version.set_defaults(handler=lambda _args: _print_version())
    return parser


def _print_version() -> int:
    print(f"keeper {__version__}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
