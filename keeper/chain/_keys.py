"""Signing keys from the config's references: keystores, dev-mode env vars, anvil dev accounts.

A `Signer` never shows its key: not in repr, str, logs or errors. Only the address is public.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from keeper.config import AnvilKey, EnvKey, KeySource, KeystoreKey, resolve_path

log = logging.getLogger("keeper.keys")


class KeyLoadError(RuntimeError):
    """A configured key could not be loaded; the message names the key, never its material."""


class Signer:
    """A loaded private key under a config name. Exposes the address; hides the key."""

    __slots__ = ("_account", "address", "name")

    def __init__(self, name: str, account: LocalAccount) -> None:
        self.name = name
        self.address: str = account.address
        self._account = account

    @property
    def account(self) -> LocalAccount:
        """The eth-account object, for signing code only."""
        return self._account

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("signers are not picklable: keys never leave the process")


# anvil's default mnemonic: its well-known dev accounts (play money on dev chains only).
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"


def load_signer(
    name: str, source: KeySource, base_dir: Path, environ: Mapping[str, str] | None = None
) -> Signer:
    """Load the key `name` described by `source` (paths relative to `base_dir`)."""
    env = os.environ if environ is None else environ
    if isinstance(source, KeystoreKey):
        return Signer(name, _from_keystore(name, source, base_dir, env))
    if isinstance(source, EnvKey):
        raw = env.get(source.env)
        if not raw:
            raise KeyLoadError(f"key {name!r}: environment variable {source.env} is not set")
        log.warning("key %r comes from env var %s: dev mode only, never for real funds", name, source.env)
        try:
            return Signer(name, Account.from_key(raw.strip()))
        except (ValueError, TypeError):
            raise KeyLoadError(f"key {name!r}: {source.env} does not hold a valid private key") from None
    if isinstance(source, AnvilKey):
        return Signer(name, anvil_account(source.index))
    raise AssertionError(source)


def anvil_account(index: int) -> LocalAccount:
    """anvil's well-known dev account `index` (play money on dev chains only)."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return account


def _from_keystore(name: str, source: KeystoreKey, base_dir: Path, env: Mapping[str, str]) -> LocalAccount:
    path = resolve_path(base_dir, source.path)
    if source.password_file is not None:
        try:
            password = resolve_path(base_dir, source.password_file).read_text().rstrip("\r\n")
        except OSError as exc:
            raise KeyLoadError(f"key {name!r}: cannot read password file: {exc.strerror}") from None
    else:
        assert source.password_env is not None
        if source.password_env not in env:
            raise KeyLoadError(f"key {name!r}: environment variable {source.password_env} is not set")
        password = env[source.password_env]
    try:
        keystore = json.loads(path.read_text())
        key = Account.decrypt(keystore, password)
    except OSError as exc:
        raise KeyLoadError(f"key {name!r}: cannot read keystore {str(path)!r}: {exc.strerror}") from None
    except ValueError:
        # eth-account says "MAC mismatch" for a wrong password; do not echo anything else.
        raise KeyLoadError(f"key {name!r}: wrong password or corrupt keystore {str(path)!r}") from None
    account: LocalAccount = Account.from_key(key)
    return account


def new_keystore(out: Path, password: str, *, kdf_iterations: int | None = None) -> str:
    """Create an encrypted keystore for a fresh random key at `out`; returns the address.

    Refuses to overwrite an existing file. The file is created readable by the owner only.
    """
    account = Account.create()
    document = Account.encrypt(account.key, password, kdf="scrypt", iterations=kdf_iterations)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle)
    return str(account.address)
