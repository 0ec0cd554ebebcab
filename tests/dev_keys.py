"""Test keys: anvil's well-known dev accounts, derived from its public mnemonic (play money only).

Derived rather than written out so no private-key literal sits in the tree; `anvil_account` is the same
derivation `keeper run` uses for `source = "anvil"` keys.
"""

from __future__ import annotations

from functools import cache

from keeper.chain import anvil_account


@cache
def anvil_dev_key(index: int) -> str:
    """Private key of anvil dev account `index`, 0x-prefixed hex."""
    return "0x" + bytes(anvil_account(index).key).hex()
