"""Fail safe first: every value the run would refuse is refused by loading, in one line naming the field;
key material is refused in every shape without the line ever quoting it; URLs are masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account

from keeper.cli import main
from keeper.config import ConfigError, load_config, parse_config, redact, summarize
from tests.dev_keys import anvil_dev_key

REPO = Path(__file__).resolve().parents[2]
LOCAL = (REPO / "chain_config" / "local.toml").read_text()
KEY = anvil_dev_key(0)[2:]  # anvil's public dev key, derived at test time

# A remote-RPC config with a keystore made at test time; `{extra}` lands at the end of [strategy].
REMOTE = """
[chain]
name = "testnet"
chain_id = 31337
rpc_http = ["http://127.0.0.1:8545"]

[gas_policy]
max_fee_gwei = 100.0

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
    keystore = Account.encrypt(Account.create().key, "pw", kdf="scrypt", iterations=2)
    (tmp_path / "main.json").write_text(json.dumps(keystore))
    (tmp_path / "main.pass").write_text("pw\n")
    return tmp_path


def refusal(text: str, base_dir: Path) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(text, file="F", base_dir=base_dir)
    line = str(err.value)
    assert "\n" not in line
    return line


def local(old: str, new: str) -> str:
    assert old in LOCAL, f"test edit {old!r} does not apply"
    return LOCAL.replace(old, new, 1)


# ---- values the run would refuse ----

REFUSED = [
    pytest.param(
        ("stale_data_s = 5.0", "stale_data_s = inf"), "risk.stale_data_s: must be a finite number, got inf"
    ),
    pytest.param(
        ("max_order_notional_usd = 50000.0", "max_order_notional_usd = inf"),
        "risk.max_order_notional_usd: must be a finite number, got inf",
    ),
    pytest.param(
        ("order_size = 0.5", "order_size = inf"), "strategy.order_size: must be a finite number, got inf"
    ),
    pytest.param(
        ("order_size = 0.5", "order_size = nan"), "strategy.order_size: must be a finite number, got nan"
    ),
    pytest.param(
        ("max_fee_gwei = 200.0", "max_fee_gwei = -inf"), "gas_policy.max_fee_gwei: must be a finite"
    ),
    pytest.param(
        ("start_px = 2000.0", "start_px = inf"),
        "venues.local_hl.local_server.start_px: must be a finite number, got inf",
    ),
    pytest.param(
        ("start_px = 2000.0", "start_px = 0.0"),
        "venues.local_hl.local_server.start_px: expected float > 0.0, got 0.0",
    ),
    pytest.param(
        ("requote_interval_s = 1.0", "requote_interval_s = 1e-6"),
        "strategy.requote_interval_s: expected float >= 0.05, got 1e-06",
    ),
    pytest.param(
        ("reconcile_interval_s = 10.0", "reconcile_interval_s = 0.0"),
        "strategy.reconcile_interval_s: expected float >= 0.05, got 0.0",
    ),
    pytest.param(
        ("reconcile_interval_s = 10.0", "reconcile_interval_s = 0.5"),
        "strategy.reconcile_interval_s: must be at least strategy.requote_interval_s (1 s)",
    ),
    pytest.param(
        ("dead_man_s = 30.0", "dead_man_s = 5"), "venues.local_hl.dead_man_s: expected float >= 10.0, got 5"
    ),
    pytest.param(("order_size = 0.5", "order_size = 0"), "strategy.order_size: expected float > 0.0, got 0"),
    pytest.param(
        ("order_size = 0.5", "order_size = 1e-9"),
        "strategy.order_size: 1e-09 is below the lot 0.0001 (venues.local_hl.local_server.sz_decimals = 4)",
    ),
    pytest.param(
        ("max_position = 10.0", "max_position = 1e-12"),
        "strategy.max_position: 1e-12 is below strategy.order_size (0.5): the maker could never quote",
    ),
    pytest.param(
        ("start_px = 2000.0", "start_px = 200000.0"),
        "strategy.order_size: 0.5 x venues.local_hl.local_server.start_px 200000 = $100,000.00 exceeds "
        "risk.max_order_notional_usd ($50,000.00): the risk gate would deny every order",
    ),
    pytest.param(
        ("max_position = 10.0", "max_position = 200.0"),
        "strategy.max_position: 200 x venues.local_hl.local_server.start_px 2000 = $400,000.00 exceeds "
        "risk.max_position_notional_usd ($250,000.00)",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), REFUSED)
