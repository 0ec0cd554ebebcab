"""The files of a devnet folder: names, the state record, keystores, the keeper's config; cleanup.

Everything here is written by `keeper devnet serve` into the folder given to `keeper devnet up`, and
removed by `keeper devnet down`. The keys are anvil's well-known dev accounts (public play money), kept
in encrypted keystores so the written config holds no key material and needs no environment.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from pathlib import Path
from typing import Literal

import msgspec
from eth_account import Account

STATE_FILE = "devnet.json"
LOG_FILE = "devnet.log"
CONFIG_FILE = "keeper.toml"
DEPLOYMENTS_FILE = "deployments.json"
PASSWORD_FILE = "password"
KEYS_DIR = "keys"
# The keeper's store for this devnet (the default `[store] path` of the written config): its orders and
# positions describe a venue that `down` destroys, so it goes with the devnet.
STORE_DIR = "state"
GENERATED = (
    STATE_FILE,
    STATE_FILE + ".tmp",
    LOG_FILE,
    CONFIG_FILE,
    DEPLOYMENTS_FILE,
    PASSWORD_FILE,
    KEYS_DIR,
    STORE_DIR,
)
# Config names of the two keys and the anvil dev accounts behind them (0 is funded on the chain and
# deploys the DEX; it is also the venue's funded master; 1 is the agent that signs orders).
MASTER_KEY, MASTER_INDEX = "operator", 0
AGENT_KEY, AGENT_INDEX = "keeper", 1
AGENT_NAME = "keeper"  # the name the master approves the agent under (as `keeper run` does locally)
VENUE_NAME = "local_hl"
# scrypt n for the dev keystores: the keys are public anyway, and every `keeper run` decrypts each key a
# few times, so a crash-and-restart drill should not spend seconds on the KDF (production: keys new).
_DEV_KDF_N = 2**12


class DevnetError(RuntimeError):
    """A devnet command failed; the message is the one line for the operator."""


class DevnetOptions(msgspec.Struct, frozen=True, kw_only=True):
    """What `keeper devnet up` builds: the venue's one market, its flow, the chain's block time."""

    market: str = "ETH"
    start_px: float = 2000.0
    flow_seed: int = 7
    block_time_s: float = 1.0
    dead_man_s: float = 20.0
    chain_id: int = 31337
    deposit_usd: float = 1_000_000.0

    def problem(self) -> str | None:
        """Why these options cannot make a devnet, or None."""
        finite = (self.start_px, self.block_time_s, self.dead_man_s, self.deposit_usd)
        if not all(math.isfinite(v) and v > 0 for v in finite):
            return "--start-px, --block-time-s and --dead-man-s must be positive numbers"
        if self.dead_man_s < 10:  # the config's floor (DEAD_MAN_MIN_S): the venue needs 5 s of lead
            return "--dead-man-s must be at least 10"
        if self.flow_seed < 0:
            return "--flow-seed must not be negative"
        return None


class DevnetInfo(msgspec.Struct, frozen=True, kw_only=True):
    """devnet.json: written by the serve process at start ("starting") and when ready ("ready")."""

    state: Literal["starting", "ready"]
    dir: str
    created_dir: bool  # `up` created the folder: `down` removes it whole
    serve_pid: int
    started_ms: int
    options: DevnetOptions
    anvil_pid: int | None = None
    anvil_port: int | None = None
    rpc_http: str | None = None
    rpc_ws: str | None = None
    venue_port: int | None = None
    venue_url: str | None = None
    venue_ws_url: str | None = None
    master: str | None = None  # addresses only
    agent: str | None = None
    config: str | None = None  # the keeper config to run against this devnet

    def describe(self) -> str:
        return (
            f"chain {self.rpc_http} (ws {self.rpc_ws}), venue {self.venue_url} (ws {self.venue_ws_url}), "
            f"{self.options.market} at {self.options.start_px:g}"
        )


def write_info(folder: Path, info: DevnetInfo) -> None:
    """Replace devnet.json atomically: readers see the old record or the new one, never a torn one."""
    tmp = folder / (STATE_FILE + ".tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(info), indent=2) + b"\n")
    os.replace(tmp, folder / STATE_FILE)


def read_info(folder: Path) -> DevnetInfo | None:
    """The folder's devnet record, or None when it has none."""
    path = folder / STATE_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DevnetError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return msgspec.json.decode(data, type=DevnetInfo)
    except msgspec.DecodeError as exc:
        raise DevnetError(f"{path} is not a devnet record ({exc}); remove the folder by hand") from None


