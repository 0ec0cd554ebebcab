"""The reference perp DEX deployed once per session on the base anvil; each test runs on a snapshot.

Traders are anvil's unlocked dev accounts 1-5 (play money); account 0 is admin and oracle updater.
"""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from keeper.adapters.dex import exchange_abi, load_abi, price_to_units, usd_to_units
from keeper.app._deploy import Deployment, deploy
from keeper.chain import anvil_account
from keeper.devchain import AnvilNode

ETH = 0  # market id of ETH-USD in the local deployment


class Dex:
    """Contracts plus small helpers that send as an unlocked anvil account and return the receipt."""

    def __init__(self, node: AnvilNode, deployment: Deployment) -> None:
        self.node = node
        self.deployment = deployment
        self.w3 = Web3(Web3.HTTPProvider(node.http_url))
        self.accounts = [Web3.to_checksum_address(a) for a in node.rpc.accounts()]
        self.admin = self.accounts[0]
        self.exchange: Contract = self.w3.eth.contract(address=deployment.exchange, abi=exchange_abi())
        self.oracle: Contract = self.w3.eth.contract(address=deployment.oracle, abi=load_abi("PushOracle"))
        self.token: Contract = self.w3.eth.contract(address=deployment.collateral, abi=load_abi("USDToken"))

    def send(self, sender: str, fn: Any) -> Any:
        # Price against the pending block: an earlier test may have left anvil's next base fee raised.
        base = int(self.w3.eth.get_block("pending")["baseFeePerGas"])
        tip = 10**9
        tx_hash = fn.transact({"from": sender, "maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"reverted: {fn.fn_name}"
        return receipt

    def fund(self, trader: str, usd: int) -> None:
        """Mint `usd` dollars of collateral to `trader` and deposit all of it."""
        amount = usd_to_units(usd)
        self.send(self.admin, self.token.functions.mint(trader, amount))
        self.send(trader, self.token.functions.approve(self.exchange.address, amount))
        self.send(trader, self.exchange.functions.deposit(amount))

    def post_price(self, feed_id: int, price: str | int) -> None:
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        round_id = int(self.oracle.functions.latestRoundData(feed_id).call()[0]) + 1
        self.send(self.admin, self.oracle.functions.postPrice(feed_id, price_to_units(price), now, round_id))

    def events(self, receipt: Any, name: str) -> list[Any]:
        # Other contracts' logs in the receipt (token transfers) are not this event: skip them quietly.
        return list(getattr(self.exchange.events, name)().process_receipt(receipt, errors=DISCARD))

    def account(self, owner: str) -> Any:
        return self.exchange.functions.getAccount(owner).call()

    def position(self, owner: str, market: int = ETH) -> Any:
        return self.exchange.functions.getPosition(owner, market).call()

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def warp_to(self, timestamp: int) -> None:
        self.node.rpc.set_next_block_timestamp(timestamp)
        self.node.rpc.mine(1)


@pytest.fixture(scope="session")
def dex_deployment(anvil_base: AnvilNode) -> Deployment:
    return deploy(anvil_base.http_url, anvil_account(0))


@pytest.fixture
def dex(dex_deployment: Deployment, chain: AnvilNode) -> Dex:
    return Dex(chain, dex_deployment)
