"""Decode the DEX's custom-error reverts (`error FundingNotDue(uint256)`) into names and arguments."""

from __future__ import annotations

import functools
from typing import Any

from eth_abi.abi import decode
from eth_utils.crypto import keccak

from keeper.adapters.dex._abi import _canonical_type, exchange_abi, load_abi


class DexRevert(Exception):  # noqa: N818 - it is what the chain calls it
    """A call or transaction reverted with one of the DEX's custom errors."""

    def __init__(self, name: str, args: tuple[Any, ...]) -> None:
        self.name = name
        self.args_decoded = args
        super().__init__(f"{name}{args}")


@functools.cache
def _errors() -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {}
    abis = [exchange_abi(), load_abi("PushOracle"), load_abi("USDToken")]
    for abi in abis:
        for entry in abi:
            if entry.get("type") == "error":
                types = [_canonical_type(i) for i in entry.get("inputs", [])]
                selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
                table[selector] = (str(entry["name"]), types)
    return table


def decode_revert(data: bytes | str) -> DexRevert | None:
    """The custom error in revert `data` (bytes or 0x-hex), or None if it is not one of ours."""
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else data
    known = _errors().get(raw[:4])
    if known is None:
        return None
    name, types = known
    try:
        return DexRevert(name, tuple(decode(types, raw[4:])))
    except Exception:  # malformed argument bytes: still report the name
        return DexRevert(name, ())
