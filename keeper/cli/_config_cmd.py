"""`keeper config check FILE`."""

from __future__ import annotations

import argparse
import sys

from keeper.config import ConfigError, load_config, redact, summarize

EXIT_INVALID_CONFIG = 2


def check(args: argparse.Namespace) -> int:
    """Print a summary and return 0, or print exactly one `FILE: field: reason` line and return 2."""
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        # redact: one line, URLs masked, and no key-shaped run even if a reason ever quoted one.
        print(redact(str(exc)), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    print(f"{args.file}: ok")
    for line in summarize(config):
        print(f"  {line}")
    return 0
