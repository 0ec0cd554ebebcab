"""`keeper devnet up / down / status --dir DIR`: a local chain, DEX and venue that outlive the keeper.

`up` prints one line with the URLs and exits 0 once the devnet is ready, or one line and exit 2;
`down` prints one line and exits 0 (also when nothing runs); `status` prints one line and exits 0 when
the devnet runs, 1 when not. `serve` is the devnet's own process, started by `up` (not for operators).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from keeper.app import configure_logging
from keeper.app._devnet_serve import serve_main
from keeper.app.devnet import DevnetError, DevnetOptions, down, status, up

EXIT_FAILED = 2


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    devnet = commands.add_parser(
        "devnet", help="a local anvil + DEX + venue in its own process, outliving the keeper (crash drills)"
    )
    sub = devnet.add_subparsers(dest="devnet_command", required=True, metavar="SUBCOMMAND")
    start = sub.add_parser("up", help="start a devnet in DIR and write DIR/keeper.toml for `keeper run`")
    _add_dir(start)
    _add_options(start)
    start.add_argument(
        "--timeout-s", type=float, default=120.0, help="wait this long for ready (default 120)"
    )
    start.set_defaults(handler=run_up)
    stop = sub.add_parser("down", help="stop the devnet in DIR and remove its files")
    _add_dir(stop)
    stop.set_defaults(handler=run_down)
    show = sub.add_parser("status", help="say whether the devnet in DIR runs, with its URLs")
    _add_dir(show)
    show.set_defaults(handler=run_status)
    # No help: not listed. `up` starts it detached; it runs until SIGTERM.
    serve = sub.add_parser("serve")
    _add_dir(serve)
    _add_options(serve)
    serve.add_argument("--created-dir", action="store_true")
    serve.set_defaults(handler=run_serve)


def _add_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", required=True, type=Path, help="the devnet's folder")


def _add_options(parser: argparse.ArgumentParser) -> None:
    d = DevnetOptions()
    parser.add_argument("--market", default=d.market, help=f"the venue's one market (default {d.market})")
    parser.add_argument(
        "--start-px", type=float, default=d.start_px, help=f"its first price ({d.start_px:g})"
    )
    parser.add_argument(
        "--flow-seed", type=int, default=d.flow_seed, help=f"seed of its flow ({d.flow_seed})"
    )
    parser.add_argument(
        "--block-time-s",
        type=float,
        default=d.block_time_s,
        help=f"anvil's block interval ({d.block_time_s:g})",
    )
    parser.add_argument(
        "--dead-man-s",
        type=float,
        default=d.dead_man_s,
        help=f"the keeper config's dead-man switch window ({d.dead_man_s:g}; at least 10)",
    )


def _options(args: argparse.Namespace) -> DevnetOptions:
    return DevnetOptions(
        market=args.market,
        start_px=args.start_px,
        flow_seed=args.flow_seed,
        block_time_s=args.block_time_s,
        dead_man_s=args.dead_man_s,
    )


def run_up(args: argparse.Namespace) -> int:
    try:
        info = up(args.dir, _options(args), timeout_s=args.timeout_s)
    except DevnetError as exc:
        print(f"keeper devnet up: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"devnet up in {info.dir}: {info.describe()}; keeper run --config {info.config}", flush=True)
    return 0


def run_down(args: argparse.Namespace) -> int:
    try:
        print(down(args.dir))
    except DevnetError as exc:
        print(f"keeper devnet down: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def run_status(args: argparse.Namespace) -> int:
    try:
        running, line = status(args.dir)
    except DevnetError as exc:
        print(f"keeper devnet status: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(line)
    return 0 if running else 1


def run_serve(args: argparse.Namespace) -> int:
    configure_logging("INFO")
    return serve_main(args.dir.absolute(), _options(args), created_dir=args.created_dir)
