"""ABIs of the reference perp DEX, from the committed `abis/` export of the forge build.

The exchange is three contracts behind one address: PerpExchange (orders) delegates unknown selectors
to PerpExchangeModule (collateral, admin, funding, liquidation), which delegates to PerpExchangeViews
(read-only views). Callers talk to the exchange address with the union of the three ABIs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

ABI_DIR = Path(__file__).resolve().parents[3] / "abis"
EXCHANGE_PARTS = ("PerpExchange", "PerpExchangeModule", "PerpExchangeViews")


@functools.cache
def load_abi(name: str, abi_dir: Path = ABI_DIR) -> tuple[dict[str, Any], ...]:
    """The ABI of one contract (`abis/<name>.json`)."""
    path = abi_dir / f"{name}.json"
    try:
        return tuple(json.loads(path.read_text()))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} missing: run `make abis`") from None


@functools.cache
def exchange_abi(abi_dir: Path = ABI_DIR) -> tuple[dict[str, Any], ...]:
    """The union of the exchange's three ABIs, one entry per signature (no constructors or fallbacks)."""
    merged: dict[str, dict[str, Any]] = {}
    for part in EXCHANGE_PARTS:
        for entry in load_abi(part, abi_dir):
            if entry.get("type") in ("constructor", "fallback", "receive"):
                continue
            inputs = ",".join(_canonical_type(i) for i in entry.get("inputs", []))
            merged.setdefault(f"{entry['type']}:{entry.get('name', '')}({inputs})", entry)
    return tuple(merged.values())


def _canonical_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in param.get("components", [])) + ")" + kind[5:]
    return kind