def last_log_line(folder: Path) -> str:
    try:
        lines = (folder / LOG_FILE).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def write_keys(folder: Path, keys: dict[str, bytes], password: str) -> None:
    """One encrypted keystore per config key name under keys/, and the password file (both 0600)."""
    (folder / KEYS_DIR).mkdir(mode=0o700)
    _write_private(folder / PASSWORD_FILE, password.encode() + b"\n")
    for name, key in keys.items():
        document = Account.encrypt(key, password, kdf="scrypt", iterations=_DEV_KDF_N)
        _write_private(folder / KEYS_DIR / f"{name}.json", json.dumps(document).encode())


def _s(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def keeper_config_text(
    options: DevnetOptions, *, rpc_http: str, rpc_ws: str, venue_url: str, venue_ws_url: str
) -> str:
    """keeper.toml: `keeper run` against the running devnet ([gas_policy], [risk] and [strategy] as in
    chain_config/local.toml). Paths are relative to the folder; no key material."""
    o = options
    keystore = '{{ source = "keystore", path = {path}, password_file = ' + _s(PASSWORD_FILE) + " }}"
    return f"""\
# Written by `keeper devnet up`: the keeper against the devnet in this folder. anvil, the reference perp
# DEX and the bundled Hyperliquid-compatible venue run in `keeper devnet serve`, not in the keeper, so
# they outlive it: kill -9 the keeper and start it again on this file. `keeper devnet down` removes all.

[chain]
name = "devnet"
chain_id = {o.chain_id}
block_time_s = {o.block_time_s!r}
rpc_http = [{_s(rpc_http)}]
rpc_ws = [{_s(rpc_ws)}]

[devnet]
launch = false  # the devnet's own process runs anvil

[contracts]
deployments_file = {_s(DEPLOYMENTS_FILE)}

[gas_policy]
max_fee_gwei = 200.0
priority_percentile = 50.0
fee_history_blocks = 20
replace_after_s = 6.0
bump_pct = 12.5
confirmations = 1
gas_limit_buffer_pct = 20.0
cancel_priority_multiplier = 1.5
at_cap = "wait"

[keys]
active = {_s(MASTER_KEY)}
# anvil's well-known dev accounts {MASTER_INDEX} and {AGENT_INDEX} in keystores: play money, never real funds.
accounts.{MASTER_KEY} = {keystore.format(path=_s(f"{KEYS_DIR}/{MASTER_KEY}.json"))}
accounts.{AGENT_KEY} = {keystore.format(path=_s(f"{KEYS_DIR}/{AGENT_KEY}.json"))}

[venues.{VENUE_NAME}]
kind = "hyperliquid"
base_url = {_s(venue_url)}
ws_url = {_s(venue_ws_url)}
master_key = {_s(MASTER_KEY)}  # funded on the venue; approved the agent when the devnet started
agent_key = {_s(AGENT_KEY)}    # signs every order
dead_man_s = {o.dead_man_s!r}

[risk]
max_order_notional_usd = 50000.0
max_position_notional_usd = 250000.0
max_leverage = 3.0
max_drawdown_pct = 10.0
min_liquidation_distance_pct = 15.0
stale_data_s = 5.0
kill = false

[strategy]
kind = "keeper"
venue = {_s(VENUE_NAME)}
market = {_s(o.market)}
order_size = 0.5
levels = 2
max_position = 10.0
risk_aversion = 0.1
requote_interval_s = 1.0
reconcile_interval_s = 10.0
"""


def remove_generated(folder: Path, created_dir: bool, *, keep_log: bool = False) -> None:
    """Remove what the devnet (and the keeper runs on it) wrote: the whole folder if `up` created it
    (and nothing else was put there), else only the generated names."""
    keep = {LOG_FILE} if keep_log else set()
    for name in GENERATED:
        if name in keep:
            continue
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if created_dir and not keep:
        # rmdir, not rmtree: whatever someone else put in the folder since stays (and so does the folder).
        with contextlib.suppress(OSError):
            folder.rmdir()
