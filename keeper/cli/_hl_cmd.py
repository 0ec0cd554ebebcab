"""`keeper hl sign`: JSON lines of signing requests on stdin -> JSON lines of signatures on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from keeper.codecs.hyperliquid import sign_request
from keeper.codecs.hyperliquid.errors import HyperliquidCodecError


def sign(args: argparse.Namespace) -> int:
    return sign_stream(sys.stdin, sys.stdout, sys.stderr)


def sign_stream(source: TextIO, out: TextIO, err: TextIO) -> int:
    """Answer every good line in order; a bad line gets one error line on `err` naming its number.

    Returns 0 when every line was signed, 1 when any line was refused. Blank lines are ignored.
    """
    failed = 0
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            # Floats would be re-rendered, not signed as sent: the codec refuses them.
            request = json.loads(line)
            reply = sign_request(request)
        except (ValueError, HyperliquidCodecError) as exc:
            failed += 1
            message = str(exc).replace("\n", " ")
            print(f"line {number}: {message}", file=err, flush=True)
            continue
        out.write(json.dumps(reply, separators=(",", ":")) + "\n")
        out.flush()
    return 1 if failed else 0
