"""Deploy the reference perp DEX and its collateral token and oracle; record the addresses.

Order: USDToken, PushOracle (deployer as price updater), PerpExchangeViews -> PerpExchangeModule ->
PerpExchange (each wired to the next), then per market an initial oracle price and `addMarket`.
Transactions are signed locally and sent one by one; any revert stops the deployment and names the
step. Bytecode comes from the forge build (`out/`), ABIs from `abis/`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import msgspec
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractFunction

from keeper.adapters.dex import MarketSpec, exchange_abi, load_abi, price_to_units

log = logging.getLogger("keeper.deploy")

BUILD_DIR = Path(__file__).resolve().parents[2] / "out"
# Local demo markets. Real deployments list their own.
LOCAL_MARKETS = (
    MarketSpec(symbol="ETH-USD", feed_id=1, initial_price="3000", tick_size="0.01", lot_size="0.001"),
    MarketSpec(symbol="BTC-USD", feed_id=2, initial_price="60000", tick_size="0.1", lot_size="0.0001"),
)


class DeployError(RuntimeError):
    """A deployment step failed; the message names the step."""


class Deployment(msgspec.Struct, frozen=True, kw_only=True):
    """Where everything landed: the deployments file the config's `contracts.deployments_file` reads."""

    chain_id: int
    block_number: int
    deployer: str
    collateral: str
    oracle: str
    exchange: str
    exchange_module: str
    exchange_views: str
    markets: dict[str, int]  # symbol -> market id
    feeds: dict[str, int]  # symbol -> oracle feed id


def load_deployment(path: Path) -> Deployment:
    return msgspec.json.decode(path.read_bytes(), type=Deployment)


def write_deployment(deployment: Deployment, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(msgspec.json.format(msgspec.json.encode(deployment), indent=2) + b"\n")


def bytecode(name: str, build_dir: Path = BUILD_DIR) -> str:
    path = build_dir / f"{name}.sol" / f"{name}.json"
    try:
        code = json.loads(path.read_text())["bytecode"]["object"]
    except FileNotFoundError:
        raise DeployError(f"{path} missing: run `forge build` (make build)") from None
    return str(code)


class _Sender:
    """Signs and sends the deployer's transactions in order with a local nonce."""

    def __init__(self, w3: Web3, account: LocalAccount) -> None:
        self.w3 = w3
        self.account = account
        self.chain_id = w3.eth.chain_id
        self.nonce = int(w3.eth.get_transaction_count(account.address, "pending"))

    def send(self, step: str, tx: dict[str, Any]) -> dict[str, Any]:
        # The pending block carries the base fee the tx must meet (a dev chain may have it set by hand).
        base = self.w3.eth.get_block("pending").get("baseFeePerGas", 0) or 0
        tip = 10**9
        tx = {
            **tx,
            "from": self.account.address,
            "nonce": self.nonce,
            "chainId": self.chain_id,
            "maxPriorityFeePerGas": tip,
            "maxFeePerGas": 3 * int(base) + tip,
        }
        tx["gas"] = int(self.w3.eth.estimate_gas(tx) * 1.2)  # type: ignore[arg-type]
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.nonce += 1
        receipt = dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60))
        if receipt["status"] != 1:
            raise DeployError(f"{step}: transaction {tx_hash.hex()} reverted")
        log.info("%s: gas %d", step, receipt["gasUsed"])
        return receipt

    def create(self, name: str, abi: Any, args: list[object]) -> str:
        contract = self.w3.eth.contract(abi=abi, bytecode=bytecode(name))
        tx = contract.constructor(*args).build_transaction({"from": self.account.address, "gas": 0})
        receipt = self.send(f"deploy {name}", {"data": tx["data"]})
        address = str(receipt["contractAddress"])
        log.info("deployed %s at %s", name, address)
        return address

    def call(self, step: str, fn: ContractFunction) -> dict[str, Any]:
        tx = fn.build_transaction({"from": self.account.address, "gas": 0})
        return self.send(step, {"to": tx["to"], "data": tx["data"]})


def deploy(
    rpc_url: str,
    deployer: LocalAccount,
    markets: tuple[MarketSpec, ...] = LOCAL_MARKETS,
    mintable_collateral: bool = True,
) -> Deployment:
    """Deploy everything to the chain at `rpc_url` with `deployer` as admin and oracle updater."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    sender = _Sender(w3, deployer)
    admin = deployer.address
    token = sender.create("USDToken", load_abi("USDToken"), [mintable_collateral, admin, 0])
    oracle_address = sender.create("PushOracle", load_abi("PushOracle"), [admin])
    oracle = w3.eth.contract(address=Web3.to_checksum_address(oracle_address), abi=load_abi("PushOracle"))
    sender.call("oracle.setUpdater", oracle.functions.setUpdater(admin, True))
    views = sender.create("PerpExchangeViews", load_abi("PerpExchangeViews"), [admin, token, oracle_address])
    module = sender.create(
        "PerpExchangeModule", load_abi("PerpExchangeModule"), [admin, token, oracle_address, views]
    )
    exchange_address = sender.create(
        "PerpExchange", load_abi("PerpExchange"), [admin, token, oracle_address, module]
    )
    exchange = w3.eth.contract(address=Web3.to_checksum_address(exchange_address), abi=exchange_abi())
    ids: dict[str, int] = {}
    now = int(w3.eth.get_block("latest")["timestamp"])
    for spec in markets:
        answer = price_to_units(spec.initial_price)
        sender.call(
            f"oracle.postPrice {spec.symbol}", oracle.functions.postPrice(spec.feed_id, answer, now, 1)
        )
        ids[spec.symbol] = int(exchange.functions.marketCount().call())
        sender.call(f"exchange.addMarket {spec.symbol}", exchange.functions.addMarket(spec.to_params()))
    return Deployment(
        chain_id=sender.chain_id,
        block_number=int(w3.eth.block_number),
        deployer=admin,
        collateral=token,
        oracle=oracle_address,
        exchange=exchange_address,
        exchange_module=module,
        exchange_views=views,
        markets=ids,
        feeds={spec.symbol: spec.feed_id for spec in markets},
    )