def test_a_value_the_run_would_refuse_is_one_line_naming_the_field(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    assert refusal(local(*edit), tmp_path).startswith(f"F: {expected}")


def test_non_finite_is_refused_in_any_float_field(tmp_path: Path) -> None:
    # Generic, not field by field: every float of the shipped config, one at a time.
    lines = [ln for ln in LOCAL.splitlines() if " = " in ln and not ln.startswith("#")]
    floats = [ln for ln in lines if "." in ln.split(" = ")[1].split("#")[0] and '"' not in ln]
    assert len(floats) >= 15
    for line in floats:
        name = line.split(" = ")[0].strip()
        assert ": must be a finite number, got nan" in refusal(
            LOCAL.replace(line, f"{name} = nan", 1), tmp_path
        )


def test_the_lot_check_accepts_exactly_one_lot(tmp_path: Path) -> None:
    parse_config(local("order_size = 0.5", "order_size = 0.0001"), base_dir=REPO / "chain_config")


def test_price_rules_are_skipped_when_the_price_is_unknown(config_dir: Path) -> None:
    # A remote venue: lot and price are only known after connect, so only order_size <= max_position.
    parse_config(REMOTE.replace("order_size = 0.1", "order_size = 1e-9"), base_dir=config_dir)
    text = REMOTE.replace("order_size = 0.1", "order_size = 2.0\nmax_position = 1.0")
    assert refusal(text, config_dir).startswith(
        "F: strategy.max_position: 1 is below strategy.order_size (2)"
    )


# ---- the file itself ----


def test_non_utf8_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(LOCAL.encode().replace(b'name = "local"', b'name = "loc\xffal"'))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: (file): not UTF-8 text (byte 0xff at line 7, column 12)"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xfe\xff[chain]", "(file): not UTF-8 text"),
        (b"[chain", "(toml): "),
        (b"a = " + b"[" * 5000, "(toml): "),
        (b"", "chain: missing required field"),
        (b"\x00", "(toml): "),
    ],
)
def test_no_content_escapes_as_anything_but_a_config_error(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: {expected}")
    assert "\n" not in str(err.value)


def test_a_directory_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r": \(file\): cannot read: Is a directory$"):
        load_config(tmp_path)


# ---- key material ----


def _hex_int_with_separators() -> str:
    return "0x" + "_".join(KEY[i : i + 8] for i in range(0, 64, 8))


def in_strategy(line: str) -> str:
    return local('market = "ETH"', f'market = "ETH"\n{line}')


SECRETS = [
    pytest.param(in_strategy(f'note = "0X{KEY.upper()}"'), "strategy.note", id="0X-prefix"),
    pytest.param(in_strategy(f'note = "key:0x{KEY}"'), "strategy.note", id="key-colon"),
    pytest.param(in_strategy(f"note = 0x{KEY}"), "strategy.note", id="toml-hex-integer"),
    pytest.param(
        in_strategy(f"note = {_hex_int_with_separators()}"), "strategy.note", id="hex-int-separators"
    ),
    pytest.param(in_strategy(f"note = {int(KEY, 16)}"), "strategy.note", id="decimal-integer"),
    pytest.param(
        local("[devnet]", f'[devnet]\nfork_url = "https://rpc.example/v2/{KEY}"'),
        "devnet.fork_url",
        id="in-a-url",
    ),
    pytest.param(LOCAL + f'\n[venues."{KEY}"]\nkind = "dex"\n', "venues.***", id="quoted-table-key"),
    pytest.param(LOCAL + f"\n[venues.{KEY}]\nkind = 'dex'\n", "venues.***", id="bare-table-key"),
    pytest.param(in_strategy(f'note = ["a", "{KEY}"]'), "strategy.note[1]", id="in-an-array"),
    pytest.param(
        in_strategy(f'note = {{ a = 1, b = "0x{KEY}" }}'), "strategy.note.b", id="in-an-inline-table"
    ),
    pytest.param(in_strategy(f'note = "0x{KEY}0"'), "strategy.note", id="longer-hex-run"),
    pytest.param(
        in_strategy('note = "' + "".join(f"\\u{ord(c):04x}" for c in KEY) + '"'),
        "strategy.note",
        id="escaped",
    ),
    pytest.param(in_strategy(f"note = 1{int(KEY, 16)}.5"), "strategy.note (line ", id="float-digits"),
    pytest.param(LOCAL + f"\n# the key is {KEY}\n", "line ", id="in-a-comment"),
    pytest.param(in_strategy(f"note = = 0x{KEY}"), "line ", id="bad-toml-around-it"),
    pytest.param(LOCAL + f"\n[a.{KEY}]\nx = 1\n[a.{KEY}]\nx = 2\n", "line ", id="declared-twice"),
]


