"""Keys from config references: keystores, dev env vars, anvil accounts; never shown; CLI new/list."""

from __future__ import annotations

import json
import logging
import pickle
import stat
from pathlib import Path

import pytest
from eth_account import Account

from keeper.chain import KeyLoadError, Signer, load_signer, new_keystore
from keeper.cli import main
from keeper.config import AnvilKey, EnvKey, KeystoreKey

# anvil's well-known dev account #0: play money only.
ANVIL0_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def make_keystore(tmp_path: Path, password: str = "pw") -> tuple[str, str]:
    account = Account.create()
    (tmp_path / "k.json").write_text(
        json.dumps(Account.encrypt(account.key, password, kdf="scrypt", iterations=2))
    )
    (tmp_path / "k.pass").write_text(password + "\n")
    return account.address, account.key.hex()


def test_keystore_with_password_file(tmp_path: Path) -> None:
    address, _ = make_keystore(tmp_path)
    signer = load_signer("main", KeystoreKey(path="k.json", password_file="k.pass"), tmp_path)
    assert signer.address == address


def test_keystore_with_password_env(tmp_path: Path) -> None:
    address, _ = make_keystore(tmp_path, "s3cret")
    signer = load_signer("main", KeystoreKey(path="k.json", password_env="PW"), tmp_path, {"PW": "s3cret"})
    assert signer.address == address


def test_wrong_password_names_the_key_not_the_secret(tmp_path: Path) -> None:
    make_keystore(tmp_path, "right")
    with pytest.raises(KeyLoadError, match=r"key 'main': wrong password or corrupt keystore") as err:
        load_signer("main", KeystoreKey(path="k.json", password_env="PW"), tmp_path, {"PW": "hunter2-guess"})
    assert "hunter2" not in str(err.value)


def test_missing_password_env(tmp_path: Path) -> None:
    make_keystore(tmp_path)
    with pytest.raises(KeyLoadError, match="environment variable PW is not set"):
        load_signer("main", KeystoreKey(path="k.json", password_env="PW"), tmp_path, {})


def test_env_key_warns_and_loads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    account = Account.create()
    with caplog.at_level(logging.WARNING):
        signer = load_signer("dev", EnvKey(env="DEV_KEY"), tmp_path, {"DEV_KEY": account.key.hex()})
    assert signer.address == account.address
    assert "dev mode only" in caplog.text
    assert account.key.hex() not in caplog.text


def test_env_key_garbage_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyLoadError, match="DEV_KEY does not hold a valid private key"):
        load_signer("dev", EnvKey(env="DEV_KEY"), tmp_path, {"DEV_KEY": "nope"})


def test_anvil_key() -> None:
    assert load_signer("op", AnvilKey(index=0), Path()).address == ANVIL0_ADDRESS


def test_signer_never_shows_its_key(tmp_path: Path) -> None:
    _, key_hex = make_keystore(tmp_path)
    signer = load_signer("main", KeystoreKey(path="k.json", password_file="k.pass"), tmp_path)
    for text in (repr(signer), str(signer), f"{signer}", f"{signer!r}"):
        assert key_hex.removeprefix("0x") not in text
        assert signer.address in text
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(signer)
    assert isinstance(signer, Signer)


def test_new_keystore_round_trip_and_no_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "new.json"
    address = new_keystore(out, "pw", kdf_iterations=2)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    (tmp_path / "p").write_text("pw")
    assert load_signer("n", KeystoreKey(path="new.json", password_file="p"), tmp_path).address == address
    with pytest.raises(FileExistsError):
        new_keystore(out, "pw", kdf_iterations=2)


def test_cli_keys_new_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pw").write_text("pw\n")
    out = tmp_path / "op.json"
    assert main(["keys", "new", "--out", str(out), "--password-file", str(tmp_path / "pw")]) == 0
    address = capsys.readouterr().out.split()[0]
    assert main(["keys", "new", "--out", str(out), "--password-file", str(tmp_path / "pw")]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    config = tmp_path / "c.toml"
    config.write_text(
        '[chain]\nname = "t"\nchain_id = 1\nrpc_http = ["http://127.0.0.1:1"]\n'
        "[gas_policy]\nmax_fee_gwei = 10.0\n"
        '[keys]\nactive = "op"\n'
        'accounts.op = { source = "keystore", path = "op.json", password_file = "pw" }\n'
        "[risk]\nmax_order_notional_usd = 1.0\nmax_position_notional_usd = 2.0\n"
        "[strategy]\norder_size = 1.0\n"
    )
    assert main(["keys", "list", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith("* op ")
    assert address in listing
