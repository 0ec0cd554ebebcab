"""`keeper run`: an operator error, at start-up or later, is one stderr line naming the field or the
endpoint (URLs masked) and exit 2; a bug stays a traceback and exit 1."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest
from eth_account import Account

from keeper.adapters.hyperliquid import start_local_venue
from keeper.app._venues import VenueStartError, open_hyperliquid
from keeper.chain import ChainIdMismatchError, KeyLoadError, NoEndpointAvailableError
from keeper.cli import _run_cmd
from keeper.config import ConfigError, HyperliquidVenueConfig, load_config
from keeper.devchain import lease_port
from keeper.localvenue import AssetConfig, LocalVenueConfig

REPO = Path(__file__).resolve().parents[2]

CONFIG = """
[chain]
name = "testnet"
chain_id = 31337
rpc_http = ["{rpc}"]

[gas_policy]
max_fee_gwei = 100.0

[keys]
active = "main"
accounts.main = {{ source = "keystore", path = "main.json", password_file = "main.pass" }}

[risk]
max_order_notional_usd = 1000.0
max_position_notional_usd = 5000.0

[strategy]
order_size = 0.1
"""


def write_config(tmp_path: Path, rpc: str, password: str = "pw") -> Path:
    keystore = Account.encrypt(Account.create().key, "pw", kdf="scrypt", iterations=2)
    (tmp_path / "main.json").write_text(json.dumps(keystore))
    (tmp_path / "main.pass").write_text(password + "\n")
    path = tmp_path / "run.toml"
    path.write_text(CONFIG.format(rpc=rpc))
    return path


def run_keeper(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keeper", "run", "--config", str(path), "--log-level", "ERROR"],
        capture_output=True,
        text=True,
        check=False,
        timeout=15,
    )


@pytest.fixture
def free_port() -> Iterator[int]:
    lease = lease_port()  # held, never listened on: connections are refused at once
    try:
        yield lease.port
    finally:
        lease.release()


class _ChainIdHandler(BaseHTTPRequestHandler):
    """Just enough JSON-RPC for RpcClient.connect: eth_chainId is 31337."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        result = "0x7a69" if request.get("method") == "eth_chainId" else None
        body = json.dumps({"jsonrpc": "2.0", "id": request.get("id"), "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def chain_id_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChainIdHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_unreachable_rpc_is_one_line_and_exit_2(tmp_path: Path, free_port: int) -> None:
    path = write_config(tmp_path, f"http://127.0.0.1:{free_port}")
    result = run_keeper(path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"{path}: chain.rpc_http: no RPC endpoint answered: http://127.0.0.1:{free_port}: "
    )
    assert "Traceback" not in result.stderr


def test_unreachable_rpc_line_masks_the_url(tmp_path: Path, free_port: int) -> None:
    path = write_config(tmp_path, f"http://user:hunter2@127.0.0.1:{free_port}/v2/AbCdEf0123456789xyz")
    result = run_keeper(path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"http://***@127.0.0.1:{free_port}/v2/***" in result.stderr
    assert "hunter2" not in result.stderr
    assert "AbCdEf0123456789xyz" not in result.stderr


def test_wrong_keystore_password_is_one_line_naming_the_key(tmp_path: Path, chain_id_server: str) -> None:
    path = write_config(tmp_path, chain_id_server, password="not-the-password")
    result = run_keeper(path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"{path}: keys.accounts.main: wrong password or corrupt keystore '{tmp_path / 'main.json'}'\n"
    )


# ---- classification, in process ----


def _args(path: Path) -> argparse.Namespace:
    return argparse.Namespace(config=str(path), log_level="ERROR")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConfigError("(venues)", "strategy.market", "venues.hl does not list 'DOGE'"), "strategy.market: "),
        (KeyLoadError("key 'main': cannot read password file: No such file"), "keys.accounts.main: cannot"),
        (ChainIdMismatchError("http://127.0.0.1:1 serves chain id 1, config says 31337"), "chain.chain_id: "),
        (
            NoEndpointAvailableError("https://u:pw@rpc.example/v2/AbCdEf0123456789xyz: refused"),
            "chain.rpc_http",
        ),
        (
            VenueStartError("venues.hl: cannot connect to https://api.example/AbCdEf0123456789xyz: x"),
            "venues.hl",
        ),
    ],
)
def test_operator_errors_at_run_time_are_one_line_and_exit_2(
    tmp_path: Path,
    chain_id_server: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: Exception,
    expected: str,
) -> None:
    path = write_config(tmp_path, chain_id_server)

    async def fails(*args: object) -> int:
        raise error

    monkeypatch.setattr(_run_cmd, "run_keeper", fails)
    assert _run_cmd.run(_args(path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"{path}: {expected}")
    assert "pw@" not in err
    assert "AbCdEf0123456789xyz" not in err


def test_a_bug_stays_a_traceback_and_exit_1(
    tmp_path: Path, chain_id_server: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path, chain_id_server)

    async def fails(*args: object) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr(_run_cmd, "run_keeper", fails)
    monkeypatch.setattr(_run_cmd, "configure_logging", lambda level: None)
    with caplog.at_level(logging.ERROR, logger="keeper.run"):
        assert _run_cmd.run(_args(path)) == 1
    [record] = caplog.records
    assert record.getMessage() == "keeper failed"
    assert record.exc_info is not None


async def test_unknown_market_is_a_config_error_naming_strategy_market(tmp_path: Path) -> None:
    server = await start_local_venue(
        LocalVenueConfig(
            assets=(AssetConfig(name="ETH", sz_decimals=4, max_leverage=20, start_px=Decimal(2000)),)
        )
    )
    config = load_config(REPO / "chain_config" / "local.toml")
    venue = HyperliquidVenueConfig(
        base_url=server.url, ws_url=server.ws_url, master_key="operator", dead_man_s=None
    )
    config = msgspec.structs.replace(config, strategy=msgspec.structs.replace(config.strategy, market="DOGE"))
    try:
        async with AsyncExitStack() as stack:
            with pytest.raises(ConfigError) as err:
                await open_hyperliquid("hl", venue, config, tmp_path, stack)
    finally:
        await server.close()
    assert (err.value.field, err.value.reason) == ("strategy.market", "venues.hl does not list 'DOGE'")