def assert_no_key(text: str) -> None:
    lowered = text.lower()
    # Not even partially: no 8-digit slice of the key, in hex or as the decimal integer.
    assert not any(KEY[i : i + 8] in lowered for i in range(len(KEY) - 7)), text
    decimal = str(int(KEY, 16))
    assert not any(decimal[i : i + 8] in text for i in range(len(decimal) - 7)), text


@pytest.mark.parametrize(("text", "field"), SECRETS)
def test_key_material_is_refused_naming_the_field_never_the_value(
    tmp_path: Path, text: str, field: str
) -> None:
    line = refusal(text, tmp_path)
    assert line.startswith(f"F: {field}")
    assert "looks like a raw private key" in line
    assert_no_key(line)


@pytest.mark.parametrize(("text", "field"), SECRETS)
def test_config_check_never_echoes_key_material(
    tmp_path: Path, text: str, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"{path}: {field}")
    assert_no_key(out + err)


# ---- URLs ----


def test_summary_masks_urls(config_dir: Path) -> None:
    text = REMOTE.replace(
        'rpc_http = ["http://127.0.0.1:8545"]',
        'rpc_http = ["https://user:hunter2@rpc.example/v2/AbCdEf0123456789xyz"]\n'
        'rpc_ws = ["wss://rpc.example/ws?apikey=s3cr3ts3cr3ts3cr3t"]',
    ).replace(
        "[strategy]",
        '[venues.hl]\nkind = "hyperliquid"\nbase_url = "https://api.example/AbCdEf0123456789xyz"\n'
        'ws_url = "wss://api.example/ws"\nmaster_key = "main"\n\n[strategy]',
    )
    summary = "\n".join(summarize(parse_config(text, base_dir=config_dir)))
    for secret in ("hunter2", "AbCdEf0123456789xyz", "s3cr3ts3cr3ts3cr3t"):
        assert secret not in summary
    assert "https://***@rpc.example/v2/***" in summary
    assert "wss://rpc.example/ws?apikey=***" in summary
    assert "hl (hyperliquid, https://api.example/***" in summary


def test_error_lines_mask_the_urls_they_quote(config_dir: Path) -> None:
    text = REMOTE.replace(
        '["http://127.0.0.1:8545"]', '["ftp://user:hunter2@rpc.example/AbCdEf0123456789xyz"]'
    )
    line = refusal(text, config_dir)
    assert (
        line == "F: chain.rpc_http[0]: expected an http:// or https:// URL, got 'ftp://***@rpc.example/***'"
    )


def test_redact_is_one_line_without_urls_credentials_or_keys() -> None:
    text = f"a\nb https://u:p@h.example/x?token=abc 0x{KEY} https://h.example/AbCdEf0123456789xyz: refused"
    assert redact(text) == "a b https://***@h.example/x?token=*** *** https://h.example/***: refused"


# ---- [store] ----


def test_store_path_defaults_and_is_relative_to_the_file(config_dir: Path) -> None:
    assert parse_config(REMOTE, base_dir=config_dir).store.path == "state/keeper.sqlite"
    config = parse_config(REMOTE + '\n[store]\npath = "db/k.sqlite"\n', base_dir=config_dir)
    assert config.store.path == "db/k.sqlite"
    assert refusal(REMOTE + '\n[store]\npath = ""\n', config_dir).startswith(
        "F: store.path: expected str of length"
    )
    assert refusal(REMOTE + "\n[store]\nfile = 1\n", config_dir) == "F: store.file: unknown key"


def test_odd_paths_and_keystores_are_config_errors(config_dir: Path) -> None:
    text = REMOTE.replace(
        "[strategy]", '[contracts]\ndeployments_file = "~nosuchuser-xyz/d.json"\n\n[strategy]'
    )
    assert refusal(text, config_dir) == "F: contracts.deployments_file: cannot read '~nosuchuser-xyz/d.json'"
    (config_dir / "main.json").write_bytes(b"[" * 100_000)
    assert refusal(REMOTE, config_dir).startswith("F: keys.accounts.main.path: ")
    (config_dir / "main.json").write_bytes(b"\xff\xfe")
    assert refusal(REMOTE, config_dir).startswith("F: keys.accounts.main.path: ")
