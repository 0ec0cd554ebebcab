"""Config loading: the shipped default is valid; each kind of bad config gets its exact one-line error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from keeper.cli import main
from keeper.config import ConfigError, KeystoreKey, load_config, parse_config
from tests.dev_keys import anvil_dev_key

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "chain_config" / "local.toml"

# A valid non-dev config to mutate; `{keystore}` and `{password}` are filled per test.
BASE = """
[chain]
name = "testnet"
chain_id = 31337
rpc_http = ["http://127.0.0.1:8545"]
rpc_ws = ["ws://127.0.0.1:8545"]
block_time_s = 2.0

[gas_policy]
max_fee_gwei = 100.0
bump_pct = 12.5

[keys]
active = "main"
accounts.main = { source = "keystore", path = "main.json", password_file = "main.pass" }

[risk]
max_order_notional_usd = 1000.0
max_position_notional_usd = 5000.0

[strategy]
order_size = 0.1
"""


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    # A real encrypted keystore made at test time (cheap KDF parameters: it is never used for money).
    account = Account.create()
    keystore = Account.encrypt(account.key, "pw", kdf="scrypt", iterations=2)
    (tmp_path / "main.json").write_text(json.dumps(keystore))
    (tmp_path / "main.pass").write_text("pw\n")
    return tmp_path


def write(config_dir: Path, text: str, name: str = "deploy.toml") -> Path:
    path = config_dir / name
    path.write_text(text)
    return path


def test_shipped_local_config_is_valid() -> None:
    config = load_config(LOCAL)
    assert config.devnet.launch
    assert config.chain.chain_id == 31337
    assert config.gas_policy.bump_pct >= 12.5


def test_base_config_is_valid(config_dir: Path) -> None:
    config = load_config(write(config_dir, BASE))
    source = config.keys.accounts["main"]
    assert isinstance(source, KeystoreKey)
    assert source.password_file == "main.pass"
    assert config.gas_policy.confirmations == 1  # default from the schema


def test_config_structs_are_frozen(config_dir: Path) -> None:
    config = load_config(write(config_dir, BASE))
    with pytest.raises(AttributeError):
        config.chain.chain_id = 1  # type: ignore[misc]


ANVIL_KEY = anvil_dev_key(0)[2:]

BAD_CONFIGS = [
    pytest.param(
        ("chain_id = 31337", 'chain_id = "31337"'),
        "chain.chain_id: expected int, got str '31337'",
        id="wrong-type",
    ),
    pytest.param(
        ("block_time_s = 2.0", "block_time_s = 2.0\nblok_time = 3"),
        "chain.blok_time: unknown key",
        id="unknown-key",
    ),
    pytest.param(
        ("chain_id = 31337\n", ""),
        "chain.chain_id: missing required field",
        id="missing-field",
    ),
    pytest.param(
        ("max_fee_gwei = 100.0", "max_fee_gwei = -5.0"),
        "gas_policy.max_fee_gwei: expected float > 0.0, got -5.0",
        id="negative-cap",
    ),
    pytest.param(
        ("bump_pct = 12.5", "bump_pct = 10.0"),
        "gas_policy.bump_pct: expected float >= 12.5, got 10.0",
        id="bump-below-12.5",
    ),
    pytest.param(
        ('password_file = "main.pass" }', f'password_file = "main.pass" }}\nraw = "0x{ANVIL_KEY}"'),
        "keys.raw: looks like a raw private key; keys never go in config files "
        "(use a keystore, or an env var name with keys.dev_mode = true)",
        id="raw-key-in-file",
    ),
    pytest.param(
        ('path = "main.json"', 'path = "missing.json"'),
        "keys.accounts.main.path: cannot read keystore '{dir}/missing.json': No such file or directory",
        id="unreadable-keystore",
    ),
    pytest.param(
        ("[strategy]", '[contracts]\nexchange = "0x5fbdb2315678afecb367f032d93f642f64180aa3"\n\n[strategy]'),
        "contracts.exchange: bad EIP-55 checksum (expected 0x5FbDB2315678afecb367f032d93F642f64180aa3)",
        id="bad-address-checksum",
    ),
    pytest.param(
        ('active = "main"', 'active = "backup"'),
        "keys.active: 'backup' is not one of keys.accounts (main)",
        id="active-key-unknown",
    ),
    pytest.param(
        ('password_file = "main.pass" }', 'password_file = "main.pass", password_env = "KEEPER_PW" }'),
        "keys.accounts.main: set exactly one of password_file or password_env",
        id="two-password-sources",
    ),
    pytest.param(
        (
            'accounts.main = { source = "keystore", path = "main.json", password_file = "main.pass" }',
            'accounts.main = { source = "env", env = "KEEPER_KEY" }',
        ),
        "keys.accounts.main.env: raw keys from env vars are allowed only with keys.dev_mode = true",
        id="env-key-without-dev-mode",
    ),
    pytest.param(
        ('rpc_http = ["http://127.0.0.1:8545"]', "rpc_http = []"),
        "chain.rpc_http: at least one HTTP endpoint is required unless devnet.launch = true",
        id="no-endpoints",
    ),
    pytest.param(
        ('rpc_http = ["http://127.0.0.1:8545"]', 'rpc_http = ["ftp://127.0.0.1"]'),
        "chain.rpc_http[0]: expected an http:// or https:// URL, got 'ftp://127.0.0.1'",
        id="bad-url",
    ),
    pytest.param(
        ("max_position_notional_usd = 5000.0", "max_position_notional_usd = 500.0"),
        "risk.max_order_notional_usd: must not exceed risk.max_position_notional_usd",
        id="order-limit-above-position-limit",
    ),
    pytest.param(
        (
            "[strategy]",
            '[venues.hl]\nkind = "hyperliquid"\nbase_url = "http://127.0.0.1:1"\n'
            'ws_url = "ws://127.0.0.1:1/ws"\nagent_key = "main"\n\n[strategy]',
        ),
        "venues.hl.account_address: required when agent_key is set without master_key (the master address)",
        id="agent-without-master",
    ),
    pytest.param(
        ("[strategy]", '[venues.hl]\nkind = "hyperliquid"\nmaster_key = "main"\n\n[strategy]'),
        "venues.hl.base_url: required unless local_server is set",
        id="hyperliquid-without-url",
    ),
    pytest.param(
        (
            "[strategy]",
            '[venues.hl]\nkind = "hyperliquid"\nagent_key = "main"\n[venues.hl.local_server]\n\n[strategy]',
        ),
        "venues.hl.master_key: required with local_server (the funded account that approves the agent)",
        id="local-server-without-master",
    ),
    pytest.param(
        ("[strategy]", '[strategy]\nvenue = "nowhere"'),
        "strategy.venue: 'nowhere' is not one of venues",
        id="strategy-on-unknown-venue",
    ),
    pytest.param(
        ("[strategy]", '[venues.x]\nkind = "cex"\n\n[strategy]'),
        "venues.x.kind: invalid value 'cex'",
        id="unknown-venue-kind",
    ),
    pytest.param(
        ("[strategy]", '[devnet]\nfork_url = "http://127.0.0.1:9"\n\n[strategy]'),
        "devnet.fork_url: only meaningful with devnet.launch = true",
        id="fork-without-launch",
    ),
    pytest.param(
        ("chain_id = 31337", "chain_id = 31337 31337"),
        "(toml): Expected newline or end of document after a statement (at line 4, column 18)",
        id="toml-syntax",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), BAD_CONFIGS)
def test_bad_config_gives_one_exact_line(config_dir: Path, edit: tuple[str, str], expected: str) -> None:
    old, new = edit
    assert old in BASE, f"test edit {old!r} does not apply"
    path = write(config_dir, BASE.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {expected.format(dir=config_dir)}"


@pytest.mark.parametrize(("edit", "expected"), BAD_CONFIGS)
def test_config_check_cli_exit_2_with_one_line(
    config_dir: Path, edit: tuple[str, str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = edit
    path = write(config_dir, BASE.replace(old, new, 1))
    assert main(["config", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{path}: {expected.format(dir=config_dir)}\n"


def test_config_check_cli_ok_prints_summary(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(config_dir, BASE)
    assert main(["config", "check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{path}: ok\n")
    assert "chain      testnet (chain id 31337)" in out
    assert "cap 100 gwei" in out
    assert "keystore main.json" in out
    assert err == ""


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.toml")
    assert str(err.value) == f"{tmp_path / 'nope.toml'}: (file): cannot read: No such file or directory"


def test_password_env_accepted(config_dir: Path) -> None:
    text = BASE.replace('password_file = "main.pass"', 'password_env = "KEEPER_PW"')
    config = parse_config(text, base_dir=config_dir)
    source = config.keys.accounts["main"]
    assert isinstance(source, KeystoreKey)
    assert source.password_env == "KEEPER_PW"


def test_anvil_key_needs_launched_devnet(config_dir: Path) -> None:
    text = BASE.replace(
        'accounts.main = { source = "keystore", path = "main.json", password_file = "main.pass" }',
        'accounts.main = { source = "anvil", index = 0 }',
    )
    with pytest.raises(ConfigError, match=r"keys\.accounts\.main\.index: anvil dev keys are allowed only"):
        parse_config(text, base_dir=config_dir)


def test_keeper_console_script_runs_config_check() -> None:
    exe = shutil.which("keeper", path=str(Path(sys.executable).parent))
    assert exe is not None, "the keeper console script is not installed in the venv"
    result = subprocess.run([exe, "config", "check", str(LOCAL)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "local anvil" in result.stdout
